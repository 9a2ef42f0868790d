"""Uploads from the browser over tus (SPEC.md, "Resumable uploads") against the real server: a
connection dropped half-way resumes from the server's offset on its own, a paused upload
resumes where it stopped, the stored file is byte-exact, and a file already in the library is
skipped with a note."""

import hashlib
import time
from urllib.parse import urljoin

import requests
from playwright.sync_api import expect

from devstack import client
from devstack.samples import wav_file

SIZE = 20 * 1024 * 1024  # three of the app's 8 MiB chunks
THROTTLED_BYTES_PER_SECOND = 3 * 1024 * 1024


class TusTraffic:
    """What the app sent to /api/media/uploads/: creations, and the offset of each chunk."""

    def __init__(self, page):
        self.creations = 0
        self.patch_offsets: list[int] = []
        self.acknowledged = 0
        self.log: list[str] = []
        page.on("request", self._request)
        page.on("response", self._response)

    def _request(self, request) -> None:
        if "/api/media/uploads/" not in request.url:
            return
        if request.method == "POST":
            self.creations += 1
        elif request.method == "PATCH":
            self.patch_offsets.append(int(request.headers["upload-offset"]))

    def _response(self, response) -> None:
        if "/api/media/" in response.url:
            self.log.append(f"{response.request.method} {response.url} {response.status}")
        if response.request.method == "PATCH" and response.status == 204:
            self.acknowledged = int(response.headers["upload-offset"])


def pick_file(app, path) -> None:
    with app.page.expect_file_chooser() as chooser:
        app.page.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files(str(path))


def stored_bytes_digest(app, person, name: str) -> str:
    with requests.Session() as http:
        tokens = client.login(http, app.gateway, person["email"], person["password"])
        listed = http.get(
            f"{app.gateway}/api/media/media/?search={name}",
            headers=client.bearer(tokens),
            timeout=30,
        ).json()["results"]
        assert [item["name"] for item in listed] == [name], listed
        body = http.get(listed[0]["file"], timeout=120).content
    return hashlib.sha256(body).hexdigest()


