// Search and the type filter above a grid. Typing waits a moment before it searches.
import { useEffect, useState } from "preact/hooks";
import { Icon } from "./Icon.jsx";

const TYPES = [
  ["", "All"],
  ["image", "Photos"],
  ["video", "Videos"],
  ["audio", "Audio"],
];
const SEARCH_DELAY_MS = 250;

export function FilterBar({ filters, onChange, count }) {
  const [text, setText] = useState(filters.search);

  useEffect(() => {
    if (text.trim() === filters.search) return;
    const timer = setTimeout(() => onChange({ ...filters, search: text.trim() }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);

  return (
    <div class="filter-bar">
      <label class="search">
        <Icon name="search" size={18} />
        <span class="visually-hidden">Search by name or description</span>
        <input
          type="search"
          placeholder="Search"
          value={text}
          onInput={(event) => setText(event.currentTarget.value)}
        />
      </label>
      <div class="segmented" role="group" aria-label="Show">
        {TYPES.map(([value, label]) => (
          <button
            key={value}
            type="button"
            aria-pressed={String(filters.type === value)}
            onClick={() => onChange({ ...filters, type: value })}
          >
            {label}
          </button>
        ))}
      </div>
      {count !== null && (
        <span class="count" aria-live="polite">
          {count} {count === 1 ? "item" : "items"}
        </span>
      )}
    </div>
  );
}
