"""migrate_storage: a populated store moved from local disk to the bucket (moto's S3 server) and
back, every copy's SHA-256 checked against the row, resumable, switching nothing."""

import hashlib
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from media_handler.files import storage
from media_handler.models import Media
from media_handler.tasks import make_derivatives

from . import samples
from .helpers import assert_status, wav_bytes


@pytest.fixture
def populated(alice, settings, object_store):
    """A local store with a processed picture (original, thumbnail, preview), a sound and a
    media in the trash; the bucket configured but not in use."""
    settings.MEDIA_STORAGE = "local"
    created = []
    for content, kind in [
        (samples.picture_bytes("PNG"), "image"),
        (wav_bytes(1), "audio"),
        (wav_bytes(2), "audio"),
    ]:
        form = {"name": "n", "type": kind, "file": SimpleUploadedFile("x", content)}
        response = alice.post("/api/media/", form, format="multipart")
        assert_status(response, 201)
        created.append(response.json())
    make_derivatives.run(media_id=created[0]["id"])
    assert_status(alice.delete(f"/api/media/{created[2]['id']}/"), 204)
    for name, value in object_store.items():
        setattr(settings, name, value)
    settings.S3_PREFIX = f"migrate-{created[0]['id']}"
    return created


def stored_paths() -> list[str]:
    paths = []
    for media in Media.objects.order_by("created_at"):
        paths += [p for p in (media.storage_path, media.thumbnail_path, media.preview_path) if p]
    return paths


def migrate(*arguments: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("migrate_storage", *arguments, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def bucket_checksum(storage_path: str) -> str | None:
    return storage.checksum_in(storage.storage_of("s3"), storage_path)


def test_every_file_is_copied_to_the_bucket_and_verified_and_nothing_is_switched(
    populated, settings
):
    rows_before = list(Media.objects.values().order_by("pk"))
    paths = stored_paths()
    assert len(paths) == 5  # three originals, a thumbnail and a preview

    output, _ = migrate("--to", "s3")

    assert "5 file(s) copied and verified, 0 already there and verified, 0 failed" in output
    for media in Media.objects.all():
        assert bucket_checksum(media.storage_path) == media.checksum_sha256
    local = storage.storage_of("local")
    for path in paths:
        assert bucket_checksum(path) == storage.checksum_in(local, path)
    assert list(Media.objects.values().order_by("pk")) == rows_before
    assert settings.MEDIA_STORAGE == "local"
    assert all((settings.MEDIA_ROOT / path).is_file() for path in paths)  # the source stays


def test_the_switched_service_serves_the_migrated_files(populated, settings, alice, anonymous):
    migrate("--to", "s3")
    settings.MEDIA_STORAGE = "s3"
    picture = alice.get(f"/api/media/{populated[0]['id']}/").json()

    for url in (picture["file"], picture["thumbnail"], picture["preview"]):
        response = anonymous.get(url)
        assert_status(response, 200)
    body = b"".join(anonymous.get(picture["file"]).streaming_content)
    assert hashlib.sha256(body).hexdigest() == picture["checksum_sha256"]


def test_a_second_run_copies_nothing_and_a_broken_copy_is_made_again(populated, settings):
    migrate("--to", "s3")
    damaged = Media.objects.order_by("created_at").first().storage_path
    s3 = storage.storage_of("s3")
    s3.delete(damaged)
    s3.save(damaged, SimpleUploadedFile("x", b"not the file"))

    output, _ = migrate("--to", "s3")

    assert "1 file(s) copied and verified, 4 already there and verified, 0 failed" in output
    assert bucket_checksum(damaged) == Media.objects.get(storage_path=damaged).checksum_sha256


def test_a_source_file_that_is_not_the_rows_stops_the_switch_and_the_rest_are_copied(
    populated, settings
):
    sound = Media.objects.get(pk=populated[1]["id"])
    (settings.MEDIA_ROOT / sound.storage_path).write_bytes(b"bit rot")
    gone = Media.objects.get(pk=populated[2]["id"])
    (settings.MEDIA_ROOT / gone.storage_path).unlink()

    with pytest.raises(CommandError, match="2 file"):
        migrate("--to", "s3")

    others = [
        path for path in stored_paths() if path not in (sound.storage_path, gone.storage_path)
    ]
    assert all(bucket_checksum(path) is not None for path in others)


def test_files_come_back_from_the_bucket_to_local_disk_verified(populated, settings):
    migrate("--to", "s3")
    paths = stored_paths()
    for path in paths:
        (settings.MEDIA_ROOT / path).unlink()

    output, _ = migrate("--to", "local")

    assert "5 file(s) copied and verified" in output
    for media in Media.objects.all():
        content = (settings.MEDIA_ROOT / media.storage_path).read_bytes()
        assert hashlib.sha256(content).hexdigest() == media.checksum_sha256
    assert all((settings.MEDIA_ROOT / path).is_file() for path in paths)


def test_files_uploaded_while_it_runs_are_copied_and_verified_too(
    populated, settings, alice, monkeypatch
):
    # The service keeps running during a migration: a media uploaded after the file list was
    # read is copied in a later pass, so "every file verified" holds when the run says so.
    from media_handler.management.commands import migrate_storage

    copy = migrate_storage.copy_between
    arrived = []

    def uploading_meanwhile(*args, **kwargs):
        if not arrived:
            settings.MEDIA_STORAGE = "local"  # the service still runs on local disk
            form = {"name": "late", "type": "audio", "file": SimpleUploadedFile("x", wav_bytes(3))}
            response = alice.post("/api/media/", form, format="multipart")
            assert_status(response, 201)
            arrived.append(response.json())
        return copy(*args, **kwargs)

    monkeypatch.setattr(migrate_storage, "copy_between", uploading_meanwhile)

    out, _ = migrate("--to", "s3")

    (late,) = arrived
    assert bucket_checksum(late["storage_path"]) == late["checksum_sha256"]
    assert "Every file is in s3 and verified" in out


def test_a_dry_run_copies_nothing(populated):
    output, _ = migrate("--to", "s3", "--dry-run")

    assert "5 of 5 file(s) would be copied to s3" in output
    assert all(bucket_checksum(path) is None for path in stored_paths())


def test_without_bucket_settings_nothing_starts(db, settings):
    settings.S3_BUCKET = ""
    with pytest.raises(CommandError, match="S3_BUCKET"):
        migrate("--to", "s3")
