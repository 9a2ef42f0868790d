// What is being uploaded: a bar per file and one for the whole batch, pause/resume when the
// server offers resumable uploads, the server's own words for a refused file.
import { useState } from "preact/hooks";
import { formatBytes } from "../format.js";
import { overallProgress } from "../uploads.js";
import { Icon } from "./Icon.jsx";

const STATUS = {
  checking: "Checking…",
  waiting: "Waiting",
  uploading: "Uploading",
  paused: "Paused",
  done: "Uploaded",
  skipped: "Skipped",
  failed: "Not uploaded",
  cancelled: "Cancelled",
};

export function UploadQueue({ queue, items }) {
  const [collapsed, setCollapsed] = useState(false);
  if (!items.length) return null;
  const overall = overallProgress(items);
  const active = items.filter((item) => ["checking", "waiting", "uploading", "paused"].includes(item.status));
  const failed = items.filter((item) => item.status === "failed").length;
  const summary = active.length
    ? `Uploading ${active.length} of ${items.length} · ${Math.round(overall.fraction * 100)}%`
    : failed
      ? `${failed} not uploaded`
      : `${items.length} done`;

  return (
    <section class="upload-queue" aria-label="Uploads">
      <header class="upload-queue-head">
        <h2>{summary}</h2>
        <div class="upload-queue-actions">
          {!active.length && (
            <button type="button" class="button ghost small" onClick={() => queue.clearFinished()}>
              Clear
            </button>
          )}
          <button
            type="button"
            class="button ghost small"
            aria-expanded={String(!collapsed)}
            onClick={() => setCollapsed(!collapsed)}
          >
            {collapsed ? "Show" : "Hide"}
          </button>
        </div>
      </header>
      {active.length > 0 && (
        <progress
          class="bar overall"
        max="1"
        value={overall.fraction}
        aria-label="All uploads"
          aria-valuetext={`${Math.round(overall.fraction * 100)}%`}
        />
      )}
      {!collapsed && (
        <ul class="upload-list">
          {items.map((item) => (
            <li key={item.id} class={`upload upload-${item.status}`} data-status={item.status}>
              <div class="upload-line">
                <span class="upload-name" title={item.name}>
                  {item.name}
                </span>
                <span class="upload-status">
                  {item.status === "uploading"
                    ? `${formatBytes(item.loaded)} of ${formatBytes(item.total)}`
                    : STATUS[item.status]}
                </span>
                <UploadActions queue={queue} item={item} />
              </div>
              {["uploading", "paused", "waiting"].includes(item.status) && (
                <progress
                  class="bar"
                  max={item.total || 1}
                  value={item.loaded}
                  aria-label={`Upload of ${item.name}`}
                />
              )}
              {item.message && (
                <p class={item.status === "failed" ? "upload-message error" : "upload-message"}>{item.message}</p>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function UploadActions({ queue, item }) {
  const action = (label, icon, run) => (
    <button type="button" class="icon-button small" onClick={run} aria-label={`${label} ${item.name}`} title={label}>
      <Icon name={icon} size={16} />
    </button>
  );
  return (
    <span class="upload-actions">
      {item.status === "uploading" && queue.canPause() && action("Pause", "pause", () => queue.pause(item.id))}
      {item.status === "paused" && action("Resume", "play", () => queue.resume(item.id))}
      {item.status === "failed" && item.retryable && action("Retry", "restore", () => queue.retry(item.id))}
      {["waiting", "uploading", "paused", "checking"].includes(item.status) &&
        action("Cancel", "close", () => queue.cancel(item.id))}
    </span>
  );
}
