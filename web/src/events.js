// App-wide happenings that several screens react to: a finished upload (the grid shows it at
// once) and short notices (shown by Notices, announced to screen readers).
const target = new EventTarget();

export function emit(name, detail) {
  target.dispatchEvent(new CustomEvent(name, { detail }));
}

export function on(name, listener) {
  const handler = (event) => listener(event.detail);
  target.addEventListener(name, handler);
  return () => target.removeEventListener(name, handler);
}

// A notice with an optional action ({ label, run }), e.g. "Moved to trash — Undo".
export function notify(message, { kind = "info", action } = {}) {
  emit("notice", { id: Math.random().toString(36).slice(2), message, kind, action });
}
