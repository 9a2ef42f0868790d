"""Uploads from the browser over tus (SPEC.md, "Resumable uploads") against the real server: a
connection dropped half-way resumes from the server's offset on its own, a paused upload
resumes where it stopped, the stored file is byte-exact, and a file already in the library is
skipped with a note."""

import hashlib

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
