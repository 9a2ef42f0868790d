// One item of the grid: its placeholder at once, its thumbnail when it comes into view (the
// browser's lazy loading), a badge for video and audio, a checkbox for selecting.
import { Component } from "preact";
import { useState } from "preact/hooks";
import { formatDuration } from "../format.js";
import { placeholderURL } from "../placeholder.js";
import { Icon } from "./Icon.jsx";

// The picture a tile shows: the server's thumbnail when it makes them (SPEC.md, "Derived
// media"); before that, the original of a photo (lazy, decoded off the main thread).
export function tileImage(media) {
  if ("thumbnail" in media) return media.thumbnail;
  return media.type === "image" ? media.file : null;
}

// A scroll frame re-renders the grid: only tiles whose props changed redo their work (the
// handlers take the id, so they are the same functions for every tile and every render).
// A class for shouldComponentUpdate: preact/compat's memo would add its whole module.
export class MediaTile extends Component {
  shouldComponentUpdate(next) {
    return Object.keys(next).some((key) => next[key] !== this.props[key]);
  }

  render(props) {
    return <TileView {...props} />;
  }
}

function TileView({ media, selected, selecting, onOpen, onToggle }) {
  const [loaded, setLoaded] = useState(false);
  const [broken, setBroken] = useState(false);
  const image = tileImage(media);
  const placeholder = placeholderURL(media.placeholder);
  const kind = media.type === "video" ? "video" : media.type === "audio" ? "audio" : "photo";

  return (
    <div class={`tile kind-${media.type}${selected ? " is-selected" : ""}${selecting ? " is-selecting" : ""}`}>
      <button
        type="button"
        class="tile-open"
        onClick={(event) => (selecting || event.shiftKey ? onToggle(media.id) : onOpen(media.id))}
        aria-label={`${selecting ? "Select" : "Open"} ${media.name}`}
        data-media-id={media.id}
      >
        {placeholder && <img class="tile-placeholder" src={placeholder} alt="" aria-hidden="true" />}
        {image && !broken && (
          <img
            class={`tile-picture${loaded ? " is-loaded" : ""}`}
            src={image}
            alt=""
            loading="lazy"
            decoding="async"
            onLoad={() => setLoaded(true)}
            onError={() => setBroken(true)}
          />
        )}
      </button>
      {/* Drawn over the button, outside it: its name stays just "Open <name>". */}
      {(!image || broken) && !placeholder && (
        <span class="tile-kind" aria-hidden="true">
          <Icon name={kind} size={32} />
          <span class="tile-name">{media.name}</span>
        </span>
      )}
      {media.type !== "image" && (
        <span class="tile-badge" aria-hidden="true">
          <Icon name={kind} size={14} />
          {formatDuration(media.duration)}
        </span>
      )}
      <label class="tile-check">
        <input type="checkbox" checked={selected} onChange={() => onToggle(media.id)} aria-label={`Select ${media.name}`} />
        <span class="tile-check-mark" aria-hidden="true">
          <Icon name="check" size={14} />
        </span>
      </label>
    </div>
  );
}
