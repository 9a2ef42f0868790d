// A windowed grid of square tiles: only the rows near the viewport are in the DOM, so a
// library of thousands scrolls as lightly as a page of fifty. Rows are placed by transform in
// a container as tall as the whole grid; the page itself scrolls (no inner scroll box), so the
// browser's own scrolling, keyboard and screen-reader habits still hold. Asks for more items
// when the last loaded row comes near, and asks again whenever a load settles while it still is
// (a page that brought nothing new, or one smaller than the rows on screen).
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

const GAP = 6;
const OVERSCAN_ROWS = 3;
const NEAR_END_ROWS = 6;

export function gridMetrics(width, minTile) {
  const columns = Math.max(2, Math.floor((width + GAP) / (minTile + GAP)));
  const tile = (width - GAP * (columns - 1)) / columns;
  return { columns, tile, rowHeight: tile + GAP };
}

// The grid's width, its top against the viewport and the viewport's height; `old` itself when
// none of them changed (so an unchanged measurement renders nothing).
function measured(element, old) {
  const rect = element.getBoundingClientRect();
  const now = { width: rect.width, top: rect.top, viewport: innerHeight };
  return sameBox(old, now) ? old : now;
}

const sameBox = (a, b) => a.width === b.width && a.top === b.top && a.viewport === b.viewport;

export function visibleRows({ top, viewport, rowHeight, rows }) {
  const first = Math.max(0, Math.floor(-top / rowHeight) - OVERSCAN_ROWS);
  const last = Math.min(rows - 1, Math.ceil((viewport - top) / rowHeight) + OVERSCAN_ROWS);
  return { first, last };
}

export function LibraryGrid({ items, label, hasMore, loading = false, onNearEnd, renderTile }) {
  const ref = useRef(null);
  const [box, setBox] = useState({ width: 0, top: 0, viewport: 800 });

  useLayoutEffect(() => {
    const element = ref.current;
    // Measured in the scroll, resize and resize-observer callbacks themselves (the browser
    // already sends those at most once a frame), not in a requestAnimationFrame scheduled from
    // them: nothing between the event and the measurement can be held back or lost.
    const measure = () => setBox((old) => measured(element, old));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    addEventListener("scroll", measure, { passive: true });
    addEventListener("resize", measure);
    return () => {
      observer.disconnect();
      removeEventListener("scroll", measure);
      removeEventListener("resize", measure);
    };
  }, []);

  const minTile = box.width < 520 ? 104 : 168;
  const { columns, tile, rowHeight } = gridMetrics(box.width || 320, minTile);
  const rows = Math.ceil(items.length / columns);
  const { first, last } = visibleRows({ top: box.top, viewport: box.viewport, rowHeight, rows });

  // Asked again each time a load settles, and from where the grid is now rather than where it
  // was last measured: a load that leaves the end near asks for the next page at once, whether
  // or not anything scrolls. (The view ignores an ask while its load is under way.)
  useEffect(() => {
    if (!hasMore || loading) return;
    const now = measured(ref.current, box);
    setBox((old) => (sameBox(old, now) ? old : now)); // nothing renders when it is the same
    const near = visibleRows({ top: now.top, viewport: now.viewport, rowHeight, rows });
    if (rows - near.last <= NEAR_END_ROWS) onNearEnd();
  }, [hasMore, loading, rows, last]);

  const tiles = [];
  for (let row = first; row <= last; row++) {
    for (let column = 0; column < columns; column++) {
      const index = row * columns + column;
      if (index >= items.length) break;
      tiles.push(
        <li
          key={items[index].id}
          class="tile-slot"
          aria-setsize={hasMore ? -1 : items.length}
          aria-posinset={index + 1}
          style={{
            width: `${tile}px`,
            height: `${tile}px`,
            transform: `translate(${column * (tile + GAP)}px, ${row * rowHeight}px)`,
          }}
        >
          {renderTile(items[index], index)}
        </li>,
      );
    }
  }

  return (
    <ul ref={ref} class="grid" aria-label={label} style={{ height: `${Math.max(0, rows * rowHeight - GAP)}px` }}>
      {tiles}
    </ul>
  );
}
