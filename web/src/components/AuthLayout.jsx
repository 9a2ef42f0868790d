// The frame of the sign-in and registration screens.
export function AuthLayout({ title, children, footer }) {
  return (
    <main class="auth">
      <div class="auth-card">
        <div class="brand brand-large">
          <span class="brand-mark" aria-hidden="true" />
          Media Handler
        </div>
        <h1>{title}</h1>
        {children}
        {footer && <p class="auth-footer">{footer}</p>}
      </div>
    </main>
  );
}
