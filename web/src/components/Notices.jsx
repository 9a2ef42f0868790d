// Short notices at the bottom of the screen ("Moved 3 items to trash — Undo"), read out by
// screen readers through a polite live region; errors through an assertive one.
import { useEffect, useState } from "preact/hooks";
import { on } from "../events.js";

const SHOWN_MS = 6000;

export function Notices() {
  const [notices, setNotices] = useState([]);

  useEffect(
    () =>
      on("notice", (notice) => {
        setNotices((current) => [...current.slice(-2), notice]);
        setTimeout(() => setNotices((current) => current.filter((n) => n.id !== notice.id)), SHOWN_MS);
      }),
    [],
  );

  const dismiss = (id) => setNotices((current) => current.filter((n) => n.id !== id));
  const polite = notices.filter((n) => n.kind !== "error");
  const urgent = notices.filter((n) => n.kind === "error");
  return (
    <div class="notices">
      {[
        ["status", polite],
        ["alert", urgent],
      ].map(([role, list]) => (
        <div key={role} role={role} class="notice-list">
          {list.map((notice) => (
            <div key={notice.id} class={`notice notice-${notice.kind}`}>
              <span>{notice.message}</span>
              {notice.action && (
                <button
                  type="button"
                  class="button ghost small"
                  onClick={() => {
                    dismiss(notice.id);
                    notice.action.run();
                  }}
                >
                  {notice.action.label}
                </button>
              )}
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}
