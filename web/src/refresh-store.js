// Where the refresh token lives between page loads (README: "Where the tokens live").
// "Keep me signed in" → localStorage (shared by tabs, survives a browser restart, 7 days at
// most); otherwise sessionStorage (this tab only, gone when it closes). The access token is
// never stored: it lives in src/api.js's memory.
const KEY = "media-handler.refresh";

export function createRefreshStore({ local = globalThis.localStorage, session = globalThis.sessionStorage } = {}) {
  return {
    get: () => session?.getItem(KEY) || local?.getItem(KEY) || null,
    isPersistent: () => Boolean(local?.getItem(KEY)),
    set(token, persistent) {
      (persistent ? session : local)?.removeItem(KEY);
      (persistent ? local : session)?.setItem(KEY, token);
    },
    // A rotated token goes where this tab's came from: a tab signed in for itself alone never
    // writes over the token another tab keeps in localStorage.
    replace(token) {
      (session?.getItem(KEY) ? session : local)?.setItem(KEY, token);
    },
    clear() {
      local?.removeItem(KEY);
      session?.removeItem(KEY);
    },
    // Another tab signed out (or in): this tab follows.
    onChange(listener) {
      const handler = (event) => event.key === KEY && listener(event.newValue);
      globalThis.addEventListener?.("storage", handler);
      return () => globalThis.removeEventListener?.("storage", handler);
    },
  };
}
