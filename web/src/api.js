// The one module that talks to the Media Handler API (SPEC.md). Everything else calls these
// functions and never sees a token, a URL of the API or an HTTP status it has to interpret.
//
// Tokens: the access token lives in this module's memory only. The refresh token is kept by a
// `refreshStore` (src/refresh-store.js: localStorage when "keep me signed in", else
// sessionStorage), because a page reload must not sign the person out. A 401 is answered by
// one refresh (shared by every request that got a 401 meanwhile) and one retry; a refresh the
// server refuses (400 invalid_grant) ends the session: no second refresh, no loop.

export class ApiError extends Error {
  constructor(status, body, fallback = "Something went wrong; try again.") {
    super(errorMessage(body) || fallback);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

// The human sentence of an error body, in the order the mobile client reads it.
export function errorMessage(body) {
  if (!body || typeof body !== "object") return "";
  for (const key of ["message", "error", "detail"]) {
    if (typeof body[key] === "string" && body[key]) return body[key];
  }
  for (const value of Object.values(body)) {
    if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  }
  return "";
}

// The `exp` of a JWT in milliseconds, or 0 when it cannot be read (then only a 401 tells).
export function tokenExpiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).exp * 1000 || 0;
  } catch {
    return 0;
  }
}

const MEDIA = "/api/media/media/";
const COLLECTIONS = "/api/media/collections/";
const AUTH = "/api/auth/";
// Refresh before an upload when the access token would expire during the first minute of it.
const UPLOAD_TOKEN_MARGIN_MS = 60_000;
// How long a sign-out waits for what must happen before it (api.beforeSignOut).
const SIGN_OUT_WAIT_MS = 5_000;

