"""tus 1.0.0 at /api/media/uploads/ (SPEC.md, "Resumable uploads")."""

import base64
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rehashes import PySha256
from rest_framework.test import APIClient

from media_handler.models import Collection, Media, Upload
from media_handler.uploads.services import part_path, received_file

from . import samples
from .helpers import (
    ALICE,
    access_token_for,
    anything_kept,
    assert_status,
    png_bytes,
    stored_files,
)

pytestmark = pytest.mark.django_db

UPLOADS = "/api/media/uploads/"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
CHUNK = "application/offset+octet-stream"


def metadata(**values: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
        for key, value in values.items()
    )


def create(client, length: int, body: bytes = b"", **headers):
    meta = headers.pop("meta", metadata(name="Holiday", type="image", filename="IMG_1.png"))
    extra = {"HTTP_UPLOAD_LENGTH": str(length), "HTTP_UPLOAD_METADATA": meta, **TUS, **headers}
    if body:
        return client.generic("POST", UPLOADS, body, content_type=CHUNK, **extra)
    return client.post(UPLOADS, **extra)


def location(response) -> str:
    assert_status(response, 201)
    return response["Location"]


def patch(client, url: str, offset: int, body: bytes, **headers):
    return client.generic(
        "PATCH", url, body, content_type=CHUNK, HTTP_UPLOAD_OFFSET=str(offset), **TUS, **headers
    )


def head(client, url: str):
    return client.head(url, **TUS)


def kept_bytes(upload: Upload) -> bytes:
    """The bytes the server counts as received for `upload` (as it is now: the first `offset`),
    on disk or in the bucket."""
    current = Upload.objects.get(pk=upload.pk)
    with received_file(current) as path:
        return path.read_bytes()[: current.offset]


def test_options_says_what_the_server_speaks(alice, settings):
    response = alice.options(UPLOADS)
    assert_status(response, 204)
    assert response["Tus-Resumable"] == "1.0.0"
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    }
    assert response["Tus-Max-Size"] == str(settings.MAX_UPLOAD_SIZE)
    assert response["Tus-Checksum-Algorithm"] == "sha1,sha256"


def test_an_upload_in_chunks_becomes_a_media_like_a_multipart_upload(alice, settings):
    content = samples.picture_bytes("PNG")
    created = create(alice, len(content))
    url = location(created)
    assert url.startswith("http://testserver/api/media/uploads/")
    assert created["Upload-Offset"] == "0"
    assert created["Upload-Expires"].endswith("GMT")

    first = patch(alice, url, 0, content[:1000])
    assert_status(first, 204)
    assert first["Upload-Offset"] == "1000"
    assert "Media-Id" not in first
    state = head(alice, url)
    assert_status(state, 200)
    assert (state["Upload-Offset"], state["Upload-Length"]) == ("1000", str(len(content)))
    assert state["Cache-Control"] == "no-store"

    last = patch(alice, url, 1000, content[1000:])
    assert_status(last, 204)
    assert last["Upload-Offset"] == str(len(content))
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert media["name"] == "Holiday"
    assert media["type"] == "image"
    assert media["mime_type"] == "image/png"
    assert media["size"] == len(content)
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    assert (media["width"], media["height"]) == (640, 480)
    assert media["processing"] == "pending"
    assert alice.get(media["file"]).getvalue() == content
    assert head(alice, url)["Media-Id"] == media["id"]
    assert not anything_kept(Upload.objects.get())
    assert len(stored_files(settings.MEDIA_ROOT)) == 1


def append_first_chunk(upload: Upload, body, length: int) -> Upload:
    """The service's PATCH at offset 0 with a request body the test shapes (no HTTP)."""
    from media_handler.uploads import services

    return services.upload_append(
        user_id=upload.user, upload_id=upload.pk, offset=0, body=body, body_length=length
    )


class DroppedConnection:
    """A request body whose client goes away after `keep` bytes."""

    def __init__(self, content: bytes, keep: int):
        self.content, self.keep, self.sent = content, keep, 0

    def read(self, size: int = -1) -> bytes:
        if self.sent >= self.keep:
            raise OSError("connection reset by peer")
        chunk = self.content[self.sent : min(self.keep, self.sent + size)]
        self.sent += len(chunk)
        return chunk

    readline = read  # a WSGI input has both (Django wraps it); a chunk is never read by lines


