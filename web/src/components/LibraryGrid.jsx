// A windowed grid of square tiles: only the rows near the viewport are in the DOM, so a
// library of thousands scrolls as lightly as a page of fifty. Rows are placed by transform in
// a container as tall as the whole grid; the page itself scrolls (no inner scroll box), so the
// browser's own scrolling, keyboard and screen-reader habits still hold. Asks for more items
// when the last loaded row comes near.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

const GAP = 6;
const OVERSCAN_ROWS = 3;
const NEAR_END_ROWS = 6;

export function gridMetrics(width, minTile) {
  const columns = Math.max(2, Math.floor((width + GAP) / (minTile + GAP)));
  const tile = (width - GAP * (columns - 1)) / columns;
  return { columns, tile, rowHeight: tile + GAP };
}

export function visibleRows({ top, viewport, rowHeight, rows }) {
  const first = Math.max(0, Math.floor(-top / rowHeight) - OVERSCAN_ROWS);
  const last = Math.min(rows - 1, Math.ceil((viewport - top) / rowHeight) + OVERSCAN_ROWS);
  return { first, last };
}

export function LibraryGrid({ items, label, hasMore, onNearEnd, renderTile }) {
  const ref = useRef(null);
  const [box, setBox] = useState({ width: 0, top: 0, viewport: 800 });

  useLayoutEffect(() => {
    const element = ref.current;
    let frame = 0;
    const measure = () => {
      frame = 0;
      const rect = element.getBoundingClientRect();
      setBox((old) =>
        old.width === rect.width && old.top === rect.top && old.viewport === innerHeight
          ? old
          : { width: rect.width, top: rect.top, viewport: innerHeight },
      );
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(measure);
    };
    measure();
    const observer = new ResizeObserver(schedule);
    observer.observe(element);
    addEventListener("scroll", schedule, { passive: true });
    addEventListener("resize", schedule);
    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
      removeEventListener("scroll", schedule);
      removeEventListener("resize", schedule);
    };
  }, []);

  const minTile = box.width < 520 ? 104 : 168;
  const { columns, tile, rowHeight } = gridMetrics(box.width || 320, minTile);
  const rows = Math.ceil(items.length / columns);
  const { first, last } = visibleRows({ top: box.top, viewport: box.viewport, rowHeight, rows });

  useEffect(() => {
    if (hasMore && rows - last <= NEAR_END_ROWS) onNearEnd();
  }, [hasMore, rows, last, items.length]);

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
