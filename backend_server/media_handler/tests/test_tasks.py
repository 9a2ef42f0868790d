"""The worker's jobs, run as the worker runs them: the task's own function."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from media_handler.models import Change, Collection, IdempotencyKey, Media, Upload
from media_handler.tasks import purge_user
from media_handler.uploads.services import part_path

from .factories import CollectionFactory, MediaFactory
from .helpers import ALICE, BOB, anything_kept, assert_status, png_bytes, stored_files


def upload(client, name: str) -> dict:
    form = {"name": name, "type": "image", "file": SimpleUploadedFile("p.png", png_bytes())}
    response = client.post("/api/media/", form, format="multipart")
    assert_status(response, 201)
    return response.json()


def begin_an_upload(client) -> None:
    """A resumable upload begun with its first bytes, never finished."""
    created = client.generic(
        "POST",
        "/api/media/uploads/",
        png_bytes()[:50],
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_LENGTH="100",
        HTTP_TUS_RESUMABLE="1.0.0",
        HTTP_UPLOAD_METADATA="filename YS5wbmc=,type aW1hZ2U=",
    )
    assert_status(created, 201)


@pytest.mark.django_db
def test_purge_user_removes_that_users_media_files_and_collections_only(
    alice, bob, settings, django_capture_on_commit_callbacks
):
    upload(alice, "in the library")
    trashed = upload(alice, "in the trash")
    assert_status(alice.delete(f"/api/media/{trashed['id']}/"), 204)
    CollectionFactory(user=ALICE)
    MediaFactory(user=ALICE)  # a record without a file
    bobs = upload(bob, "bob's")
    CollectionFactory(user=BOB)

    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows are gone
        purged = purge_user.run(user_id=ALICE)

    assert purged == 3
    assert not Media.objects.filter(user=ALICE).exists()
    assert not Collection.objects.filter(user=ALICE).exists()
    assert list(Media.objects.filter(user=BOB).values_list("pk", flat=True)) == [
        uuid.UUID(bobs["id"])
    ]
    assert Collection.objects.filter(user=BOB).count() == 1
    remaining = [
        path.relative_to(settings.MEDIA_ROOT).as_posix()
        for path in stored_files(settings.MEDIA_ROOT)
    ]
    assert remaining == [bobs["storage_path"]]


@pytest.mark.django_db
def test_purge_user_delivered_twice_finds_nothing_the_second_time(alice):
    upload(alice, "once")

    assert purge_user.run(user_id=ALICE) == 1
    assert purge_user.run(user_id=ALICE) == 0


@pytest.mark.django_db
def test_nothing_is_created_for_an_account_once_purged(alice, bob, settings):
    # A request that began before the account was deleted (an upload still arriving, its
    # token checked at its start) ends after the purge: it stores nothing.
    purge_user.run(user_id=ALICE)

    form = {"name": "late", "type": "image", "file": SimpleUploadedFile("p.png", png_bytes())}
    late_upload = alice.post("/api/media/", form, format="multipart")
    late_record = alice.post("/api/media/", {"name": "r", "type": "image"}, format="json")
    late_collection = alice.post("/api/media/collections/", {"name": "c"}, format="json")

    for response in (late_upload, late_record, late_collection):
        assert_status(response, 401)
        assert response.json()["code"] == "account_deleted"
    assert not Media.objects.filter(user=ALICE).exists()
    assert not Collection.objects.filter(user=ALICE).exists()
    assert stored_files(settings.MEDIA_ROOT) == []
    upload(bob, "bob's is another account")


@pytest.mark.django_db
def test_purge_user_removes_unfinished_uploads_and_kept_answers(alice, bob):
    for client in (alice, bob):
        begin_an_upload(client)
    upload(alice, "under a key")
    IdempotencyKey.objects.create(user=ALICE, key="k", fingerprint="f", created_at=timezone.now())
    alices_upload = Upload.objects.get(user=ALICE)

    purge_user.run(user_id=ALICE)

    assert not Upload.objects.filter(user=ALICE).exists()
    assert not anything_kept(alices_upload)
    assert not IdempotencyKey.objects.filter(user=ALICE).exists()
    assert Upload.objects.filter(user=BOB).count() == 1


@pytest.mark.django_db
@pytest.mark.local_storage
def test_an_upload_that_cannot_be_discarded_stops_no_other_part_of_the_purge(alice, caplog):
    for _ in range(2):
        begin_an_upload(alice)
    stuck, other = Upload.objects.filter(user=ALICE).order_by("created_at")
    # Its bytes cannot be deleted: where its file should be, something unlink refuses.
    part_path(stuck).unlink()
    part_path(stuck).mkdir()
    upload(alice, "a media")
    IdempotencyKey.objects.create(user=ALICE, key="k", fingerprint="f", created_at=timezone.now())

    assert purge_user.run(user_id=ALICE) == 1

    assert not Media.objects.filter(user=ALICE).exists()
    assert not Upload.objects.filter(pk=other.pk).exists()
    assert not anything_kept(other)
    assert not IdempotencyKey.objects.filter(user=ALICE).exists()
    assert not Change.objects.filter(user=ALICE).exists()
    # The one left is expired: the sweep of expired uploads takes it up again.
    assert Upload.objects.get(pk=stuck.pk).expires_at <= timezone.now()
    assert f"could not discard upload {stuck.pk}" in caplog.text


def test_purge_user_is_published_by_the_name_the_auth_service_uses():
    assert purge_user.name == "media.purge_user"