def test_a_dropped_chunk_keeps_what_arrived_and_the_checksum_stays_right(alice):

    content = samples.picture_bytes("PNG")
    url = location(create(alice, len(content)))
    upload = Upload.objects.get()

    append_first_chunk(upload, DroppedConnection(content, 1234), len(content))

    assert head(alice, url)["Upload-Offset"] == "1234"
    last = patch(alice, url, 1234, content[1234:])
    assert_status(last, 204)
    media = Media.objects.get(pk=last["Media-Id"])
    assert media.checksum_sha256 == hashlib.sha256(content).hexdigest()


class SlowBody:
    """A request body that arrives in small pieces, calling `on_read` before each."""

    def __init__(self, content: bytes, on_read, piece: int = 100):
        self.content, self.on_read, self.piece, self.sent = content, on_read, piece, 0

    def read(self, size: int = -1) -> bytes:
        self.on_read(self.sent)
        chunk = self.content[self.sent : self.sent + min(size, self.piece)]
        self.sent += len(chunk)
        return chunk


def test_a_slow_patch_renews_its_hold_so_no_other_takes_it_over(alice, settings):

    settings.RESUMABLE_UPLOAD_WRITE_TIMEOUT_SECONDS = 0  # renewed at every read
    content = samples.picture_bytes("PNG")
    location(create(alice, len(content) + 1))
    upload = Upload.objects.get()
    holds = []

    def on_read(sent: int) -> None:
        holds.append(Upload.objects.get().writing_since)

    append_first_chunk(upload, SlowBody(content, on_read), len(content))

    assert len(holds) > 3
    assert holds[1:] == sorted(set(holds[1:])), "each read after the first found a newer hold"


def test_a_patch_whose_stale_hold_was_taken_over_stops_and_leaves_the_file(alice, settings):
    from common.exceptions import ApplicationError

    settings.RESUMABLE_UPLOAD_WRITE_TIMEOUT_SECONDS = 0
    content = samples.picture_bytes("PNG")
    url = location(create(alice, len(content)))
    upload = Upload.objects.get()

    def on_read(sent: int) -> None:
        if sent >= 300:  # another PATCH takes the upload over
            Upload.objects.update(writing_since=timezone.now() + timedelta(hours=1))

    with pytest.raises(ApplicationError) as refused:
        append_first_chunk(upload, SlowBody(content, on_read), len(content))

    assert refused.value.status == 409
    assert kept_bytes(upload) == b"", "the bytes are the other PATCH's now"
    Upload.objects.update(writing_since=None)
    assert head(alice, url)["Upload-Offset"] == "0"


def test_creation_with_upload_takes_the_first_chunk(alice):
    content = png_bytes()
    response = create(alice, len(content) + 10, content)
    assert_status(response, 201)
    assert response["Upload-Offset"] == str(len(content))


def test_a_creation_whose_first_chunk_is_cut_off_leaves_no_upload(alice):
    # Its client never got the Location: a kept upload would only count against its limit.
    content = png_bytes()
    response = create(
        alice,
        len(content) + 10,
        content,
        **{"wsgi.input": DroppedConnection(content, 20)},
    )

    assert_status(response, 400)
    assert response.json()["code"] == "incomplete_body"
    assert Upload.objects.count() == 0
    assert Media.objects.count() == 0


def test_an_upload_begun_with_a_rehashes_state_finishes_with_its_checksum(alice):
    # Uploads begun before the running SHA-256 moved to OpenSSL hold rehashes' state.
    content = samples.picture_bytes("PNG")
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:1000]), 204)
    legacy = PySha256()
    legacy.update(content[:1000])
    Upload.objects.update(sha256_state=legacy.serialize())

    last = patch(alice, url, 1000, content[1000:])

    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()


def test_creation_with_the_whole_file_makes_the_media_at_once(alice):
    response = create(alice, len(png_bytes()), png_bytes())
    assert_status(response, 201)
    assert Media.objects.get().pk.hex == response["Media-Id"].replace("-", "")


