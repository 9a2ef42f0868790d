import { useState } from "preact/hooks";
import { errorMessage } from "../api.js";
import { AuthLayout } from "./AuthLayout.jsx";
import { FormError } from "./FormError.jsx";
import { link } from "./SignIn.jsx";

const FIELDS = [
  { name: "first_name", label: "First name", autocomplete: "given-name" },
  { name: "last_name", label: "Last name", autocomplete: "family-name" },
  { name: "email", label: "Email", type: "email", autocomplete: "email" },
  { name: "password", label: "Password", type: "password", autocomplete: "new-password" },
];

export function Register({ api, onSignedIn }) {
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    const form = Object.fromEntries(new FormData(event.currentTarget));
    setBusy(true);
    setErrors({});
    try {
      onSignedIn(await api.register(form, { persistent: true }));
    } catch (failure) {
      const body = failure.body || {};
      const byField = Object.fromEntries(
        FIELDS.filter((field) => Array.isArray(body[field.name])).map((field) => [field.name, body[field.name][0]]),
      );
      setErrors({ ...byField, form: Object.keys(byField).length ? "" : failure.message || errorMessage(body) });
      setBusy(false);
    }
  }

  return (
    <AuthLayout
      title="Create your account"
      footer={
        <>
          Already have one?{" "}
          <a href="/sign-in" onClick={link("/sign-in")}>
            Sign in
          </a>
        </>
      }
    >
      <form class="stack" onSubmit={submit} noValidate={false}>
        <div class="row-2">
          {FIELDS.slice(0, 2).map((field) => (
            <Field key={field.name} {...field} error={errors[field.name]} />
          ))}
        </div>
        {FIELDS.slice(2).map((field) => (
          <Field key={field.name} {...field} error={errors[field.name]} />
        ))}
        <FormError message={errors.form} />
        <button class="button primary wide" type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create account"}
        </button>
      </form>
    </AuthLayout>
  );
}

function Field({ name, label, type = "text", autocomplete, error }) {
  const errorId = `${name}-error`;
  return (
    <label class="field">
      <span>{label}</span>
      <input
        name={name}
        type={type}
        autocomplete={autocomplete}
        required
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? errorId : undefined}
      />
      {error && (
        <small id={errorId} class="field-error">
          {error}
        </small>
      )}
    </label>
  );
}
