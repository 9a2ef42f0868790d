// A stand-in for the network in unit tests: answers fetch() calls from a table of handlers and
// records every request. (The real API is exercised by the browser tests in e2e/browser/.)
export function fakeServer(routes) {
  const requests = [];
  const fetch = async (url, options = {}) => {
    const method = options.method || "GET";
    const request = { url, method, headers: options.headers || {}, body: options.body ? JSON.parse(options.body) : undefined };
    requests.push(request);
    const path = url.split("?")[0];
    const handler = routes[`${method} ${path}`];
    if (!handler) return jsonResponse(404, { detail: "Not found.", code: "not_found", message: "Nothing here." });
    const [status, body, headers] = await handler(request);
    return jsonResponse(status, body, headers);
  };
  return { fetch, requests, count: (method, path) => requests.filter((r) => r.method === method && r.url.split("?")[0] === path).length };
}

export function jsonResponse(status, body, headers = {}) {
  return new Response(body === null || body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export function memoryStorage() {
  const values = new Map();
  return {
    getItem: (key) => (values.has(key) ? values.get(key) : null),
    setItem: (key, value) => values.set(key, String(value)),
    removeItem: (key) => values.delete(key),
  };
}