def test_metadata_filename_names_the_media_and_a_mime_type_is_its_family(alice):
    response = create(
        alice, len(png_bytes()), png_bytes(), meta=metadata(filename="IMG_2.png", type="image/png")
    )
    assert Media.objects.get(pk=response["Media-Id"]).name == "IMG_2.png"


def test_metadata_filetype_declares_the_type_when_there_is_no_type(alice):
    # What tus-js-client's examples and tus-android-client send: filename and filetype only.
    response = create(
        alice,
        len(png_bytes()),
        png_bytes(),
        meta=metadata(filename="IMG_3.png", filetype="image/png"),
    )
    assert_status(response, 201)
    media = Media.objects.get(pk=response["Media-Id"])
    assert (media.name, media.type) == ("IMG_3.png", "image")


def test_metadata_filetype_the_bytes_are_not_is_400(alice):
    response = create(
        alice, len(png_bytes()), png_bytes(), meta=metadata(filename="a.png", filetype="video/mp4")
    )
    assert_status(response, 400)
    assert Media.objects.count() == 0


def test_metadata_puts_the_media_in_a_collection_with_a_description(alice):
    collection = Collection.objects.create(user=ALICE, name="Trip")
    meta = metadata(name="p", type="image", description="at sea", collection=str(collection.pk))
    response = create(alice, len(png_bytes()), png_bytes(), meta=meta)
    media = Media.objects.get(pk=response["Media-Id"])
    assert (media.collection_id, media.description) == (collection.pk, "at sea")


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        (metadata(name="p"), "type"),
        (metadata(type="image"), "name"),
        (metadata(name="p", type="document"), "type"),
        ("name !!!", "Upload-Metadata"),
    ],
    ids=["no-type", "no-name", "bad-type", "not-base64"],
)
def test_bad_metadata_is_400_before_any_byte(alice, meta, field):
    response = create(alice, 10, meta=meta)
    assert_status(response, 400)
    assert field in response.json()
    assert Upload.objects.count() == 0


def test_another_users_collection_is_400(alice, bob):
    collection = Collection.objects.create(user=ALICE + 1, name="Trip")
    response = create(
        alice, 10, meta=metadata(name="p", type="image", collection=str(collection.pk))
    )
    assert_status(response, 400)
    assert "collection" in response.json()


def test_an_upload_over_the_limit_is_413(alice, settings):
    settings.MAX_UPLOAD_SIZE = 100
    response = create(alice, 101)
    assert_status(response, 413)
    assert Upload.objects.count() == 0


def test_a_chunk_past_the_length_is_413(alice):
    url = location(create(alice, 10))
    assert_status(patch(alice, url, 0, b"x" * 11), 413)
    assert head(alice, url)["Upload-Offset"] == "0"


def test_a_refused_file_answers_the_last_patch_and_leaves_nothing(alice, settings):
    content = b"plain text, not a picture" * 10
    url = location(create(alice, len(content)))
    upload = Upload.objects.get()
    response = patch(alice, url, 0, content)
    assert_status(response, 400)
    assert response.json()["message"]
    assert Media.objects.count() == 0
    assert Upload.objects.count() == 0
    assert not anything_kept(upload)
    assert stored_files(settings.MEDIA_ROOT) == []


def before_making_media(monkeypatch, action) -> None:
    """Make every media the upload path creates first run `action()` (what happens meanwhile)."""
    from media_handler import services as media_services

    make_media = media_services.media_create

    def action_first(**kwargs):
        action()
        return make_media(**kwargs)

    monkeypatch.setattr(media_services, "media_create", action_first)


def take_over() -> None:
    """Another PATCH takes the upload over (its hold newer than the finishing one's)."""
    Upload.objects.update(writing_since=timezone.now() + timedelta(seconds=1))


def heads_while_finishing(monkeypatch, client, url: str) -> list:
    """Make every media the upload path creates first ask HEAD of `url`: the answers."""
    answers: list = []
    before_making_media(monkeypatch, lambda: answers.append(head(client, url)))
    return answers