def wait_for(page, predicate, timeout_ms: int = 60_000) -> bool:
    """Lets the page run (its events reach Python) until `predicate()` is true."""
    for _ in range(timeout_ms // 100):
        if predicate():
            return True
        page.wait_for_timeout(100)
    return predicate()


def test_a_dropped_connection_resumes_from_the_servers_offset(app, person, tmp_path):
    recording = wav_file(tmp_path / "long-recording.wav", SIZE)
    app.register(person)
    traffic = TusTraffic(app.page)
    app.throttle_uploads(THROTTLED_BYTES_PER_SECOND)
    pick_file(app, recording)

    # The first chunk is acknowledged; then the cable is pulled mid-second-chunk for 3 s.
    assert wait_for(app.page, lambda: traffic.acknowledged > 0), (
        traffic.log,
        app.upload_row(recording.name).inner_text(),
    )
    app.page.wait_for_timeout(1000)
    app.throttle_uploads(THROTTLED_BYTES_PER_SECOND, offline=True)
    app.page.wait_for_timeout(3000)
    app.throttle_uploads(None)

    expect(app.upload_row(recording.name)).to_have_attribute("data-status", "done", timeout=120_000)
    assert traffic.creations == 1, "the upload started over instead of resuming"
    assert any(offset > 0 for offset in traffic.patch_offsets), traffic.patch_offsets
    expected = hashlib.sha256(recording.read_bytes()).hexdigest()
    assert stored_bytes_digest(app, person, recording.name) == expected


def test_a_paused_upload_resumes_where_it_stopped(app, person, tmp_path):
    recording = wav_file(tmp_path / "interview.wav", SIZE)
    app.register(person)
    traffic = TusTraffic(app.page)
    app.throttle_uploads(THROTTLED_BYTES_PER_SECOND)
    pick_file(app, recording)
    row = app.upload_row(recording.name)
    assert wait_for(app.page, lambda: traffic.acknowledged > 0), "no chunk was acknowledged"

    row.get_by_role("button", name=f"Pause {recording.name}").click()
    expect(row).to_have_attribute("data-status", "paused")
    paused_at = traffic.acknowledged
    app.page.wait_for_timeout(1500)
    row.get_by_role("button", name=f"Resume {recording.name}").click()
    app.throttle_uploads(None)

    expect(row).to_have_attribute("data-status", "done", timeout=120_000)
    assert traffic.creations == 1
    assert min(o for o in traffic.patch_offsets if o > 0) >= paused_at - 1, traffic.patch_offsets
    expected = hashlib.sha256(recording.read_bytes()).hexdigest()
    assert stored_bytes_digest(app, person, recording.name) == expected


def test_a_file_already_in_the_library_is_skipped_with_a_note(app, person, samples):
    app.register(person)
    pick_file(app, samples["png"].path)
    expect(app.upload_row(samples["png"].name)).to_have_attribute("data-status", "done")
    app.page.get_by_role("button", name="Clear", exact=True).click()

    pick_file(app, samples["png"].path)
    row = app.upload_row(samples["png"].name)
    expect(row).to_have_attribute("data-status", "skipped")
    expect(row.get_by_text("Already in your library")).to_be_visible()
    expect(app.page.get_by_text("1 item", exact=True)).to_be_visible()


# Signing out mid-upload (AppShell stops its queue): a connection at this speed is still sending
# the second 8 MiB chunk while the person walks to the Account screen and signs out.
SIGN_OUT_BYTES_PER_SECOND = 1024 * 1024
# How long a stray upload is given to show itself once the next person has signed in: the app
# retries a failed chunk after 0, 1, 3, 5 and 10 s (tus-upload.js), so one that went on would
# have resumed within 20 s of the sign-out, and unthrottled it sends 20 MiB in a second or two.
STRAY_UPLOAD_WINDOW_SECONDS = 30


def library_names(gateway: str, tokens: dict) -> list[str]:
    with requests.Session() as http:
        response = http.get(
            f"{gateway}/api/media/media/", headers=client.bearer(tokens), timeout=30
        )
        return [item["name"] for item in client.expect(response, 200).json()["results"]]


def tus_keys(app) -> list[str]:
    return app.page.evaluate(
        "() => Object.keys(localStorage).filter((key) => key.startsWith('tus::'))"
    )


def test_signing_out_mid_upload_stops_it_for_good(app, person, tmp_path):
    recording = wav_file(tmp_path / "private-recording.wav", SIZE)
    app.register(person)
    with requests.Session() as http:
        first = client.login(http, app.gateway, person["email"], person["password"])
        second = client.register(http, app.gateway, first_name="Alan", last_name="Turing")
    traffic = TusTraffic(app.page)
    created: list[str] = []  # the upload's URL on the server

    def on_response(response) -> None:
        if response.request.method == "POST" and response.url.endswith("/api/media/uploads/"):
            created.append(urljoin(response.url, response.headers["location"]))

    app.page.on("response", on_response)
    app.throttle_uploads(SIGN_OUT_BYTES_PER_SECOND)
    pick_file(app, recording)

    # Mid-way for certain: the server holds the first chunk, and the second one is being sent.
    assert wait_for(
        app.page,
        lambda: traffic.acknowledged > 0 and traffic.acknowledged in traffic.patch_offsets,
    ), traffic.log
    head = requests.head(created[0], headers={**client.bearer(first), **client.TUS}, timeout=30)
    assert 0 < int(head.headers["upload-offset"]) < SIZE, head.headers
    assert tus_keys(app), "the unfinished upload kept no URL to resume from"
    expect(app.upload_row(recording.name)).to_have_attribute("data-status", "uploading")

    app.sign_out()
    kept_after_sign_out = tus_keys(app)
    app.throttle_uploads(None)  # were it still going, it would now finish at once
    app.sign_in(second["user"]["email"], client.PASSWORD)
    expect(app.page.get_by_text("Nothing here yet.")).to_be_visible()

    def stray_upload() -> bool:
        return bool(library_names(app.gateway, first) or library_names(app.gateway, second))

    deadline = time.monotonic() + STRAY_UPLOAD_WINDOW_SECONDS
    while time.monotonic() < deadline and not stray_upload():
        app.page.wait_for_timeout(500)  # the page runs on, its requests reach `traffic`
    assert not stray_upload(), (
        "after the sign-out, the file went on up",
        {"first": library_names(app.gateway, first), "second": library_names(app.gateway, second)},
        traffic.log,
    )
    with requests.Session() as http:
        signed_in_again = client.login(http, app.gateway, person["email"], person["password"])
    assert library_names(app.gateway, signed_in_again) == [], traffic.log
    # What was sent of it is gone from the server too, deleted with the person's own token
    # before the sign-out ended their session.
    gone = requests.head(
        created[0], headers={**client.bearer(signed_in_again), **client.TUS}, timeout=30
    )
    assert gone.status_code == 404, (gone.status_code, traffic.log)
    assert library_names(app.gateway, second) == [], traffic.log
    assert kept_after_sign_out == [], "the signed-out person's upload could still be resumed"
    assert tus_keys(app) == [], "the next person's browser holds the last one's upload"
