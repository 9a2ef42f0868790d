import { describe, expect, it } from "vitest";
import { ApiError, createApi, errorMessage, tokenExpiry } from "../src/api.js";
import { createRefreshStore } from "../src/refresh-store.js";
import { fakeServer, memoryStorage } from "./fake-server.js";

const REFRESH = "/api/auth/token/refresh/";
const LIST = "/api/media/media/";
const PAGE = { count: 0, next: null, previous: null, results: [] };

function signedInApi(routes, { refresh = "refresh-1" } = {}) {
  const server = fakeServer(routes);
  const local = memoryStorage();
  const refreshStore = createRefreshStore({ local, session: memoryStorage() });
  if (refresh) refreshStore.set(refresh, true);
  const api = createApi({ fetch: server.fetch, refreshStore });
  return { api, server, refreshStore, local };
}

// The list answers 200 only to the access token the refresh hands out.
const listNeeds = (token) => (request) =>
  request.headers.Authorization === `Bearer ${token}`
    ? [200, PAGE]
    : [401, { detail: "Token expired.", code: "token_not_valid", message: "Your session has expired." }];

describe("the access token", () => {
  it("is refreshed once on a 401 and the request retried", async () => {
    const { api, server } = signedInApi({
      [`GET ${LIST}`]: listNeeds("fresh"),
      [`POST ${REFRESH}`]: () => [200, { access: "fresh" }],
    });
    await expect(api.listMedia({ page: 1 })).resolves.toEqual(PAGE);
    expect(server.count("POST", REFRESH)).toBe(1);
    expect(server.count("GET", LIST)).toBe(2);
    expect(server.requests.find((r) => r.url === REFRESH).body).toEqual({ refresh: "refresh-1" });
  });

  it("is refreshed once for many requests that got a 401 together", async () => {
    const { api, server } = signedInApi({
      [`GET ${LIST}`]: listNeeds("fresh"),
      [`POST ${REFRESH}`]: () => [200, { access: "fresh" }],
    });
    await Promise.all([api.listMedia({}), api.listMedia({}), api.listMedia({})]);
    expect(server.count("POST", REFRESH)).toBe(1);
  });

  it("ends the session without a second refresh when the refresh token is refused", async () => {
    const { api, server, refreshStore } = signedInApi({
      [`GET ${LIST}`]: listNeeds("never"),
      [`POST ${REFRESH}`]: () => [400, { error: "invalid_grant", message: "The refresh token is no longer valid." }],
    });
    const reasons = [];
    api.onSessionEnd((reason) => reasons.push(reason));
    await expect(api.listMedia({})).rejects.toMatchObject({ status: 401 });
    await expect(api.listMedia({})).rejects.toBeInstanceOf(ApiError);
    expect(server.count("POST", REFRESH)).toBe(1);
    expect(reasons).toEqual(["expired"]);
    expect(refreshStore.get()).toBeNull();
  });

  it("ends the session when the retried request is refused again, with no loop", async () => {
    const { api, server } = signedInApi({
      [`GET ${LIST}`]: listNeeds("never"),
      [`POST ${REFRESH}`]: () => [200, { access: "fresh-but-refused" }],
    });
    const reasons = [];
    api.onSessionEnd((reason) => reasons.push(reason));
    await expect(api.listMedia({})).rejects.toMatchObject({ status: 401 });
    expect(server.count("POST", REFRESH)).toBe(1);
    expect(server.count("GET", LIST)).toBe(2);
    expect(reasons).toEqual(["expired"]);
  });

  it("keeps the session when the refresh endpoint is only busy", async () => {
    const { api, refreshStore } = signedInApi({
      [`GET ${LIST}`]: listNeeds("fresh"),
      [`POST ${REFRESH}`]: () => [503, { message: "The service is unavailable; try again shortly." }],
    });
    await expect(api.listMedia({})).rejects.toThrow("The service is unavailable; try again shortly.");
    expect(refreshStore.get()).toBe("refresh-1");
  });

  it("takes a rotated refresh token when the server sends one", async () => {
    const { api, refreshStore } = signedInApi({
      [`GET ${LIST}`]: listNeeds("fresh"),
      [`POST ${REFRESH}`]: () => [200, { access: "fresh", refresh: "refresh-2" }],
    });
    await api.listMedia({});
    expect(refreshStore.get()).toBe("refresh-2");
    expect(refreshStore.isPersistent()).toBe(true);
  });
});

describe("a rotated refresh token in a tab signed in for itself alone", () => {
  it("stays in that tab, never over the token another tab keeps", async () => {
    const server = fakeServer({
      [`GET ${LIST}`]: listNeeds("fresh"),
      [`POST ${REFRESH}`]: () => [200, { access: "fresh", refresh: "tab-refresh-2" }],
    });
    const local = memoryStorage();
    const session = memoryStorage();
    local.setItem("media-handler.refresh", "other-tabs-refresh");
    session.setItem("media-handler.refresh", "tab-refresh-1");
    const api = createApi({ fetch: server.fetch, refreshStore: createRefreshStore({ local, session }) });

    await api.listMedia({});

    expect(local.getItem("media-handler.refresh")).toBe("other-tabs-refresh");
    expect(session.getItem("media-handler.refresh")).toBe("tab-refresh-2");
  });
});

