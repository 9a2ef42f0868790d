// A tiny history router: the app's few screens are paths, the open viewer a `?view=<id>`, so
// Back closes the viewer and every screen has a URL. The gateway answers these paths with
// index.html (gateway/templates/media-handler.conf.template, "web app").
import { useEffect, useState } from "preact/hooks";

const listeners = new Set();

function current() {
  return { path: location.pathname, params: new URLSearchParams(location.search) };
}

export function navigate(to, { replace = false } = {}) {
  if (to === location.pathname + location.search) return;
  history[replace ? "replaceState" : "pushState"](null, "", to);
  for (const listener of listeners) listener(current());
}

export function useRoute() {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return route;
}

// "/collections/<uuid>" → { name: "collection", id }; unknown paths → the library.
export function matchRoute(path) {
  const collection = path.match(/^\/collections\/([0-9a-f-]{36})\/?$/i);
  if (collection) return { name: "collection", id: collection[1] };
  const named = {
    "/": "library",
    "/trash": "trash",
    "/collections": "collections",
    "/account": "account",
    "/sign-in": "sign-in",
    "/register": "register",
  };
  return { name: named[path.replace(/(.)\/$/, "$1")] || "library" };
}

export function withParam(name, value) {
  const params = new URLSearchParams(location.search);
  if (value === null || value === undefined) params.delete(name);
  else params.set(name, value);
  const query = params.toString();
  return location.pathname + (query ? `?${query}` : "");
}
