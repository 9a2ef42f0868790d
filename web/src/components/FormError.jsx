// A form's error, in the server's words, announced at once to screen readers.
export function FormError({ message }) {
  return message ? (
    <p class="form-error" role="alert">
      {message}
    </p>
  ) : null;
}