def test_head_while_the_last_chunk_makes_the_media_is_not_yet_whole(alice, monkeypatch):
    # A client that lost the last PATCH's answer asks HEAD: until the media exists, the upload
    # must not look done (a file may yet be refused), and once done HEAD names the media.
    content = png_bytes()
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:10]), 204)
    answers = heads_while_finishing(monkeypatch, alice, url)

    assert_status(patch(alice, url, 10, content[10:]), 204)

    (during,) = answers
    assert during["Upload-Offset"] == "10"
    assert "Media-Id" not in during
    after = head(alice, url)
    assert after["Upload-Offset"] == str(len(content))
    assert after["Media-Id"] == str(Media.objects.get().pk)


@pytest.mark.local_storage  # counts the stored files on disk (the bucket holds its chunks too)
def test_a_last_chunk_whose_hold_was_taken_over_while_finishing_makes_no_media(
    alice, monkeypatch, settings
):
    # The media and the upload's end commit together or not at all: a finishing PATCH that
    # lost its hold (stale, taken over by a resume) leaves the upload to the new holder.
    content = png_bytes()
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:10]), 204)
    before_making_media(monkeypatch, take_over)

    response = patch(alice, url, 10, content[10:])

    assert_status(response, 409)
    assert response.json()["code"] == "upload_busy"
    assert Media.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == []
    upload = Upload.objects.get()
    assert (upload.offset, upload.media_id) == (10, None)


def test_a_taken_over_last_chunk_of_bytes_already_stored_keeps_their_file(
    alice, monkeypatch, settings
):
    # The undone media would have shared the first one's stored file: that file stays.
    content = png_bytes()
    first = alice.post(
        "/api/media/",
        {"name": "p", "type": "image", "file": SimpleUploadedFile("p.png", content)},
        format="multipart",
    )
    assert_status(first, 201)
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:10]), 204)
    before_making_media(monkeypatch, take_over)

    assert_status(patch(alice, url, 10, content[10:]), 409)

    assert list(Media.objects.values_list("pk", flat=True)) == [Media.objects.get().pk]
    assert alice.get(first.json()["file"]).status_code == 200


def test_the_sweep_leaves_an_upload_whose_last_chunk_is_being_written(alice, monkeypatch):
    # Claimed just before its expiry; the hourly sweep runs while the media is being made.
    from media_handler.uploads.services import uploads_sweep

    content = png_bytes()
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:10]), 204)

    def expired_and_swept() -> None:
        Upload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        assert uploads_sweep() == 0

    before_making_media(monkeypatch, expired_and_swept)

    last = patch(alice, url, 10, content[10:])

    assert_status(last, 204)
    assert Media.objects.filter(pk=last["Media-Id"]).exists()


def test_a_file_refused_at_its_last_chunk_never_looked_whole(alice, monkeypatch):
    content = b"plain text, not a picture" * 10
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:10]), 204)
    answers = heads_while_finishing(monkeypatch, alice, url)

    assert_status(patch(alice, url, 10, content[10:]), 400)

    assert [answer["Upload-Offset"] for answer in answers] == ["10"]
    assert_status(head(alice, url), 404)


def test_a_declared_type_the_bytes_are_not_is_400(alice):
    meta = metadata(name="p", type="video")
    response = create(alice, len(png_bytes()), png_bytes(), meta=meta)
    assert_status(response, 400)
    assert "type" in response.json()
    assert Media.objects.count() == 0


def test_a_wrong_offset_is_409(alice):
    url = location(create(alice, 10))
    patch(alice, url, 0, b"12345")
    response = patch(alice, url, 3, b"45678")
    assert_status(response, 409)
    assert response.json()["code"] == "offset_mismatch"
    assert head(alice, url)["Upload-Offset"] == "5"


def test_a_chunk_for_a_finished_upload_is_409_and_says_so(alice):
    content = png_bytes()
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content), 204)

    response = patch(alice, url, len(content), b"")

    assert_status(response, 409)
    assert response.json()["code"] == "upload_finished"
    assert Media.objects.count() == 1


def test_another_content_type_is_415(alice):
    url = location(create(alice, 10))
    response = alice.generic(
        "PATCH", url, b"12345", content_type="application/json", HTTP_UPLOAD_OFFSET="0", **TUS
    )
    assert_status(response, 415)


