"""A signed-in person opens a library of 500 items: the first screen's tiles show the server's
thumbnails (never the originals), and the time from navigation to the first thumbnail painted
is printed, cold (a browser with nothing cached but the refresh token) and warm (a reload), as
figures for docs/performance.md. Speed is measured here, not asserted."""

import statistics
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests
from conftest import DESKTOP
from library import create_records
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

    def upload(index: int) -> None:
        name = f"photo-{index:04d}.jpg"
        with requests.Session() as http:
            photo = samples.jpeg_bytes(2016, 1512, seed=index)
            response = client.upload(
                http, gateway, tokens, photo, name=name, filename=name, content_type="image/jpeg"
            )
            client.expect(response, 201)

    create_records(
        gateway, tokens, [f"note-{index:04d}.jpg" for index in range(LIBRARY_SIZE - PHOTOS)]
    )
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(upload, range(PHOTOS)))

    def newest_photos() -> list[dict]:
        with requests.Session() as http:
            response = http.get(
                f"{gateway}/api/media/media/?page_size={PHOTOS}",
                headers=client.bearer(tokens),
                timeout=30,
            )
        return client.expect(response, 200).json()["results"]

    ready = lambda: all(item["processing"] == "ready" for item in newest_photos())  # noqa: E731
    assert wait_until(ready, timeout=300, interval=1), "thumbnails never became ready"
    return {urlsplit(item["thumbnail"]).path: item for item in newest_photos()}


def time_to_first_thumbnail(page, thumbnails: dict) -> float:
    page.wait_for_function("() => window.firstPicture !== null", timeout=60_000)
    first = page.evaluate("() => window.firstPicture")
    assert urlsplit(first["src"]).path in thumbnails, f"a tile loaded {first['src']}"
    return first["at"]


def test_a_library_of_500_paints_thumbnails_not_originals(browser, app, person, web_stack):
    thumbnails = seed_library(app.gateway, person)
    app.open("/")
    app.sign_in(person["email"], person["password"])
    # The newest photo, as the server orders them (uploaded four at a time: not always 0039).
    expect(app.tile(next(iter(thumbnails.values()))["name"])).to_be_visible()
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


def test_a_fresh_uploads_tile_fills_in_with_its_thumbnail(app, person, samples):
    app.register(person)
    thumbnails = []
    app.page.on(
        "response",
        lambda r: r.url.split("?")[0].endswith("/thumbnail/") and thumbnails.append(r.status),
    )
    with app.page.expect_file_chooser() as chooser:
        app.page.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files(str(samples["png"].path))
    expect(app.upload_row(samples["png"].name)).to_have_attribute("data-status", "done")

    tile = app.tile(samples["png"].name)
    expect(tile.locator("img.tile-picture.is-loaded")).to_be_visible(timeout=60_000)
    assert urlsplit(tile.locator("img.tile-picture").get_attribute("src")).path.endswith(
        "/thumbnail/"
    )
    assert 200 in thumbnails, thumbnails
