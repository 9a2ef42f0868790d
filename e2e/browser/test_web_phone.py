"""The app on a phone-sized screen: the same screens, a tab bar instead of the sidebar, the
viewer full screen with swipe, no serious accessibility violation. Screenshots for the docs."""

import re

import requests
from playwright.sync_api import expect

from devstack import client


def seed_library(gateway: str, person: dict, samples: dict) -> None:
    """An account with a few items, made through the public API as any client would."""
    with requests.Session() as http:
        tokens = client.register(http, gateway, **person)
        collection = client.expect(
            http.post(
                f"{gateway}/api/media/collections/",
                json={"name": "Trips"},
                headers=client.bearer(tokens),
                timeout=client.TIMEOUT,
            ),
            201,
        ).json()
        for kind, media_type in [("wav", "audio"), ("mp4", "video"), ("png", "image")]:
            sample = samples[kind]
            response = client.upload(
                http,
                gateway,
                tokens,
                sample.path.read_bytes(),
                name=sample.name,
                media_type=media_type,
                filename=sample.name,
                content_type=sample.mime_type,
                data={"collection": collection["id"]},
                path="/api/media/media/",
            )
            client.expect(response, 201)


def test_a_phone_sees_and_browses_the_library(phone_app, person, samples, web_stack):
    seed_library(phone_app.gateway, person, samples)
    page = phone_app.page
    phone_app.open("/")
    phone_app.check_accessibility("phone sign-in")
    phone_app.screenshot("phone-sign-in")
    phone_app.sign_in(person["email"], person["password"])
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(phone_app.tile(samples["png"].name)).to_be_visible()
    phone_app.check_accessibility("phone library")
    phone_app.screenshot("phone-library")
    page.emulate_media(color_scheme="dark")
    phone_app.screenshot("phone-library-dark")  # after the colour transitions have settled
    phone_app.check_accessibility("phone library, dark")
    page.emulate_media(color_scheme="light")

    phone_app.tile(samples["png"].name).click()
    viewer = page.get_by_role("dialog", name=f"Photo: {samples['png'].name}")
    expect(viewer).to_be_visible()
    phone_app.check_accessibility("phone viewer")
    phone_app.screenshot("phone-viewer")

    # A swipe to the left shows the next (older) item.
    stage = viewer.locator(".viewer-stage")
    box = stage.bounding_box()
    y = box["y"] + box["height"] / 2
    stage.dispatch_event(
        "pointerdown", {"pointerType": "touch", "clientX": box["x"] + 300, "clientY": y}
    )
    stage.dispatch_event(
        "pointerup", {"pointerType": "touch", "clientX": box["x"] + 60, "clientY": y}
    )
    expect(page.get_by_role("dialog", name=f"Video: {samples['mp4'].name}")).to_be_visible()
    page.keyboard.press("Escape")

    phone_app.nav("Collections")
    expect(page.get_by_role("link", name=re.compile("^Trips 3 items"))).to_be_visible()
    phone_app.check_accessibility("phone collections")
    phone_app.screenshot("phone-collections")
    phone_app.nav("Account")
    phone_app.check_accessibility("phone account")
    phone_app.screenshot("phone-account")
