"""The app by keyboard alone, and a collection's whole life (create, rename, open, delete)."""

import re

from playwright.sync_api import expect
from test_web_phone import seed_library


def test_the_library_works_from_the_keyboard(app, person, samples):
    seed_library(app.gateway, person, samples)
    page = app.page
    app.open("/")
    app.sign_in(person["email"], person["password"])
    tile = app.tile(samples["png"].name)
    expect(tile).to_be_visible()
    for _ in range(40):  # Tab through the page until the first tile has the focus
        page.keyboard.press("Tab")
        if tile.evaluate("(element) => element === document.activeElement"):
            break
    expect(tile).to_be_focused()
    page.keyboard.press("Enter")
    viewer = page.get_by_role("dialog", name=f"Photo: {samples['png'].name}")
    expect(viewer).to_be_visible()
    expect(viewer.get_by_role("button", name="Close (Esc)")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("dialog", name=f"Video: {samples['mp4'].name}")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(tile).to_be_focused()  # the focus comes back where it was
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Audio")).to_be_focused()
    page.keyboard.press("Enter")
    expect(app.tile(samples["wav"].name)).to_be_visible()
    expect(app.tile(samples["png"].name)).to_have_count(0)


def test_a_collection_is_made_renamed_opened_and_deleted_and_its_items_stay(app, person, samples):
    seed_library(app.gateway, person, samples)  # three items in "Trips"
    page = app.page
    app.open("/collections")
    app.sign_in(person["email"], person["password"])
    app.nav("Collections")
    page.get_by_role("button", name="Rename Trips").click()
    renamed = page.get_by_label("New name for “Trips”")
    renamed.fill("Summer trips")
    renamed.press("Enter")
    card = page.get_by_role("link", name=re.compile("^Summer trips 3 items"))
    expect(card).to_be_visible()
    card.click()
    expect(app.heading("Summer trips")).to_be_visible()
    expect(page.get_by_text("3 items")).to_be_visible()

    # Removing one item from the collection keeps it in the library.
    app.select(samples["wav"].name)
    page.get_by_role("button", name="Remove from collection").click()
    expect(app.tile(samples["wav"].name)).to_have_count(0)

    app.nav("Collections")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Summer trips").click()
    expect(page.get_by_text("No collections yet.")).to_be_visible()
    app.nav("Library")
    for kind in ("png", "mp4", "wav"):
        expect(app.tile(samples[kind].name)).to_be_visible()
