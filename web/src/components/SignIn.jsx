import { useState } from "preact/hooks";
import { navigate } from "../router.js";
import { AuthLayout } from "./AuthLayout.jsx";
import { FormError } from "./FormError.jsx";

export function SignIn({ api, onSignedIn, notice }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError("");
    try {
      const user = await api.signIn({
        login: form.get("login").trim(),
        password: form.get("password"),
        persistent: form.get("persistent") === "on",
      });
      onSignedIn(user);
    } catch (failure) {
      setError(failure.message);
      setBusy(false);
    }
  }

  return (
    <AuthLayout
      title="Sign in"
      footer={
        <>
          New here?{" "}
          <a href="/register" onClick={link("/register")}>
            Create an account
          </a>
        </>
      }
    >
      {notice && !error && (
        <p class="form-notice" role="status">
          {notice}
        </p>
      )}
      <form class="stack" onSubmit={submit}>
        <label class="field">
          <span>Email or username</span>
          <input name="login" autocomplete="username" required autofocus />
        </label>
        <label class="field">
          <span>Password</span>
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <label class="check">
          <input name="persistent" type="checkbox" defaultChecked />
          <span>Keep me signed in on this device</span>
        </label>
        <FormError message={error} />
        <button class="button primary wide" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </AuthLayout>
  );
}

export function link(to) {
  return (event) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(to);
  };
}
