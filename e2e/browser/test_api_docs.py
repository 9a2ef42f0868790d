"""The API documentation and the Django admin, opened through the gateway in Debian's Chromium as
on a machine without internet: every request the pages make goes to the gateway (WebApp records
any other host as a problem), Swagger UI renders every operation of its schema, and
the admin's login page is styled by its own stylesheet."""

import re

import pytest
import requests
from playwright.sync_api import expect

# conftest.py's desktop viewport, the one open_page uses.
DESKTOP_WIDTH = 1280
HASHED_BASE_CSS = re.compile(r"/api/auth/static/admin/css/base\.[0-9a-f]{12}\.css$")


def operations(gateway: str, service: str) -> list[tuple[str, str]]:
    schema = requests.get(f"{gateway}/api/{service}/schema/?format=json", timeout=20).json()
    return [
        (method.upper(), path)
        for path, methods in schema["paths"].items()
        for method in methods
        if method in ("get", "post", "put", "patch", "delete")
    ]


@pytest.mark.parametrize("service", ["auth", "media"])
def test_swagger_ui_renders_every_operation_offline(open_page, web_stack, service):
    expected = operations(web_stack.gateway, service)

    docs = open_page(f"/api/{service}/docs/")

    blocks = docs.page.locator(".opblock")
    expect(blocks).to_have_count(len(expected), timeout=20_000)
    shown = {
        (
            block.locator(".opblock-summary-method").inner_text().strip(),
            block.locator(".opblock-summary-path").get_attribute("data-path"),
        )
        for block in blocks.all()
    }
    assert shown == set(expected)
    # The servers list offers the gateway's prefix of the service.
    expect(docs.page.locator(".servers select")).to_contain_text(f"/api/{service}")
    docs.screenshot(f"api-docs-{service}")


def test_admin_login_page_is_styled_offline(open_page):
    admin = open_page("/api/auth/admin/login/")

    expect(admin.page.get_by_role("button", name="Log in")).to_be_visible()
    stylesheets = admin.page.evaluate(
        "() => [...document.styleSheets].filter(s => s.href).map(s => [s.href, s.cssRules.length])"
    )
    # base.css as collectstatic named it (its content's hash), applied, and cached for good.
    base = [href for href, _ in stylesheets if HASHED_BASE_CSS.search(href)]
    assert base, stylesheets
    assert all(rules > 0 for _, rules in stylesheets), stylesheets
    cached = requests.get(base[0], timeout=20)
    assert cached.status_code == 200
    assert "immutable" in cached.headers["Cache-Control"]
    # base.css lays the login form out in a box of its own width, not the page's.
    width = admin.page.locator("#container").evaluate("e => e.getBoundingClientRect().width")
    assert width < DESKTOP_WIDTH / 2, width