def test_a_missing_tus_version_is_412(alice):
    response = alice.post(UPLOADS, HTTP_UPLOAD_LENGTH="10")
    assert_status(response, 412)
    assert response["Tus-Version"] == "1.0.0"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_chunk_with_its_checksum_is_taken(alice, algorithm):
    url = location(create(alice, 10))
    digest = hashlib.new(algorithm, b"12345").digest()
    checksum = f"{algorithm} {base64.b64encode(digest).decode()}"
    response = patch(alice, url, 0, b"12345", HTTP_UPLOAD_CHECKSUM=checksum)
    assert_status(response, 204)
    assert response["Upload-Offset"] == "5"


def test_a_wrong_checksum_is_460_and_the_chunk_is_discarded(alice):
    url = location(create(alice, 15))
    patch(alice, url, 0, b"12345")
    wrong = "sha256 " + base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = patch(alice, url, 5, b"67890", HTTP_UPLOAD_CHECKSUM=wrong)
    assert response.status_code == 460
    assert response.reason_phrase == "Checksum Mismatch"
    assert response.json()["code"] == "checksum_mismatch"
    assert head(alice, url)["Upload-Offset"] == "5"
    assert kept_bytes(Upload.objects.get()) == b"12345"
    assert_status(patch(alice, url, 5, b"67890"), 204)  # the upload goes on


def test_a_first_chunk_with_a_wrong_checksum_leaves_no_upload(alice):
    wrong = "sha1 " + base64.b64encode(hashlib.sha1(b"other").digest()).decode()  # noqa: S324
    response = create(alice, 10, b"12345", HTTP_UPLOAD_CHECKSUM=wrong)
    assert response.status_code == 460
    assert Upload.objects.count() == 0


def test_an_unknown_checksum_algorithm_is_400(alice):
    url = location(create(alice, 10))
    response = patch(alice, url, 0, b"12345", HTTP_UPLOAD_CHECKSUM="md5 AAAA")
    assert_status(response, 400)


def test_termination_deletes_the_bytes(alice):
    url = location(create(alice, 10))
    patch(alice, url, 0, b"12345")
    upload = Upload.objects.get()
    assert anything_kept(upload)
    assert_status(alice.delete(url, **TUS), 204)
    assert not anything_kept(upload)
    assert_status(head(alice, url), 404)


def test_another_users_upload_is_404(alice, bob):
    url = location(create(alice, 10))
    assert_status(head(bob, url), 404)
    assert_status(patch(bob, url, 0, b"12345"), 404)
    assert_status(bob.delete(url, **TUS), 404)
    assert head(alice, url)["Upload-Offset"] == "0"


def test_every_request_needs_the_token(alice, anonymous):
    url = location(create(alice, 10))
    assert_status(anonymous.post(UPLOADS, HTTP_UPLOAD_LENGTH="10", **TUS), 401)
    assert_status(head(anonymous, url), 401)
    assert_status(patch(anonymous, url, 0, b"1"), 401)
    assert_status(anonymous.delete(url, **TUS), 401)


