"""Browser fixtures: the real stack (stack.py), Debian's Chromium driven by Playwright (never
Playwright's own browser download), real sample files (devstack.samples), and a page object for
the web app."""

import base64
import json
import uuid
from pathlib import Path

import pytest
from app import WebApp
from playwright.sync_api import sync_playwright
from stack import running_web_stack  # noqa: F401  (the web_stack fixture)

from devstack.samples import landscape_png, pattern_mp4, text_as_png, tone_wav

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
AXE_SOURCE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # Root in a container has no user namespace for Chromium's sandbox; tests only.
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    return {
        "png": landscape_png(folder / "mountains.png"),
        "mp4": pattern_mp4(folder / "test-pattern.mp4"),
        "wav": tone_wav(folder / "tone.wav"),
        "fake": text_as_png(folder / "notes.png"),
    }


def new_app(browser, web_stack, viewport) -> WebApp:
    context = browser.new_context(
        viewport=viewport,
        base_url=web_stack.gateway,
        device_scale_factor=2 if viewport == PHONE else 1,
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
        color_scheme="light",
    )
    # Injected by the browser itself (not a <script>), so the page's CSP stays as served.
    context.add_init_script(path=str(AXE_SOURCE))
    return WebApp(context.new_page(), web_stack.gateway, SCREENSHOTS)


@pytest.fixture
def open_app(browser, web_stack):
    """Opens the app in a fresh browser context of the given size; checks each page at the end."""
    opened: list[WebApp] = []

    def open_at(viewport: dict) -> WebApp:
        opened.append(new_app(browser, web_stack, viewport))
        return opened[-1]

    yield open_at
    for web_app in opened:
        web_app.page.context.close()
        web_app.assert_no_page_errors()


@pytest.fixture
def app(open_app) -> WebApp:
    return open_app(DESKTOP)


@pytest.fixture
def phone_app(open_app) -> WebApp:
    return open_app(PHONE)


@pytest.fixture
def open_page(browser, web_stack):
    """Opens a path of the stack that is not the web app (no axe) in a fresh browser context;
    at the end, no request has left the gateway and no script has failed."""
    opened: list[WebApp] = []

    def open_at(path: str) -> WebApp:
        context = browser.new_context(viewport=DESKTOP, base_url=web_stack.gateway)
        opened.append(WebApp(context.new_page(), web_stack.gateway, SCREENSHOTS))
        opened[-1].open(path)
        return opened[-1]

    yield open_at
    for page in opened:
        page.page.context.close()
        page.assert_no_page_errors()
        assert page.requests, "the page made no request"


@pytest.fixture
def person() -> dict:
    return {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": f"grace-{uuid.uuid4().hex[:10]}@example.com",
        "password": "strongpassword",
    }


def file_payload(sample) -> dict:
    return {
        "name": sample.name,
        "mimeType": sample.mime_type,
        "base64": base64.b64encode(sample.path.read_bytes()).decode(),
    }


@pytest.fixture
def payload():
    return file_payload


def pretty(value) -> str:
    return json.dumps(value, indent=2)[:4000]
