"""A person's whole day with the web app, in real Chromium against the real stack: register,
upload by drag-and-drop, see, play, describe, organise, delete, restore, sign out and back in.
Every screen passes axe with no serious or critical violation."""

import re

from playwright.sync_api import expect

THROTTLED_BYTES_PER_SECOND = 256 * 1024


def test_a_new_person_uploads_views_organises_and_finds_it_all_again(app, person, samples, payload):
    page = app.page
    app.open("/")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    app.check_accessibility("sign-in")
    app.screenshot("desktop-sign-in")

    page.get_by_role("link", name="Create an account").click()
    app.check_accessibility("register")
    app.register(person)
    expect(page.get_by_text("Nothing here yet.")).to_be_visible()
    app.check_accessibility("empty library")

    # Three real files dropped at once, sent slowly enough to watch the video's bar move.
    app.throttle_uploads(THROTTLED_BYTES_PER_SECOND)
    app.drop_files([payload(samples[kind]) for kind in ("png", "mp4", "wav")])
    video_bar = page.get_by_role("progressbar", name=f"Upload of {samples['mp4'].name}")
    page.wait_for_function(
        "(bar) => bar.value > 0 && bar.value < bar.max",
        arg=video_bar.element_handle(),
        timeout=30_000,
    )
    expect(page.get_by_role("progressbar", name="All uploads")).to_be_visible()
    app.screenshot("desktop-uploading")
    for kind in ("png", "mp4", "wav"):
        expect(app.upload_row(samples[kind].name)).to_have_attribute(
            "data-status", "done", timeout=60_000
        )
    app.throttle_uploads(None)

    for kind in ("png", "mp4", "wav"):
        expect(app.tile(samples[kind].name)).to_be_visible()
    expect(page.get_by_text("3 items")).to_be_visible()
    app.check_accessibility("library")
    app.screenshot("desktop-library")

    # The video plays from the signed URL and seeks with a Range request.
    ranges = []
    page.on("response", lambda r: "/api/media/files/" in r.url and ranges.append(r.status))
    app.tile(samples["mp4"].name).click()
    viewer = page.get_by_role("dialog", name=f"Video: {samples['mp4'].name}")
    expect(viewer).to_be_visible()
    video = viewer.locator("video")
    video.evaluate("(v) => v.play()")
    page.wait_for_function("(v) => v.currentTime > 0.3", arg=video.element_handle(), timeout=15_000)
    video.evaluate(
        "(v) => new Promise((done) => { v.addEventListener('seeked', done, { once: true });"
        " v.currentTime = 6; })"
    )
    assert video.evaluate("(v) => v.currentTime") >= 5.9
    assert 206 in ranges, f"no partial content among the file answers: {ranges}"
    app.check_accessibility("viewer")

    # A description, saved for good (checked again after signing back in).
    description = "Colour bars and a 440 Hz tone, for testing."
    viewer.get_by_label("Description").fill(description)
    viewer.get_by_role("button", name="Save").click()
    expect(viewer.get_by_text("Saved.")).to_be_visible()
    video.evaluate("(v) => v.pause()")
    app.screenshot("desktop-viewer-video")

    # → and ← go to the neighbours (newest first: the video finished last); Esc closes.
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("dialog", name=re.compile(r"^(Audio|Photo): "))).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(viewer).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    app.tile(samples["png"].name).click()
    expect(page.get_by_role("dialog", name=f"Photo: {samples['png'].name}")).to_be_visible()
    app.screenshot("desktop-viewer-photo")
    page.keyboard.press("Escape")

    # A collection, and the photo moved into it.
    app.nav("Collections")
    page.get_by_label("Name", exact=True).fill("Mountains")
    page.get_by_role("button", name="New collection").click()
    expect(page.get_by_role("link", name=re.compile("^Mountains"))).to_be_visible()
    app.check_accessibility("collections")
    app.nav("Library")
    app.select(samples["png"].name)
    page.get_by_role("button", name="Add to collection").click()
    picker = page.get_by_role("dialog", name="Add to collection")
    picker.get_by_role("button", name=re.compile("^Mountains")).click()
    expect(page.get_by_text("Added 1 item to “Mountains”.")).to_be_visible()
    app.nav("Collections")
    expect(page.get_by_role("link", name=re.compile("^Mountains 1 item"))).to_be_visible()
    app.screenshot("desktop-collections")
    page.get_by_role("link", name=re.compile("^Mountains")).click()
    expect(app.heading("Mountains")).to_be_visible()
    expect(app.tile(samples["png"].name)).to_be_visible()
    expect(page.get_by_text("1 item", exact=True)).to_be_visible()
    app.check_accessibility("collection")

    # Delete the audio, find it in the trash, restore it.
    app.nav("Library")
    app.select(samples["wav"].name)
    page.get_by_role("region", name="Selection").get_by_role("button", name="Delete").click()
    expect(app.tile(samples["wav"].name)).to_have_count(0)
    expect(page.get_by_text("Moved 1 item to the trash.")).to_be_visible()
    app.nav("Trash")
    expect(app.tile(samples["wav"].name)).to_be_visible()
    app.check_accessibility("trash")
    app.screenshot("desktop-trash")
    app.select(samples["wav"].name)
    page.get_by_role("button", name="Restore").click()
    expect(app.tile(samples["wav"].name)).to_have_count(0)
    expect(page.get_by_text("The trash is empty.")).to_be_visible()

    app.nav("Account")
    app.check_accessibility("account")
    app.screenshot("desktop-account")

    # Signed out and back in: the same library, the description kept.
    app.sign_out()
    assert app.refresh_token() is None
    app.sign_in(person["email"], person["password"])
    for kind in ("png", "mp4", "wav"):
        expect(app.tile(samples[kind].name)).to_be_visible()
    app.tile(samples["mp4"].name).click()
    expect(page.get_by_role("dialog").get_by_label("Description")).to_have_value(description)
