"""Tokens as a careful single-page app keeps them, against the real auth service: a 401 in the
middle of a session is answered by one refresh and a retry; a refresh token the server has
revoked lands on the sign-in page after exactly one refresh, never a loop. And a refused
upload shows the server's own words."""

import re

from playwright.sync_api import expect

LIST = re.compile(r"/api/media/media/\?")
REFRESH = "/api/auth/token/refresh/"


def spoil_next_list_request(app) -> None:
    """The next list request carries a token the media service refuses (its signature
    scrambled), so the 401 the app sees is the real service's answer."""

    def spoil(route):
        headers = {**route.request.headers}
        headers["authorization"] = headers["authorization"][:-6] + "AAAAAA"
        route.continue_(headers=headers)

    app.page.route(LIST, spoil, times=1)


def watch(app, path: str) -> list[int]:
    statuses: list[int] = []
    app.page.on("response", lambda r: path in r.url and statuses.append(r.status))
    return statuses


def test_a_401_mid_session_refreshes_once_and_carries_on(app, person):
    app.register(person)
    app.nav("Trash")
    expect(app.page.get_by_text("The trash is empty.")).to_be_visible()
    lists = watch(app, "/api/media/media/?")
    refreshes = watch(app, REFRESH)
    spoil_next_list_request(app)
    app.nav("Library")
    expect(app.page.get_by_text("Nothing here yet.")).to_be_visible()
    assert lists == [401, 200]
    assert refreshes == [200]
    app.nav("Trash")
    expect(app.page.get_by_text("The trash is empty.")).to_be_visible()
    assert refreshes == [200], "a fresh access token is reused, not refreshed again"


def test_a_revoked_refresh_token_lands_on_sign_in_without_a_loop(app, person, web_stack):
    app.register(person)
    revoked = app.page.request.post(
        f"{app.gateway}/api/auth/logout/", data={"refresh": app.refresh_token()}
    )
    assert revoked.status == 205, revoked.text()
    refreshes = watch(app, REFRESH)
    spoil_next_list_request(app)
    app.nav("Trash")
    expect(app.page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(
        app.page.get_by_text("Your session has ended. Sign in again to continue.")
    ).to_be_visible()
    app.page.wait_for_timeout(1500)  # room for a loop to show itself
    assert refreshes == [400]
    assert app.refresh_token() is None
    app.check_accessibility("sign-in after the session ended")


def test_a_reload_resumes_the_session_and_a_dead_one_asks_to_sign_in(app, person):
    app.register(person)
    refreshes = watch(app, REFRESH)
    app.page.reload()
    expect(app.heading("Library")).to_be_visible()
    assert refreshes == [200]
    app.page.request.post(f"{app.gateway}/api/auth/logout/", data={"refresh": app.refresh_token()})
    app.page.reload()
    expect(app.heading("Sign in")).to_be_visible()
    app.page.wait_for_timeout(1000)
    assert refreshes == [200, 400]


def test_a_refused_file_shows_the_servers_message(app, person, samples, payload):
    app.register(person)
    app.drop_files([payload(samples["fake"]), payload(samples["png"])])
    refused = app.upload_row(samples["fake"].name)
    expect(refused).to_have_attribute("data-status", "failed")
    expect(refused.locator(".upload-message")).to_contain_text("is not accepted")
    expect(app.upload_row(samples["png"].name)).to_have_attribute("data-status", "done")
    expect(app.tile(samples["png"].name)).to_be_visible()
    expect(app.tile(samples["fake"].name)).to_have_count(0)
    app.check_accessibility("uploads with a refused file")
    app.screenshot("desktop-refused-upload")


def test_the_app_page_carries_a_strict_content_security_policy(app):
    response = app.page.goto("/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response.headers["cache-control"] == "no-cache"
    asset = next(url for url in app.requests if "/assets/" in url and url.endswith(".js"))
    cached = app.page.request.get(asset)
    assert cached.headers["cache-control"] == "public, max-age=31536000, immutable"
