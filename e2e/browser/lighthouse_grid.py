"""Lighthouse on the signed-in library grid (make web-lighthouse): starts the real stack, makes
an account with LIGHTHOUSE_ITEMS photos through the public API, signs in with Debian's Chromium
(Playwright, a persistent profile with a DevTools port), then runs npm's `lighthouse` (web/perf/,
pinned) against that same browser, storage kept, so it audits the grid a signed-in person sees.
Prints the scores and the page weight; writes the JSON reports under var/lighthouse/.

A measurement, not a test: run it when the figures in docs/performance.md need refreshing."""

import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE.parent), str(HERE)]

from app import WebApp  # noqa: E402
from launcher import Databases, choose_ports, start_stack  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from stack import BROWSER_PORTS  # noqa: E402

LIGHTHOUSE = REPO / "web" / "perf" / "node_modules" / ".bin" / "lighthouse"
REPORTS = REPO / "var" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices")


def photo_bytes(index: int) -> bytes:
    """A 640 x 480 JPEG of its own colour: what a phone's small photo weighs, roughly."""
    image = Image.new("RGB", (640, 480), ((index * 37) % 256, (index * 91) % 256, 140))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def seed(gateway: str, person: dict, count: int) -> None:
    tokens = requests.post(f"{gateway}/api/auth/register/", json=person, timeout=10).json()
    headers = {"Authorization": f"Bearer {tokens['access']}"}

    def upload(index: int) -> None:
        name = f"photo-{index:04d}.jpg"
        response = requests.post(
            f"{gateway}/api/media/media/",
            data={"name": name, "type": "image"},
            files={"file": (name, photo_bytes(index), "image/jpeg")},
            headers=headers,
            timeout=60,
        )
        assert response.status_code == 201, response.text

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(upload, range(count)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    workdir = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    databases = Databases(workdir)
    stack = start_stack(workdir, choose_ports(BROWSER_PORTS), databases.env)
    try:
        stack.wait_until_healthy()
        gateway = f"http://127.0.0.1:{stack.gateway_port}"
        person = {
            "first_name": "Light",
            "last_name": "House",
            "email": f"lighthouse-{uuid.uuid4().hex[:8]}@example.com",
            "password": "strongpassword",
        }
        seed(gateway, person, items)
        port = free_port()
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(workdir / "profile"),
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
    finally:
        stack.stop()
        databases.drop()


if __name__ == "__main__":
    main()