export function createApi({ fetch: fetchImpl = (...args) => fetch(...args), refreshStore }) {
  let accessToken = null;
  let refreshing = null;
  const endListeners = new Set();
  const signOutListeners = new Set();
  const features = {};

  function endSession(reason) {
    accessToken = null;
    refreshStore.clear();
    for (const listener of endListeners) listener(reason);
  }

  // One refresh for every caller that asks while it is in flight. True when a new access token
  // was issued; false when the session is over (no token, or the server refused it).
  function refreshOnce() {
    if (refreshing) return refreshing;
    const refresh = refreshStore.get();
    if (!refresh) {
      if (accessToken) endSession("expired");
      return Promise.resolve(false);
    }
    refreshing = (async () => {
      try {
        const response = await fetchImpl(`${AUTH}token/refresh/`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ refresh }),
        });
        if (response.ok) {
          const body = await response.json();
          accessToken = body.access;
          // Only present when the server rotates refresh tokens.
          if (body.refresh) refreshStore.replace(body.refresh);
          return true;
        }
        if (response.status >= 500 || response.status === 429) {
          throw new ApiError(response.status, await readBody(response), "The server is busy.");
        }
        endSession("expired");
        return false;
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  async function request(method, path, { body, query, headers = {}, auth = true } = {}) {
    const url = query ? `${path}?${new URLSearchParams(clean(query))}` : path;
    const send = () => {
      const sent = { Accept: "application/json", ...headers };
      if (auth && accessToken) sent.Authorization = `Bearer ${accessToken}`;
      if (body !== undefined) sent["Content-Type"] = "application/json";
      return fetchImpl(url, {
        method,
        headers: sent,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    };
    let response = await send();
    if (response.status === 401 && auth) {
      if (!(await refreshOnce())) throw new ApiError(401, null, "Your session has ended.");
      response = await send();
      // A second 401 right after a fresh token: the server no longer accepts this session.
      if (response.status === 401) endSession("expired");
    }
    const parsed = await readBody(response);
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }

  async function ensureFreshAccess() {
    if (!accessToken || tokenExpiry(accessToken) - Date.now() < UPLOAD_TOKEN_MARGIN_MS) {
      if (!(await refreshOnce())) throw new ApiError(401, null, "Your session has ended.");
    }
    return accessToken;
  }

  function startSession(body, persistent) {
    accessToken = body.access;
    refreshStore.set(body.refresh, persistent);
    return body.user;
  }

  // Multipart upload through XMLHttpRequest, the one browser API that reports upload progress.
  function uploadMultipart(file, fields, { onProgress, signal } = {}) {
    const attempt = (token) =>
      new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", MEDIA);
        xhr.setRequestHeader("Authorization", `Bearer ${token}`);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.onprogress = (event) => {
          if (event.lengthComputable) onProgress?.(event.loaded, event.total);
        };
        xhr.onload = () => resolve({ status: xhr.status, body: parseJson(xhr.responseText) });
        xhr.onerror = () => reject(new ApiError(0, null, "The connection was lost."));
        xhr.onabort = () => reject(new ApiError(0, null, "Upload cancelled."));
        signal?.addEventListener("abort", () => xhr.abort(), { once: true });
        const form = new FormData();
        for (const [key, value] of Object.entries(clean(fields))) form.append(key, value);
        form.append("file", file, file.name);
        xhr.send(form);
      });
    return (async () => {
      let result = await attempt(await ensureFreshAccess());
      if (result.status === 401) {
        if (!(await refreshOnce())) throw new ApiError(401, null, "Your session has ended.");
        result = await attempt(accessToken);
      }
      if (result.status < 200 || result.status >= 300) {
        throw new ApiError(result.status, result.body, uploadFallback(result.status));
      }
      return result.body;
    })();
  }

  // Probes an optional part of the API once per session; `probe` returns true when present.
  async function feature(name, probe) {
    if (!(name in features)) {
      features[name] = probe().catch(() => false);
    }
    return features[name];
  }

  return {
    onSessionEnd(listener) {
      endListeners.add(listener);
      return () => endListeners.delete(listener);
    },
    hasStoredSession: () => Boolean(refreshStore.get()),
    endLocally: endSession,
    currentAccessToken: () => accessToken,
    refreshOnce,
    ensureFreshAccess,

    // --- auth
    async register(fields, { persistent = true } = {}) {
      const body = await request("POST", `${AUTH}register/`, { body: fields, auth: false });
      return startSession(body, persistent);
    },
    async signIn({ login, password, persistent = true }) {
      const body = await request("POST", `${AUTH}login/`, {
        body: { username: login, password, device_name: deviceName() },
        auth: false,
      });
      return startSession(body, persistent);
    },
    // The session a reload left behind: a refresh, then the profile.
    async resume() {
      if (!(await refreshOnce())) return null;
      return request("GET", `${AUTH}profile/`);
    },
    // `listener(token)` runs before a sign-out here ends the session, with the access token
    // while it still works (null if there is none): for work that needs the session, such as
    // deleting the partial uploads the sign-out stops. The sign-out waits for it, up to 5 s.
    beforeSignOut(listener) {
      signOutListeners.add(listener);
      return () => signOutListeners.delete(listener);
    },
    async signOut() {
      if (signOutListeners.size) {
        const token = await ensureFreshAccess().catch(() => null);
        await Promise.race([
          Promise.allSettled([...signOutListeners].map((listener) => listener(token))),
          new Promise((resolve) => setTimeout(resolve, SIGN_OUT_WAIT_MS)),
        ]);
      }
      const refresh = refreshStore.get();
      try {
        await request("POST", `${AUTH}logout/`, { body: refresh ? { refresh } : {}, auth: false });
      } finally {
        endSession("signed-out");
      }
    },
    profile: () => request("GET", `${AUTH}profile/`),
    updateProfile: (fields) => request("PATCH", `${AUTH}profile/`, { body: fields }),
    sessions: () => request("GET", `${AUTH}sessions/`),
    endOtherSession: (id) => request("DELETE", `${AUTH}sessions/${id}/`),
    changePassword: (fields) => request("POST", `${AUTH}password/change/`, { body: fields }),
    async deleteAccount(password) {
      await request("DELETE", `${AUTH}profile/`, { body: { password } });
      endSession("deleted");
    },

    // --- media
    listMedia: (query) => request("GET", MEDIA, { query }),
    getMedia: (id) => request("GET", `${MEDIA}${id}/`),
    updateMedia: (id, fields) => request("PATCH", `${MEDIA}${id}/`, { body: fields }),
    deleteMedia: (id) => request("DELETE", `${MEDIA}${id}/`),
    restoreMedia: (id) => request("POST", `${MEDIA}${id}/restore/`),
    addToCollection: (id, collectionId) =>
      request("POST", `${MEDIA}${id}/add-to-collection/`, {
        body: { collection_id: collectionId },
      }),
    removeFromCollection: (id) => request("POST", `${MEDIA}${id}/remove-from-collection/`),
    bulkCheck: (checksums) => request("POST", `${MEDIA}bulk-check/`, { body: { checksums } }),
    uploadMultipart,

    // --- collections
    listCollections: (query) => request("GET", COLLECTIONS, { query }),
    getCollection: (id) => request("GET", `${COLLECTIONS}${id}/`),
    createCollection: (fields) => request("POST", COLLECTIONS, { body: fields }),
    updateCollection: (id, fields) => request("PATCH", `${COLLECTIONS}${id}/`, { body: fields }),
    deleteCollection: (id) => request("DELETE", `${COLLECTIONS}${id}/`),

    // --- what this server offers beyond the core (SPEC.md's newer sections)
    supportsResumableUploads: () =>
      feature("tus", async () => {
        const response = await fetchImpl("/api/media/uploads/", {
          method: "OPTIONS",
          headers: { Authorization: `Bearer ${await ensureFreshAccess()}` },
        });
        return response.ok && Boolean(response.headers.get("Tus-Resumable"));
      }),
    supportsDuplicateCheck: () =>
      feature("bulkCheck", async () => {
        await request("POST", `${MEDIA}bulk-check/`, { body: { checksums: [] } });
        return true;
      }),
    supportsSessions: () =>
      feature("sessions", async () => Array.isArray(await request("GET", `${AUTH}sessions/`))),
    supportsPasswordChange: () =>
      feature("passwordChange", async () => {
        try {
          await request("POST", `${AUTH}password/change/`, { body: {} });
          return true;
        } catch (error) {
          return error.status === 400; // the view exists and wants its fields
        }
      }),
    supportsAccountDeletion: () =>
      feature("accountDeletion", async () => {
        const response = await fetchImpl(`${AUTH}profile/`, {
          method: "OPTIONS",
          headers: { Authorization: `Bearer ${await ensureFreshAccess()}` },
        });
        return (response.headers.get("Allow") || "").toUpperCase().includes("DELETE");
      }),
  };
}

function clean(fields) {
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined && value !== null),
  );
}

async function readBody(response) {
  if (response.status === 204 || response.status === 205) return null;
  return parseJson(await response.text());
}

function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function uploadFallback(status) {
  if (status === 413) return "The file is larger than the server accepts.";
  if (status === 0) return "The connection was lost.";
  return "The upload was refused.";
}

function deviceName() {
  const agent = navigator.userAgent || "";
  const browser = /Firefox\//.test(agent)
    ? "Firefox"
    : /Edg\//.test(agent)
      ? "Edge"
      : /Chrom(e|ium)\//.test(agent)
        ? "Chrome"
        : /Safari\//.test(agent)
          ? "Safari"
          : "Browser";
  return `${browser} (web)`;
}
