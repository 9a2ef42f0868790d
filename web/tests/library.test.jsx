import { render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { pagedMediaSource } from "../src/library-source.js";
import { gridMetrics, LibraryGrid, visibleRows } from "../src/components/LibraryGrid.jsx";
import { LibraryView } from "../src/components/LibraryView.jsx";
import { matchRoute } from "../src/router.js";

const media = (count) => Array.from({ length: count }, (_, i) => ({ id: `m${i}`, name: `m${i}` }));

describe("the paged source", () => {
  it("walks the keyset pages by their cursors until there is no next one, with the filters", async () => {
    const queries = [];
    const pages = { "": media(3), c2: [{ id: "m2", name: "m2" }, { id: "m9", name: "m9" }] };
    const next = { "": "http://gw/api/media/media/?cursor=c2&page_size=100", c2: null };
    const api = {
      listMedia: async (query) => {
        queries.push(query);
        return { results: pages[query.cursor], next: next[query.cursor] };
      },
    };
    const source = pagedMediaSource(api, { type: "video", search: "cat", trash: true });
    expect((await source.next()).map((m) => m.id)).toEqual(["m0", "m1", "m2"]);
    // An item met twice is shown once.
    expect((await source.next()).map((m) => m.id)).toEqual(["m9"]);
    expect(source.done).toBe(true);
    expect(await source.next()).toEqual([]);
    expect(queries[0]).toMatchObject({ cursor: "", page_size: 100, type: "video", search: "cat", is_deleted: "true" });
    expect(queries[1]).toMatchObject({ cursor: "c2" });
    expect(queries).toHaveLength(2);
  });

  it("ends the walk when the next link carries no cursor", async () => {
    const api = { listMedia: async () => ({ results: media(2), next: "http://gw/api/media/media/?page=2" }) };
    const source = pagedMediaSource(api);
    expect(await source.next()).toHaveLength(2);
    expect(source.done).toBe(true);
  });
});

describe("the windowed grid", () => {
  it("fits columns to the width", () => {
    expect(gridMetrics(1000, 168).columns).toBe(5);
    expect(gridMetrics(360, 104).columns).toBe(3);
    expect(gridMetrics(100, 168).columns).toBe(2);
  });

  it("renders the rows near the viewport only", () => {
    const rows = visibleRows({ top: -10_000, viewport: 800, rowHeight: 200, rows: 400 });
    expect(rows.first).toBe(47);
    expect(rows.last).toBe(57);
  });

  it("puts a few dozen of 2,000 items in the DOM and asks for more near the end", () => {
    let asked = 0;
    const { container } = render(
      <LibraryGrid
        items={media(2000)}
        label="Media"
        hasMore
        onNearEnd={() => asked++}
        renderTile={(item) => <span>{item.name}</span>}
      />,
    );
    const rendered = container.querySelectorAll("li").length;
    expect(rendered).toBeGreaterThan(0);
    expect(rendered).toBeLessThan(100);
    expect(asked).toBe(0);
    render(<LibraryGrid items={media(4)} label="Few" hasMore onNearEnd={() => asked++} renderTile={(item) => <span>{item.name}</span>} />);
    expect(asked).toBe(1);
  });
});

describe("walking the library's pages", () => {
  afterEach(() => vi.restoreAllMocks());

  const tile = (item) => <span>{item.name}</span>;

  it("goes on past a page that brings nothing new", async () => {
    // The second page repeats the first (the source shows an item once): nothing is added and
    // no row appears, yet the walk must reach the third page and the end.
    const pages = { "": media(2), c2: media(2), c3: [{ id: "m7", name: "m7" }] };
    const next = { "": "http://gw/api/media/media/?cursor=c2", c2: "http://gw/api/media/media/?cursor=c3", c3: null };
    const asked = [];
    const api = {
      listMedia: async ({ cursor }) => {
        asked.push(cursor);
        return { results: pages[cursor], next: next[cursor], count: 3 };
      },
    };
    render(<LibraryView api={api} scope={{ kind: "library" }} viewing={null} />);
    expect(await screen.findByText("3 items")).toBeTruthy();
    expect(asked).toEqual(["", "c2", "c3"]);
  });

  it("asks when a load settles with the end in view, even if nothing told the grid it scrolled", () => {
    let asked = 0;
    const grid = (loading) => (
      <LibraryGrid items={media(200)} label="Media" hasMore loading={loading} onNearEnd={() => asked++} renderTile={tile} />
    );
    const { rerender } = render(grid(true));
    expect(asked).toBe(0);
    // The page is now at the grid's end (200 items in 2 columns of 163 px rows), with no scroll
    // event on the way: when the load settles, the grid reads where it is.
    vi.spyOn(HTMLElement.prototype, "getBoundingClientRect").mockReturnValue(
      DOMRect.fromRect({ x: 0, y: -16_000, width: 320, height: 16_300 }),
    );
    rerender(grid(false));
    expect(asked).toBeGreaterThan(0);
  });

  it("does not ask while a load is under way", () => {
    let asked = 0;
    render(<LibraryGrid items={media(4)} label="Few" hasMore loading onNearEnd={() => asked++} renderTile={tile} />);
    expect(asked).toBe(0);
  });
});

describe("routes", () => {
  it("name the screens, and unknown paths fall back to the library", () => {
    expect(matchRoute("/")).toEqual({ name: "library" });
    expect(matchRoute("/trash/")).toEqual({ name: "trash" });
    expect(matchRoute("/collections/0b7f6d1e-2a1c-4f7e-9d55-5d1f8e0e4a11")).toEqual({
      name: "collection",
      id: "0b7f6d1e-2a1c-4f7e-9d55-5d1f8e0e4a11",
    });
    expect(matchRoute("/elsewhere")).toEqual({ name: "library" });
  });
});