def test_an_expired_upload_is_410_and_swept(alice):
    url = location(create(alice, 10))
    patch(alice, url, 0, b"12345")
    upload = Upload.objects.get()
    Upload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_status(head(alice, url), 410)
    assert_status(patch(alice, url, 5, b"67890"), 410)

    call_command("sweep_expired", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert not Upload.objects.exists()
    assert not anything_kept(upload)


def test_a_user_holds_a_bounded_number_of_open_uploads(alice, bob, settings):
    settings.RESUMABLE_UPLOAD_MAX_OPEN = 2
    location(create(alice, 10))
    location(create(alice, 10))
    response = create(alice, 10)
    assert_status(response, 429)
    assert response.json()["code"] == "too_many_uploads"
    location(create(bob, 10))


def test_a_patch_while_another_holds_the_upload_is_409(alice):
    url = location(create(alice, 10))
    Upload.objects.update(writing_since=timezone.now())
    response = patch(alice, url, 0, b"12345")
    assert_status(response, 409)
    assert response.json()["code"] == "upload_busy"


def test_a_hold_whose_request_died_is_given_up(alice, settings):
    url = location(create(alice, 10))
    Upload.objects.update(
        writing_since=timezone.now()
        - timedelta(seconds=settings.RESUMABLE_UPLOAD_WRITE_TIMEOUT_SECONDS + 1)
    )
    assert_status(patch(alice, url, 0, b"12345"), 204)


@pytest.mark.local_storage  # a file on disk (the bucket: test_resumable_uploads_in_bucket)
def test_bytes_a_dead_writer_left_past_the_offset_never_reach_the_file(alice):
    content = samples.picture_bytes("PNG")
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:100]), 204)
    upload = Upload.objects.get()
    # A PATCH that died after writing past the offset it never moved on.
    with open(part_path(upload), "ab") as part:
        part.write(b"never arrived whole" * len(content))  # longer than the rest

    last = patch(alice, url, 100, content[100:])

    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert alice.get(media["file"]).getvalue() == content
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()


def test_method_override_tunnels_patch_through_post(alice):
    url = location(create(alice, 10))
    response = alice.generic(
        "POST",
        url,
        b"12345",
        content_type=CHUNK,
        HTTP_UPLOAD_OFFSET="0",
        HTTP_X_HTTP_METHOD_OVERRIDE="PATCH",
        **TUS,
    )
    assert_status(response, 204)
    assert response["Upload-Offset"] == "5"


def test_a_repeated_creation_with_its_idempotency_key_creates_one_upload(alice):
    first = create(alice, 10, HTTP_IDEMPOTENCY_KEY="u-1")
    again = create(alice, 10, HTTP_IDEMPOTENCY_KEY="u-1")
    assert again["Location"] == first["Location"]
    assert Upload.objects.count() == 1
    assert_status(create(alice, 11, HTTP_IDEMPOTENCY_KEY="u-1"), 422)


def test_a_repeated_creation_with_its_first_chunk_replays_only_for_the_same_bytes(alice):
    content = png_bytes()
    first = create(alice, len(content) + 10, content, HTTP_IDEMPOTENCY_KEY="u-2")
    again = create(alice, len(content) + 10, content, HTTP_IDEMPOTENCY_KEY="u-2")
    assert_status(again, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]

    # The same length and headers, other bytes: another request, though nothing but its
    # bytes tells it apart (no Upload-Checksum).
    other = bytes(reversed(content))
    refused = create(alice, len(content) + 10, other, HTTP_IDEMPOTENCY_KEY="u-2")

    assert_status(refused, 422)
    assert refused.json()["code"] == "idempotency_key_reused"
    assert Upload.objects.count() == 1
    assert kept_bytes(Upload.objects.get()) == content


def test_the_same_bytes_by_tus_and_multipart_are_stored_once(alice, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    alice.post(
        "/api/media/",
        {"name": "p", "type": "image", "file": SimpleUploadedFile("p", png_bytes())},
        format="multipart",
    )
    create(alice, len(png_bytes()), png_bytes())
    assert Media.objects.count() == 2
    assert len(stored_files(settings.MEDIA_ROOT)) == 1


def test_cors_exposes_the_tus_headers(alice):
    response = alice.options(UPLOADS, HTTP_ORIGIN="https://app.example")
    exposed = {
        name.strip().lower() for name in response["Access-Control-Expose-Headers"].split(",")
    }
    assert {"location", "upload-offset", "upload-length", "tus-resumable", "media-id"} <= exposed


@pytest.mark.django_db(transaction=True)
def test_two_patches_at_once_one_wins_the_other_is_409():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(ALICE)}")
    url = location(create(client, 100))
    start = threading.Barrier(2)

    def send(body: bytes) -> int:
        own = APIClient()
        own.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(ALICE)}")
        try:
            start.wait()
            return patch(own, url, 0, body).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(send, [b"a" * 50, b"b" * 50]))

    assert sorted(statuses) == [204, 409]
    upload = Upload.objects.get()
    assert upload.offset == 50
    assert kept_bytes(upload) in (b"a" * 50, b"b" * 50)
