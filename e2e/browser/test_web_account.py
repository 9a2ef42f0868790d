"""The account page against the real auth service: where the person is signed in (this browser
marked, another device signed out from here and really refused afterwards), and a password
change that keeps this browser signed in, ends the other devices and makes the old password
useless."""

import requests
from playwright.sync_api import expect

from devstack import client

NEW_PASSWORD = "a-much-longer-Passphrase-2026"


def sign_in_elsewhere(gateway: str, person: dict, device: str) -> dict:
    """A second device signs in through the public API, naming itself."""
    with requests.Session() as http:
        response = http.post(
            f"{gateway}/api/auth/login/",
            json={
                "username": person["email"],
                "password": person["password"],
                "device_name": device,
            },
            timeout=30,
        )
    return client.expect(response, 200).json()


def refresh_status(gateway: str, refresh: str) -> int:
    with requests.Session() as http:
        response = http.post(
            f"{gateway}/api/auth/token/refresh/", json={"refresh": refresh}, timeout=30
        )
    return response.status_code


def sessions_card(app):
    return app.page.get_by_role("heading", name="Where you're signed in").locator("..")


def test_a_lost_phone_is_signed_out_from_the_account_page(app, person):
    app.register(person)
    phone = sign_in_elsewhere(app.gateway, person, "Old phone")
    app.nav("Account")
    card = sessions_card(app)
    lost = card.locator("li", has_text="Old phone")
    expect(lost).to_be_visible()
    expect(card.locator("li", has_text="This browser")).to_have_count(1)
    expect(lost.get_by_text("This browser")).to_have_count(0)

    lost.get_by_role("button", name="Sign out").click()

    expect(lost).to_have_count(0)
    assert refresh_status(app.gateway, phone["refresh"]) == 400
    app.page.reload()
    expect(sessions_card(app).locator("li")).to_have_count(1)
    app.check_accessibility("account page")


def test_a_password_change_ends_the_other_devices_and_keeps_this_browser(app, person):
    app.register(person)
    tablet = sign_in_elsewhere(app.gateway, person, "Tablet")
    app.nav("Account")
    form = app.page.get_by_role("heading", name="Password", exact=True).locator("..")
    form.get_by_label("Current password").fill(person["password"])
    form.get_by_label("New password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()

    expect(app.page.get_by_text("Password changed.")).to_be_visible()
    assert refresh_status(app.gateway, tablet["refresh"]) == 400
    app.nav("Library")  # this browser carries on: its session was not ended
    expect(app.heading("Library")).to_be_visible()
    app.sign_out()
    with requests.Session() as http:
        old = http.post(
            f"{app.gateway}/api/auth/login/",
            json={"username": person["email"], "password": person["password"]},
            timeout=30,
        )
    assert old.status_code == 400, old.text
    assert old.json()["code"] == "invalid_credentials"
    app.sign_in(person["email"], NEW_PASSWORD)


def test_a_wrong_current_password_is_refused_with_the_servers_message(app, person):
    app.register(person)
    app.nav("Account")
    form = app.page.get_by_role("heading", name="Password", exact=True).locator("..")
    form.get_by_label("Current password").fill("not-my-password-at-all")
    form.get_by_label("New password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()

    expect(form.get_by_role("alert")).to_be_visible()
    expect(app.page.get_by_text("Password changed.")).to_have_count(0)
    app.sign_out()
    app.sign_in(person["email"], person["password"])
