"""The same bytes stored once per user, and bulk-check (SPEC.md, "Idempotency and
duplicates")."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media_handler import services
from media_handler.models import Media
from media_handler.services import media_purge
from media_handler.tasks import make_derivatives

from . import samples
from .helpers import assert_status, png_bytes, stored_files, wav_bytes

pytestmark = pytest.mark.django_db


def upload(client, content: bytes, *, name="Holiday", kind="image") -> dict:
    form = {"name": name, "type": kind, "file": SimpleUploadedFile("x", content)}
    response = client.post("/api/media/", form, format="multipart")
    assert_status(response, 201)
    return response.json()


upload_as = upload  # for the helpers whose argument is named `upload`


def test_the_same_file_uploaded_twice_is_stored_once_with_two_records(alice, settings):
    first = upload(alice, png_bytes(), name="one")
    second = upload(alice, png_bytes(), name="two")

    assert first["id"] != second["id"]
    assert first["storage_path"] == second["storage_path"]
    assert len(stored_files(settings.MEDIA_ROOT)) == 1
    assert alice.get(second["file"]).status_code == 200


def test_another_users_identical_file_is_stored_apart(alice, bob, settings):
    mine = upload(alice, png_bytes())
    bobs = upload(bob, png_bytes())

    assert mine["storage_path"] != bobs["storage_path"]
    assert len(stored_files(settings.MEDIA_ROOT)) == 2


def test_purging_one_record_keeps_the_file_the_other_uses(
    alice, settings, django_capture_on_commit_callbacks
):
    first = upload(alice, png_bytes())
    second = upload(alice, png_bytes())

    with django_capture_on_commit_callbacks(execute=True):
        media_purge(media_items=Media.objects.filter(pk=first["id"]))
    assert len(stored_files(settings.MEDIA_ROOT)) == 1
    assert alice.get(f"/api/media/{second['id']}/file/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        media_purge(media_items=Media.objects.filter(pk=second["id"]))
    assert stored_files(settings.MEDIA_ROOT) == []


def test_a_duplicate_of_a_processed_upload_shares_its_derivatives(
    alice, settings, django_capture_on_commit_callbacks
):
    content = samples.picture_bytes("PNG")
    first = upload(alice, content)
    make_derivatives.run(media_id=first["id"])

    second = upload(alice, content)

    assert second["processing"] == "ready"
    original = Media.objects.get(pk=first["id"])
    copy = Media.objects.get(pk=second["id"])
    assert (copy.thumbnail_path, copy.preview_path) == (
        original.thumbnail_path,
        original.preview_path,
    )
    assert len(stored_files(settings.MEDIA_ROOT)) == 3  # one original, its two derivatives
    with django_capture_on_commit_callbacks(execute=True):
        media_purge(media_items=[original])
    assert len(stored_files(settings.MEDIA_ROOT)) == 3
    assert alice.get(alice.get(f"/api/media/{second['id']}/").json()["thumbnail"]).status_code == (
        200
    )


def test_a_duplicate_of_a_file_in_the_trash_shares_it(alice, settings):
    first = upload(alice, wav_bytes(), kind="audio")
    alice.delete(f"/api/media/{first['id']}/")

    second = upload(alice, wav_bytes(), kind="audio")

    assert second["storage_path"] == first["storage_path"]
    assert len(stored_files(settings.MEDIA_ROOT)) == 1


def uploaded_while_this_one_is_stored(monkeypatch, client, content: bytes) -> list[dict]:
    """Makes the next upload's file store upload `content` first, through `client`: the same
    bytes sent twice at once, the other committing while this one's file is stored. Returns
    the list the other upload's answer goes into."""
    others: list[dict] = []
    store = services.store_upload

    def store_while_another_is_made(upload, **kwargs):
        stored = store(upload, **kwargs)
        monkeypatch.setattr(services, "store_upload", store)  # the other is stored as ever
        others.append(upload_as(client, content, name="the other"))
        return stored

    monkeypatch.setattr(services, "store_upload", store_while_another_is_made)
    return others


def test_an_upload_stored_while_the_same_bytes_were_made_shares_their_file(
    alice, settings, monkeypatch
):
    others = uploaded_while_this_one_is_stored(monkeypatch, alice, png_bytes())

    mine = upload(alice, png_bytes())

    assert mine["storage_path"] == others[0]["storage_path"]
    assert len(stored_files(settings.MEDIA_ROOT)) == 1
    assert b"".join(alice.get(mine["file"]).streaming_content) == png_bytes()


def test_an_upload_whose_twin_was_purged_before_it_could_share_keeps_its_own_file(
    alice, settings, monkeypatch, django_capture_on_commit_callbacks
):
    others = uploaded_while_this_one_is_stored(monkeypatch, alice, png_bytes())
    share = services._create_sharing

    def purge_the_twin_first(create, meanwhile):
        with django_capture_on_commit_callbacks(execute=True):
            media_purge(media_items=Media.objects.filter(pk=others[0]["id"]))
        return share(create, meanwhile)

    monkeypatch.setattr(services, "_create_sharing", purge_the_twin_first)

    mine = upload(alice, png_bytes())

    assert not Media.objects.filter(pk=others[0]["id"]).exists()
    assert len(stored_files(settings.MEDIA_ROOT)) == 1
    assert b"".join(alice.get(mine["file"]).streaming_content) == png_bytes()


def test_a_refused_duplicate_creates_nothing(alice, settings):
    upload(alice, png_bytes())
    response = alice.post(
        "/api/media/",
        {"name": "x", "type": "video", "file": SimpleUploadedFile("x", png_bytes())},
        format="multipart",
    )
    assert_status(response, 400)
    assert Media.objects.count() == 1


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("path", ["/api/media/bulk-check/", "/api/media/media/bulk-check"])
def test_bulk_check_names_the_checksums_the_caller_has(alice, path):
    mine = upload(alice, png_bytes())
    unknown = sha256(b"never uploaded")

    response = alice.post(
        path, {"checksums": [sha256(png_bytes()).upper(), unknown]}, format="json"
    )

    assert_status(response, 200)
    assert response.json() == {"existing": {sha256(png_bytes()): mine["id"]}}


def test_bulk_check_leaves_out_the_trash_and_other_users(alice, bob):
    trashed = upload(alice, wav_bytes(), kind="audio")
    alice.delete(f"/api/media/{trashed['id']}/")
    upload(bob, png_bytes())

    response = alice.post(
        "/api/media/bulk-check/",
        {"checksums": [sha256(wav_bytes()), sha256(png_bytes())]},
        format="json",
    )

    assert response.json() == {"existing": {}}


def test_bulk_check_of_a_thousand_checksums_is_one_query(alice, django_assert_num_queries):
    upload(alice, png_bytes())
    checksums = [sha256(str(index).encode()) for index in range(999)] + [sha256(png_bytes())]

    with django_assert_num_queries(1):
        response = alice.post("/api/media/bulk-check/", {"checksums": checksums}, format="json")

    assert len(response.json()["existing"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"checksums": ["0" * 64] * 1001},
        {"checksums": ["not-a-checksum"]},
        {"checksums": "0" * 64},
        {},
    ],
    ids=["too-many", "malformed", "not-a-list", "missing"],
)
def test_a_bad_bulk_check_is_400(alice, body):
    response = alice.post("/api/media/bulk-check/", body, format="json")
    assert_status(response, 400)
    assert response.json()["message"]
    assert all(isinstance(message, str) for message in response.json()["checksums"])


def test_bulk_check_needs_a_token(anonymous):
    assert_status(anonymous.post("/api/media/bulk-check/", {"checksums": []}, format="json"), 401)
