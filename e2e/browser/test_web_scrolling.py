"""A library of 2,000 items scrolls to its end: pages load as the grid nears them, the DOM keeps
only a window of tiles, and the browser's long tasks (over 50 ms) while scrolling are counted
and printed (figures for docs/performance.md, not asserted: speed is measured, not tested)."""

from concurrent.futures import ThreadPoolExecutor

import requests
from playwright.sync_api import expect

LIBRARY_SIZE = 2000

SCROLL_TO_THE_END = """async (expected) => {
  const longTasks = [];
  new PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => e.duration)))
    .observe({ type: "longtask" });
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const started = performance.now();
  let mostTiles = 0;
  for (let step = 0; step < 5000; step++) {
    scrollBy(0, innerHeight * 0.8);
    await frame();
    mostTiles = Math.max(mostTiles, document.querySelectorAll(".grid > li").length);
    const count = document.querySelector(".count")?.textContent || "";
    const atBottom = innerHeight + scrollY >= document.documentElement.scrollHeight - 2;
    if (count.startsWith(`${expected} `) && atBottom) break;
  }
  await frame();
  return { seconds: (performance.now() - started) / 1000, longTasks, mostTiles };
}"""


def seed_records(gateway: str, person: dict, count: int) -> None:
    """Records without a file (as in the seed README's example), made through the public API."""
    tokens = requests.post(f"{gateway}/api/auth/register/", json=person, timeout=10).json()
    headers = {"Authorization": f"Bearer {tokens['access']}"}

    def create(index: int) -> None:
        with requests.Session() as http:
            response = http.post(
                f"{gateway}/api/media/media/",
                json={"name": f"photo-{index:04d}.jpg", "type": "image", "size": 1000 + index},
                headers=headers,
                timeout=30,
            )
            assert response.status_code == 201, response.text

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(create, range(count)))


def test_two_thousand_items_scroll_to_the_end_with_a_window_of_tiles(app, person, web_stack):
    seed_records(app.gateway, person, LIBRARY_SIZE)
    app.open("/")
    app.sign_in(person["email"], person["password"])
    expect(app.tile("photo-1999.jpg")).to_be_visible()
    result = app.page.evaluate(SCROLL_TO_THE_END, LIBRARY_SIZE)
    expect(app.page.get_by_text(f"{LIBRARY_SIZE} items")).to_be_visible()
    expect(app.tile("photo-0000.jpg")).to_be_visible()
    assert result["mostTiles"] < 200, result
    long_tasks = result["longTasks"]
    print(
        f"\nscrolled {LIBRARY_SIZE} items in {result['seconds']:.1f} s; at most "
        f"{result['mostTiles']} tiles in the DOM; {len(long_tasks)} long tasks"
        f" (longest {max(long_tasks, default=0):.0f} ms)"
    )