describe("signing in", () => {
  const login = () => [200, { access: "a", refresh: "r", user: { id: 1, email: "ada@example.com" } }];

  it("keeps the refresh token in localStorage when asked to keep the person signed in", async () => {
    const { api, refreshStore, local } = signedInApi({ "POST /api/auth/login/": login }, { refresh: null });
    const user = await api.signIn({ login: "ada@example.com", password: "pw", persistent: true });
    expect(user.email).toBe("ada@example.com");
    expect(local.getItem("media-handler.refresh")).toBe("r");
    expect(refreshStore.isPersistent()).toBe(true);
  });

  it("keeps it for this tab only otherwise", async () => {
    const { api, refreshStore, local } = signedInApi({ "POST /api/auth/login/": login }, { refresh: null });
    await api.signIn({ login: "ada", password: "pw", persistent: false });
    expect(local.getItem("media-handler.refresh")).toBeNull();
    expect(refreshStore.get()).toBe("r");
  });

  it("shows the server's message for refused credentials", async () => {
    const { api } = signedInApi(
      { "POST /api/auth/login/": () => [401, { detail: "No active account", code: "authentication_failed", message: "The email or password is wrong." }] },
      { refresh: null },
    );
    await expect(api.signIn({ login: "x", password: "y" })).rejects.toThrow("The email or password is wrong.");
  });

  it("sends the refresh token to logout and forgets it even when logout fails", async () => {
    const { api, server, refreshStore } = signedInApi({ "POST /api/auth/logout/": () => [503, { message: "down" }] });
    await expect(api.signOut()).rejects.toThrow("down");
    expect(server.requests[0].body).toEqual({ refresh: "refresh-1" });
    expect(refreshStore.get()).toBeNull();
  });
});

describe("signing out", () => {
  const accessFor = (name) => `x.${btoa(JSON.stringify({ exp: 2000000000, name })).replace(/=+$/, "")}.y`;

  it("first runs what needs the session, with its access token, then ends it", async () => {
    const events = [];
    const { api } = signedInApi({
      "POST /api/auth/login/": () => [200, { access: accessFor("ada"), refresh: "r", user: { id: 1 } }],
      "POST /api/auth/logout/": () => {
        events.push("logout");
        return [200, {}];
      },
    });
    await api.signIn({ login: "ada", password: "pw" });
    api.beforeSignOut(async (token) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      events.push(`stopped with ${token === accessFor("ada") ? "ada's token" : token}`);
    });

    await api.signOut();

    expect(events).toEqual(["stopped with ada's token", "logout"]);
    expect(api.currentAccessToken()).toBeNull();
  });

  it("does not wait for that work past a bound, nor fail when it fails", async () => {
    const { api, server } = signedInApi({ "POST /api/auth/logout/": () => [200, {}] });
    api.beforeSignOut(() => Promise.reject(new Error("the server is down")));
    await api.signOut();
    expect(server.count("POST", "/api/auth/logout/")).toBe(1);
  });
});

describe("what the server offers", () => {
  it("detects resumable uploads from the Tus-Resumable header", async () => {
    const { api } = signedInApi({
      [`POST ${REFRESH}`]: () => [200, { access: "a" }],
      "OPTIONS /api/media/uploads/": () => [204, null, { "Tus-Resumable": "1.0.0" }],
    });
    expect(await api.supportsResumableUploads()).toBe(true);
  });

  it("falls back when the server has no tus endpoint", async () => {
    const { api } = signedInApi({ [`POST ${REFRESH}`]: () => [200, { access: "a" }] });
    expect(await api.supportsResumableUploads()).toBe(false);
    expect(await api.supportsDuplicateCheck()).toBe(false);
    expect(await api.supportsSessions()).toBe(false);
  });

  it("asks once per session", async () => {
    const { api, server } = signedInApi({
      [`POST ${REFRESH}`]: () => [200, { access: "a" }],
      "GET /api/auth/sessions/": () => [200, []],
    });
    expect(await api.supportsSessions()).toBe(true);
    expect(await api.supportsSessions()).toBe(true);
    expect(server.count("GET", "/api/auth/sessions/")).toBe(1);
  });
});

describe("error messages", () => {
  it("read message, then error, then detail, then the first field error", () => {
    expect(errorMessage({ message: "m", error: "e", detail: "d" })).toBe("m");
    expect(errorMessage({ error: "e", detail: "d" })).toBe("e");
    expect(errorMessage({ detail: "d" })).toBe("d");
    expect(errorMessage({ email: ["Enter a valid email address."] })).toBe("Enter a valid email address.");
    expect(errorMessage(null)).toBe("");
  });

  it("reads a token's expiry, and 0 for a token it cannot read", () => {
    const payload = btoa(JSON.stringify({ exp: 2000000000 })).replace(/=+$/, "");
    expect(tokenExpiry(`h.${payload}.s`)).toBe(2000000000 * 1000);
    expect(tokenExpiry("garbage")).toBe(0);
  });
});
