// One item, full screen: the photo (the server's preview when it makes one), or the video or
// audio with the browser's own controls (seeking uses HTTP Range on the signed URL). ← and →
// (or a swipe) go to the neighbours, Esc closes. A modal <dialog> keeps the focus inside and
// the page behind inert. The record is fetched again on opening, for a fresh signed URL.
import { useEffect, useRef, useState } from "preact/hooks";
import { formatBytes, formatDate, formatDimensions, formatDuration, mediaTypeLabel } from "../format.js";
import { placeholderURL } from "../placeholder.js";
import { DetailsPanel } from "./DetailsPanel.jsx";
import { Icon } from "./Icon.jsx";

const SWIPE_PX = 60;

export function Viewer({ api, items, index, trash, onNavigate, onClose, onChanged, onDelete, onRestore, onAddToCollection }) {
  const dialog = useRef(null);
  const listed = items[index];
  const [media, setMedia] = useState(listed);
  const [details, setDetails] = useState(() => matchMedia?.("(min-width: 900px)").matches ?? true);

  useEffect(() => {
    const element = dialog.current;
    const opener = document.activeElement;
    if (!element.open) element.showModal();
    return () => {
      if (element.open) element.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  useEffect(() => {
    setMedia(listed);
    let current = true;
    // A new signed URL only when the listed one is about to expire: swapping the source of a
    // playing video would start it again.
    if (!trash && expiresSoon(listed.file)) {
      api.getMedia(listed.id).then((fresh) => current && setMedia(fresh), () => {});
    }
    return () => {
      current = false;
    };
  }, [listed.id]);

  const go = (delta) => {
    const next = index + delta;
    if (next >= 0 && next < items.length) onNavigate(next);
  };

  useEffect(() => {
    const keydown = (event) => {
      if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
      if (event.key === "ArrowLeft") go(-1);
      else if (event.key === "ArrowRight") go(1);
      else return;
      event.preventDefault();
    };
    addEventListener("keydown", keydown);
    return () => removeEventListener("keydown", keydown);
  }, [index, items.length]);

  const swipe = useRef(null);
  const pointerDown = (event) => {
    if (event.pointerType !== "mouse") swipe.current = { x: event.clientX, y: event.clientY };
  };
  const pointerUp = (event) => {
    const start = swipe.current;
    swipe.current = null;
    if (!start) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    if (Math.abs(dx) > SWIPE_PX && Math.abs(dx) > 2 * Math.abs(dy)) go(dx < 0 ? 1 : -1);
  };

  return (
    <dialog
      ref={dialog}
      class={`viewer${details ? " with-details" : ""}`}
      aria-label={`${mediaTypeLabel(media.type)}: ${media.name}`}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <div class="viewer-bar">
        <button type="button" class="icon-button on-dark" onClick={onClose} aria-label="Close (Esc)" title="Close (Esc)" autofocus>
          <Icon name="close" />
        </button>
        <p class="viewer-title">
          <span class="viewer-name">{media.name}</span>
          <span class="viewer-position">
            {index + 1} of {items.length}
          </span>
        </p>
        <div class="viewer-actions">
          {media.file && !trash && (
            <a class="icon-button on-dark" href={media.file} download={media.name} aria-label="Download original" title="Download original">
              <Icon name="download" />
            </a>
          )}
          {trash ? (
            <button type="button" class="button on-dark" onClick={() => onRestore(media.id).then(onClose)}>
              <Icon name="restore" /> Restore
            </button>
          ) : (
            <button type="button" class="icon-button on-dark" onClick={() => onDelete(media.id).then(onClose)} aria-label="Delete" title="Delete">
              <Icon name="trash" />
            </button>
          )}
          <button
            type="button"
            class="icon-button on-dark"
            onClick={() => setDetails(!details)}
            aria-pressed={String(details)}
            aria-label="Details"
            title="Details"
          >
            <Icon name="info" />
          </button>
        </div>
      </div>
      <div class="viewer-stage" onPointerDown={pointerDown} onPointerUp={pointerUp}>
        <Stage media={media} />
        {index > 0 && (
          <button type="button" class="viewer-nav prev" onClick={() => go(-1)} aria-label="Previous (←)" title="Previous">
            <Icon name="left" size={28} />
          </button>
        )}
        {index < items.length - 1 && (
          <button type="button" class="viewer-nav next" onClick={() => go(1)} aria-label="Next (→)" title="Next">
            <Icon name="right" size={28} />
          </button>
        )}
      </div>
      {details && (
        <DetailsPanel
          key={media.id}
          api={api}
          media={media}
          editable={!trash}
          onSaved={(saved) => {
            setMedia(saved);
            onChanged(saved);
          }}
          onAddToCollection={() => onAddToCollection(media.id)}
          facts={[
            ["Type", mediaTypeLabel(media.type) + (media.mime_type ? ` (${media.mime_type})` : "")],
            ["Size", formatBytes(media.size)],
            ["Dimensions", formatDimensions(media.width, media.height)],
            ["Duration", formatDuration(media.duration)],
            ["Added", formatDate(media.created_at)],
          ]}
        />
      )}
    </dialog>
  );
}

const URL_MARGIN_SECONDS = 300;

export function expiresSoon(url) {
  if (!url) return false;
  const expires = Number(new URL(url, location.href).searchParams.get("expires"));
  return !expires || expires * 1000 - Date.now() < URL_MARGIN_SECONDS * 1000;
}

function Stage({ media }) {
  if (!media.file) {
    return <p class="viewer-empty">This item has no file.</p>;
  }
  if (media.type === "video") {
    return (
      <video key={media.id} class="viewer-media" src={media.file} poster={media.preview || undefined} controls playsInline preload="metadata" aria-label={media.name} />
    );
  }
  if (media.type === "audio") {
    return (
      <div class="viewer-audio">
        {media.preview ? <img src={media.preview} alt="" class="viewer-cover" /> : <Icon name="audio" size={96} />}
        <audio key={media.id} src={media.file} controls preload="metadata" aria-label={media.name} />
      </div>
    );
  }
  const placeholder = placeholderURL(media.placeholder);
  return (
    <img
      key={media.id}
      class="viewer-media"
      src={media.preview || media.file}
      alt={media.description || media.name}
      decoding="async"
      style={placeholder ? { backgroundImage: `url("${placeholder}")` } : undefined}
    />
  );
}
