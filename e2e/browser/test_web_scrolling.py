"""A library of 2,000 items scrolls to its end: pages load as the grid nears them, the DOM keeps
only a window of tiles. The browser's long tasks (over 50 ms) and its own CPU accounting while
scrolling are printed as figures for docs/performance.md, not asserted (speed is measured, not
tested; long tasks are wall-clock and count the time other processes take the CPU away)."""

from urllib.parse import parse_qs, urlsplit

import requests
from library import create_records
from playwright.sync_api import expect

from devstack import client

LIBRARY_SIZE = 2000

OBSERVE_LONG_TASKS = """() => {
  window.longTasks = [];
  new PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => e.duration)))
    .observe({ type: "longtask" });
}"""

# Scrolls by 0.8 of a screen per frame, down until every item is loaded and shown (direction 1),
# or up to the top (direction -1); counts the most tiles ever in the DOM.
SCROLL = """async ([direction, expected]) => {
  // A frame, or 100 ms when the browser skips frames (a busy machine): never a hang.
  const frame = () =>
    new Promise((resolve) => {
      requestAnimationFrame(resolve);
      setTimeout(resolve, 100);
    });
  const started = performance.now();
  let mostTiles = 0;
  let step = 0;
  for (; step < 5000 && performance.now() - started < 120_000; step++) {
    scrollBy(0, direction * innerHeight * 0.8);
    await frame();
    mostTiles = Math.max(mostTiles, document.querySelectorAll(".grid > li").length);
    const count = document.querySelector(".count")?.textContent || "";
    const atBottom = innerHeight + scrollY >= document.documentElement.scrollHeight - 2;
    if (direction < 0 ? scrollY <= 0 : count.startsWith(`${expected} `) && atBottom) break;
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const seconds = (performance.now() - started) / 1000;
  return { seconds, steps: step, mostTiles, longTasks: longTasks.splice(0) };
}"""

PAGE_STATE = """() => ({
  scrollY, innerHeight, innerWidth, scrollHeight: document.documentElement.scrollHeight,
  count: document.querySelector('.count')?.textContent || '',
  loading: Boolean(document.querySelector('.loading')),
  error: document.querySelector('.inline-error')?.textContent || '',
  tilesInDom: document.querySelectorAll('.grid > li').length,
  lastPosition: Math.max(0, ...[...document.querySelectorAll('.grid > li')]
    .map((tile) => +tile.getAttribute('aria-posinset'))),
  gridHeight: document.querySelector('.grid')?.getBoundingClientRect().height,
})"""

CPU_METRICS = ("ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "TaskDuration")


def seed_records(gateway: str, person: dict, count: int) -> tuple[str, str]:
    """`count` records; the names of the newest and the oldest (the grid's first and last
    tiles). They are made six at a time, so on a busy machine photo-0000 need not be the oldest:
    the server says which is."""
    with requests.Session() as http:
        tokens = client.register(http, gateway, **person)
        create_records(gateway, tokens, [f"photo-{index:04d}.jpg" for index in range(count)])
        ends = []
        for ordering in ("-created_at", "created_at"):
            page = http.get(
                f"{gateway}/api/media/media/",
                params={"ordering": ordering, "page_size": 1},
                headers=client.bearer(tokens),
                timeout=30,
            )
            ends.append(client.expect(page, 200).json()["results"][0]["name"])
    return ends[0], ends[1]


def cpu_seconds(cdp) -> dict:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {name: metrics[name] for name in CPU_METRICS}


def test_two_thousand_items_scroll_to_the_end_with_a_window_of_tiles(app, person, web_stack):
    newest, oldest = seed_records(app.gateway, person, LIBRARY_SIZE)
    lists: list[str] = []
    app.page.on("request", lambda r: "/api/media/media/?" in r.url and lists.append(r.url))
    app.open("/")
    app.sign_in(person["email"], person["password"])
    expect(app.tile(newest)).to_be_visible()
    cdp = app.page.context.new_cdp_session(app.page)
    cdp.send("Performance.enable")
    app.page.evaluate(OBSERVE_LONG_TASKS)

    runs = {}
    for phase, direction in (("loading", 1), ("loaded", -1)):
        before = cpu_seconds(cdp)
        runs[phase] = app.page.evaluate(SCROLL, [direction, LIBRARY_SIZE])
        after = cpu_seconds(cdp)
        runs[phase]["cpu"] = {name: after[name] - before[name] for name in CPU_METRICS}
        if phase == "loading":
            # Short of the end, the failure says how the page stood and what it had asked for
            # (a line, ahead of Playwright's snapshot of the page).
            state = app.page.evaluate(PAGE_STATE)
            assert state["count"] == f"{LIBRARY_SIZE} items", (
                f"stopped after {runs[phase]['seconds']:.1f} s and {runs[phase]['steps']} steps;"
                f" {len(lists)} pages asked for; the page: {state}"
            )
            expect(app.page.get_by_text(f"{LIBRARY_SIZE} items")).to_be_visible()
            expect(app.tile(oldest)).to_be_visible()

    # Keyset pages all the way down: the first without a cursor value, each next by its cursor.
    cursors = [parse_qs(urlsplit(url).query, keep_blank_values=True)["cursor"][0] for url in lists]
    assert len(cursors) >= LIBRARY_SIZE // 100, lists[:3]
    assert cursors[0] == "", lists[:3]
    assert all(cursors[1:]), lists[:3]
    assert len(set(cursors)) == len(cursors), lists[:3]

    most_tiles = max(run["mostTiles"] for run in runs.values())
    assert most_tiles < 200, runs
    print(f"\n{LIBRARY_SIZE} items, at most {most_tiles} tiles in the DOM")
    for phase, run in runs.items():
        cpu = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in run["cpu"].items())
        print(
            f"scrolled while {phase}: {run['seconds']:.1f} s, {len(run['longTasks'])} long tasks"
            f" (longest {max(run['longTasks'], default=0):.0f} ms); {cpu}"
        )
