"""Lighthouse on the signed-in library grid (make web-lighthouse): starts the real stack, makes
an account with LIGHTHOUSE_ITEMS photos through the public API, signs in with Debian's Chromium
(Playwright, a persistent profile with a DevTools port), then runs npm's `lighthouse` (web/perf/,
pinned) against that same browser, storage kept, so it audits the grid a signed-in person sees.
Prints the scores and the page weight; writes the JSON reports under var/lighthouse/.

A measurement, not a test: run it when the figures in docs/performance.md need refreshing."""

import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(HERE)]

from app import WebApp  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from stack import web_stack_spec  # noqa: E402

import devstack  # noqa: E402
from devstack import client, samples  # noqa: E402
from devstack.polling import wait_until  # noqa: E402
from devstack.ports import free_ports  # noqa: E402

LIGHTHOUSE = REPO / "web" / "perf" / "node_modules" / ".bin" / "lighthouse"
REPORTS = REPO / "var" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices")


def seed(gateway: str, person: dict, count: int) -> None:
    with requests.Session() as http:
        tokens = client.register(http, gateway, **person)

    def upload(index: int) -> None:
        name = f"photo-{index:04d}.jpg"
        with requests.Session() as http:
            photo = samples.jpeg_bytes(seed=index)
            response = client.upload(
                http, gateway, tokens, photo, name=name, filename=name, content_type="image/jpeg"
            )
        client.expect(response, 201)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(upload, range(count)))

    # The grid a person sees once the job worker has caught up: thumbnails, not originals.
    def pending() -> int:
        left, url = 0, f"{gateway}/api/media/media/?page_size=100"
        with requests.Session() as http:
            while url:
                page = http.get(url, headers=client.bearer(tokens), timeout=30).json()
                left += sum(item["processing"] == "pending" for item in page["results"])
                url = page["next"]
        return left

    if not wait_until(lambda: pending() == 0, timeout=600, interval=2):
        raise SystemExit("the job worker did not make the thumbnails within 10 minutes")


def lighthouse(url: str, port: int, preset: str) -> dict:
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = REPORTS / f"grid-{preset}.json"
    command = [
        str(LIGHTHOUSE),
        url,
        f"--port={port}",
        "--disable-storage-reset",
        f"--only-categories={','.join(CATEGORIES)}",
        "--output=json",
        f"--output-path={report}",
        "--quiet",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": "/usr/bin/chromium"}
    subprocess.run(command, check=True, env=env, timeout=300)
    return json.loads(report.read_text())


def summary(result: dict) -> str:
    scores = ", ".join(
        f"{name} {round(result['categories'][name]['score'] * 100)}" for name in CATEGORIES
    )
    audits = result["audits"]
    weight = audits["total-byte-weight"]["numericValue"] / 1024
    lcp = audits["largest-contentful-paint"]["numericValue"]
    tbt = audits["total-blocking-time"]["numericValue"]
    cpu = result["environment"]["benchmarkIndex"]
    return (
        f"{scores}; page weight {weight:.0f} KiB, LCP {lcp:.0f} ms, TBT {tbt:.0f} ms"
        f" (Lighthouse's CPU benchmark index {cpu:.0f})"
    )


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    items = int(os.environ.get("LIGHTHOUSE_ITEMS", "500"))
    with devstack.running(web_stack_spec(None, label="lighthouse")) as stack:
        gateway = stack.gateway
        person = {
            "first_name": "Light",
            "last_name": "House",
            "email": f"lighthouse-{uuid.uuid4().hex[:8]}@example.com",
            "password": "strongpassword",
        }
        seed(gateway, person, items)
        [port] = free_ports(1)
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(stack.workdir / "profile"),
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", f"--remote-debugging-port={port}"],
                base_url=gateway,
            )
            web_app = WebApp(context.pages[0], gateway, REPO / "docs" / "screenshots")
            web_app.open("/")
            web_app.sign_in(person["email"], person["password"])
            # Lighthouse opens a tab of its own: the signed-in tab would share its renderer.
            blank = context.new_page()
            web_app.page.close()
            for preset in ("mobile", "desktop"):
                print(
                    f"{items} items, {preset}: {summary(lighthouse(gateway + '/', port, preset))}"
                )
            blank.close()
            context.close()


if __name__ == "__main__":
    main()
