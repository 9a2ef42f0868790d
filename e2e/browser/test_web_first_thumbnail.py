"""A signed-in person opens a library of 500 items: the first screen's tiles show the server's
thumbnails (never the originals), and the time from navigation to the first thumbnail painted
is printed, cold (a browser with nothing cached but the refresh token) and warm (a reload), as
figures for docs/performance.md. Speed is measured here, not asserted."""

import statistics
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests
from conftest import DESKTOP
from playwright.sync_api import expect

from devstack import client, samples
from devstack.polling import wait_until

LIBRARY_SIZE = 500
PHOTOS = 40  # the newest items, more than a first screen holds; the rest are records
RUNS = 3

# Installed before the app's scripts: the moment the first tile's picture has loaded.
WATCH_FIRST_PICTURE = """
window.firstPicture = null;
document.addEventListener("load", (event) => {
  const target = event.target;
  if (window.firstPicture === null && target.classList?.contains("tile-picture")) {
    window.firstPicture = { at: performance.now(), src: target.currentSrc };
  }
}, true);
"""


def seed_library(gateway: str, person: dict) -> dict:
    """LIBRARY_SIZE - PHOTOS records without a file, then PHOTOS phone-sized photos on top,
    all through the public API; returns once the worker has made every thumbnail."""
    with requests.Session() as http:
        tokens = client.register(http, gateway, **person)

    def create(index: int) -> None:
        with requests.Session() as http:
            response = http.post(
                f"{gateway}/api/media/media/",
                json={"name": f"note-{index:04d}.jpg", "type": "image", "size": 1000 + index},
                headers=client.bearer(tokens),
                timeout=30,
            )
            client.expect(response, 201)

    def upload(index: int) -> None:
        name = f"photo-{index:04d}.jpg"
        with requests.Session() as http:
            photo = samples.jpeg_bytes(2016, 1512, seed=index)
            response = client.upload(
                http, gateway, tokens, photo, name=name, filename=name, content_type="image/jpeg"
            )
            client.expect(response, 201)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(create, range(LIBRARY_SIZE - PHOTOS)))
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(upload, range(PHOTOS)))

    def photos_ready() -> bool:
        with requests.Session() as http:
            page = http.get(
                f"{gateway}/api/media/media/?page_size={PHOTOS}",
                headers=client.bearer(tokens),
                timeout=30,
            ).json()
        return all(item["processing"] == "ready" for item in page["results"])

    assert wait_until(photos_ready, timeout=300, interval=1), "thumbnails never became ready"
    with requests.Session() as http:
        page = http.get(
            f"{gateway}/api/media/media/?page_size={PHOTOS}",
            headers=client.bearer(tokens),
            timeout=30,
        ).json()
    return {urlsplit(item["thumbnail"]).path: item for item in page["results"]}


def time_to_first_thumbnail(page, thumbnails: dict) -> float:
    page.wait_for_function("() => window.firstPicture !== null", timeout=60_000)
    first = page.evaluate("() => window.firstPicture")
    assert urlsplit(first["src"]).path in thumbnails, f"a tile loaded {first['src']}"
    return first["at"]


def test_a_library_of_500_paints_thumbnails_not_originals(browser, app, person, web_stack):
    thumbnails = seed_library(app.gateway, person)
    app.open("/")
    app.sign_in(person["email"], person["password"])
    expect(app.tile("photo-0039.jpg")).to_be_visible()
    signed_in = app.page.context.storage_state()  # the refresh token, kept by "keep me signed in"

    cold, warm, originals = [], [], []

    def watch_for_originals(request) -> None:
        path = urlsplit(request.url).path
        if path.startswith("/api/media/files/") and path not in thumbnails:
            originals.append(request.url)

    for _ in range(RUNS):
        context = browser.new_context(
            viewport=DESKTOP, base_url=web_stack.gateway, storage_state=signed_in
        )
        context.add_init_script(WATCH_FIRST_PICTURE)
        page = context.new_page()
        page.on("request", watch_for_originals)
        page.goto("/")
        cold.append(time_to_first_thumbnail(page, thumbnails))
        page.reload()
        warm.append(time_to_first_thumbnail(page, thumbnails))
        expect(page.locator(".tile-picture.is-loaded").first).to_be_visible()
        context.close()
    assert not originals, f"the grid fetched originals: {originals[:3]}"

    print(
        f"\nfirst thumbnail on a {LIBRARY_SIZE}-item library: cold median"
        f" {statistics.median(cold):.0f} ms ({', '.join(f'{t:.0f}' for t in cold)}),"
        f" warm median {statistics.median(warm):.0f} ms ({', '.join(f'{t:.0f}' for t in warm)})"
    )
