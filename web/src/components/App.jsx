// Who is signed in, and which screen shows: the sign-in screens for a visitor, the app shell
// for a person. A session that ends anywhere (a refused refresh, sign-out in another tab)
// lands here and shows the sign-in screen with a word about why.
import { useEffect, useState } from "preact/hooks";
import { matchRoute, navigate, useRoute } from "../router.js";
import { AppShell } from "./AppShell.jsx";
import { Register } from "./Register.jsx";
import { SignIn } from "./SignIn.jsx";

const ENDED = {
  expired: "Your session has ended. Sign in again to continue.",
  "other-tab": "You signed out in another tab.",
  deleted: "Your account has been deleted.",
};

export function App({ api, refreshStore }) {
  const [session, setSession] = useState({ state: "loading" });
  const route = useRoute();
  const screen = matchRoute(route.path);

  useEffect(() => {
    const stopEnd = api.onSessionEnd((reason) => {
      setSession({ state: "signed-out", notice: ENDED[reason] || "" });
    });
    const stopStorage = refreshStore.onChange((token) => {
      if (!token && api.currentAccessToken()) api.endLocally("other-tab");
    });
    if (api.hasStoredSession()) {
      api
        .resume()
        .then((user) => setSession(user ? { state: "signed-in", user } : { state: "signed-out" }))
        .catch((error) =>
          setSession({ state: "signed-out", notice: error.message || "The server cannot be reached." }),
        );
    } else {
      setSession({ state: "signed-out" });
    }
    return () => {
      stopEnd();
      stopStorage();
    };
  }, []);

  useEffect(() => {
    if (session.state === "signed-out" && !["sign-in", "register"].includes(screen.name)) {
      navigate("/sign-in", { replace: true });
    } else if (session.state === "signed-in" && ["sign-in", "register"].includes(screen.name)) {
      navigate("/", { replace: true });
    }
  }, [session.state, screen.name]);

  const signedIn = (user) => {
    setSession({ state: "signed-in", user });
    navigate("/", { replace: true });
  };

  if (session.state === "loading") {
    return (
      <div class="splash" role="status">
        <span class="spinner" aria-hidden="true" /> Opening your library…
      </div>
    );
  }
  if (session.state === "signed-out") {
    return screen.name === "register" ? (
      <Register api={api} onSignedIn={signedIn} />
    ) : (
      <SignIn api={api} onSignedIn={signedIn} notice={session.notice} />
    );
  }
  return (
    <AppShell
      api={api}
      user={session.user}
      screen={screen}
      route={route}
      onUserChange={(user) => setSession({ state: "signed-in", user })}
    />
  );
}
