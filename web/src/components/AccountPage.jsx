// The person's account: profile, where they are signed in, password, sign-out, deletion.
// Sessions, password change and deletion appear when the server offers them (SPEC.md,
// "Sessions and accounts"); the app asks once and shows only what works.
import { useEffect, useState } from "preact/hooks";
import { formatDate } from "../format.js";
import { FormError } from "./FormError.jsx";
import { Icon } from "./Icon.jsx";

const PROFILE_FIELDS = [
  ["first_name", "First name", "given-name"],
  ["last_name", "Last name", "family-name"],
  ["username", "Username", "username"],
  ["email", "Email", "email"],
  ["phone_number", "Phone (optional)", "tel"],
];

export function AccountPage({ api, user, onUserChange }) {
  const [offers, setOffers] = useState({});

  useEffect(() => {
    Promise.all([api.supportsSessions(), api.supportsPasswordChange(), api.supportsAccountDeletion()]).then(
      ([sessions, password, deletion]) => setOffers({ sessions, password, deletion }),
    );
  }, []);

  return (
    <section class="account" aria-labelledby="account-title">
      <h1 id="account-title" class="page-title">
        Account
      </h1>
      <ProfileForm api={api} user={user} onUserChange={onUserChange} />
      {offers.sessions && <SessionsList api={api} />}
      {offers.password && <PasswordForm api={api} />}
      <div class="card">
        <h2>Sign out</h2>
        <p class="muted">Signs this browser out and withdraws its session on the server.</p>
        <button type="button" class="button" onClick={() => api.signOut().catch(() => {})}>
          <Icon name="signout" /> Sign out
        </button>
      </div>
      {offers.deletion && <DeleteAccount api={api} />}
    </section>
  );
}

function useSubmit(action) {
  const [state, setState] = useState({ busy: false, message: "", error: false });
  const submit = async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    setState({ busy: true, message: "", error: false });
    try {
      const message = await action(Object.fromEntries(new FormData(form)), form);
      setState({ busy: false, message: message || "", error: false });
    } catch (error) {
      setState({ busy: false, message: error.message, error: true });
    }
  };
  return [state, submit];
}

function Result({ state }) {
  return (
    <p class={state.error ? "form-error" : "form-saved"} role={state.error ? "alert" : "status"}>
      {state.message}
    </p>
  );
}

function ProfileForm({ api, user, onUserChange }) {
  const [state, submit] = useSubmit(async (fields) => {
    onUserChange(await api.updateProfile(fields));
    return "Profile saved.";
  });
  return (
    <form class="card stack" onSubmit={submit} aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <div class="row-2">
        {PROFILE_FIELDS.map(([name, label, autocomplete]) => (
          <label key={name} class="field">
            <span>{label}</span>
            <input
              name={name}
              type={name === "email" ? "email" : name === "phone_number" ? "tel" : "text"}
              defaultValue={user[name] || ""}
              autocomplete={autocomplete}
              required={name === "email"}
            />
          </label>
        ))}
      </div>
      <p class="muted">Member since {formatDate(user.date_joined)}</p>
      <div class="form-actions">
        <button type="submit" class="button primary" disabled={state.busy}>
          Save profile
        </button>
        <Result state={state} />
      </div>
    </form>
  );
}

function SessionsList({ api }) {
  const [sessions, setSessions] = useState(null);
  const [error, setError] = useState("");
  const load = () => api.sessions().then(setSessions, (failure) => setError(failure.message));
  useEffect(() => {
    load();
  }, []);

  async function end(session) {
    try {
      await api.endOtherSession(session.id);
      setSessions((old) => old.filter((item) => item.id !== session.id));
    } catch (failure) {
      setError(failure.message);
    }
  }

  return (
    <div class="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Where you're signed in</h2>
      <FormError message={error} />
      <ul class="session-list">
        {sessions?.map((session) => (
          <li key={session.id}>
            <span class="session-text">
              <strong>{session.device || "Unknown device"}</strong>
              {session.current && <span class="pill">This browser</span>}
              <small>
                {session.ip} · last used {formatDate(session.last_used_at)}
              </small>
            </span>
            {!session.current && (
              <button type="button" class="button small" onClick={() => end(session)}>
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function PasswordForm({ api }) {
  const [state, submit] = useSubmit(async (fields, form) => {
    await api.changePassword(fields);
    form.reset();
    return "Password changed. Your other devices have been signed out.";
  });
  return (
    <form class="card stack" onSubmit={submit} aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      <div class="row-2">
        <label class="field">
          <span>Current password</span>
          <input name="old_password" type="password" autocomplete="current-password" required />
        </label>
        <label class="field">
          <span>New password</span>
          <input name="new_password" type="password" autocomplete="new-password" required />
        </label>
      </div>
      <div class="form-actions">
        <button type="submit" class="button primary" disabled={state.busy}>
          Change password
        </button>
        <Result state={state} />
      </div>
    </form>
  );
}

function DeleteAccount({ api }) {
  const [state, submit] = useSubmit(async (fields) => {
    if (!confirm("Delete your account and every file in it? This cannot be undone.")) return "";
    await api.deleteAccount(fields.password);
    return "";
  });
  return (
    <form class="card stack danger-zone" onSubmit={submit} aria-labelledby="delete-title">
      <h2 id="delete-title">Delete account</h2>
      <p class="muted">Your account, and all of your photos, videos and audio, are removed for good.</p>
      <label class="field">
        <span>Password</span>
        <input name="password" type="password" autocomplete="current-password" required />
      </label>
      <div class="form-actions">
        <button type="submit" class="button danger" disabled={state.busy}>
          Delete my account
        </button>
        <Result state={state} />
      </div>
    </form>
  );
}
