import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from media_handler.models import Media

from .factories import MediaFactory
from .helpers import ALICE, assert_status, png_bytes, stored_exists, stored_files


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def age(path, seconds: int) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def upload(client, width: int = 3) -> dict:
    # Other bytes each time: the same bytes twice would share one stored file.
    form = {"name": "p", "type": "image", "file": SimpleUploadedFile("p.png", png_bytes(width))}
    response = client.post("/api/media/", form, format="multipart")
    assert_status(response, 201)
    return response.data


def trash(media_id, *, days_ago: int) -> None:
    Media.objects.filter(pk=media_id).update(
        is_deleted=True, deleted_at=timezone.now() - timedelta(days=days_ago)
    )


def test_purge_removes_rows_and_files_trashed_long_enough(
    alice, settings, django_capture_on_commit_callbacks
):
    old = upload(alice, 3)
    recent = upload(alice, 4)
    live = upload(alice, 5)
    trash(old["id"], days_ago=31)
    trash(recent["id"], days_ago=2)
    without_file = MediaFactory(user=ALICE)
    trash(without_file.pk, days_ago=40)

    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows are gone
        output = run("purge_deleted_media", "--older-than", "30")

    assert "2 media purged" in output
    assert set(Media.objects.values_list("pk", flat=True)) == {
        Media.objects.get(pk=recent["id"]).pk,
        Media.objects.get(pk=live["id"]).pk,
    }
    assert not Media.objects.filter(pk=without_file.pk).exists()
    assert not stored_exists(old["storage_path"])
    assert stored_exists(recent["storage_path"])
    assert stored_exists(live["storage_path"])


def test_purge_keeps_a_media_restored_after_its_batch_was_read(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    """The command reads a batch of trashed rows, then purges it: a media its owner restored
    in between is live again, and stays (row, file, and no tombstone in the feed)."""
    from media_handler.management.commands import purge_deleted_media

    media = upload(alice)
    trash(media["id"], days_ago=31)
    since = alice.get("/api/media/changes/").data["cursor"]
    purge = purge_deleted_media.media_purge

    def restored_first(**kwargs):
        assert_status(alice.post(f"/api/media/{media['id']}/restore/"), 200)
        return purge(**kwargs)

    monkeypatch.setattr(purge_deleted_media, "media_purge", restored_first)
    with django_capture_on_commit_callbacks(execute=True):
        output = run("purge_deleted_media", "--older-than", "30")

    assert "0 media purged" in output
    assert Media.objects.get(pk=media["id"]).is_deleted is False
    assert stored_exists(media["storage_path"])
    after = alice.get("/api/media/changes/", {"since": since}).data
    assert [(entry["id"], entry["op"]) for entry in after["changes"]] == [(media["id"], "upsert")]


def test_purge_keeps_a_media_trashed_again_since_its_batch_was_read(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    """Restored and trashed again in between: its time in the trash starts again."""
    from media_handler.management.commands import purge_deleted_media

    media = upload(alice)
    trash(media["id"], days_ago=31)
    purge = purge_deleted_media.media_purge

    def trashed_again_first(**kwargs):
        assert_status(alice.post(f"/api/media/{media['id']}/restore/"), 200)
        assert_status(alice.delete(f"/api/media/{media['id']}/"), 204)
        return purge(**kwargs)

    monkeypatch.setattr(purge_deleted_media, "media_purge", trashed_again_first)
    with django_capture_on_commit_callbacks(execute=True):
        run("purge_deleted_media", "--older-than", "30")

    assert Media.objects.get(pk=media["id"]).is_deleted is True
    assert stored_exists(media["storage_path"])


def test_purge_dry_run_changes_nothing(alice, settings):
    old = upload(alice)
    trash(old["id"], days_ago=10)
    assert "1 media would be purged" in run("purge_deleted_media", "--older-than", "7", "--dry-run")
    assert Media.objects.filter(pk=old["id"]).exists()
    assert stored_exists(old["storage_path"])


def test_purge_needs_a_sane_age(db):
    with pytest.raises(CommandError):
        run("purge_deleted_media", "--older-than", "-1")


@pytest.mark.local_storage  # a file outside the uploads on disk
def test_purge_never_touches_a_free_text_storage_path(
    db, settings, django_capture_on_commit_callbacks
):
    outside = settings.MEDIA_ROOT / "uploads" / "kept.png"
    outside.parent.mkdir(parents=True)
    outside.write_bytes(b"x")
    MediaFactory(
        user=ALICE,
        storage_path="uploads/kept.png",
        is_deleted=True,
        deleted_at=timezone.now() - timedelta(days=9),
    )
    with django_capture_on_commit_callbacks(execute=True):
        run("purge_deleted_media", "--older-than", "1")
    assert outside.exists()
    assert not Media.objects.exists()


@pytest.mark.local_storage  # ages files by their mtime (the bucket: test_object_storage)
def test_sweep_removes_old_orphans_and_keeps_everything_else(alice, settings):
    kept = upload(alice)
    kept_path = settings.MEDIA_ROOT / kept["storage_path"]
    orphan = kept_path.with_name("0" * 32 + ".png")
    young_orphan = kept_path.with_name("1" * 32 + ".png")
    claimed_by_free_text = kept_path.with_name("2" * 32 + ".png")
    for path in (orphan, young_orphan, claimed_by_free_text):
        path.write_bytes(b"orphan")
    MediaFactory(
        user=ALICE, storage_path=claimed_by_free_text.relative_to(settings.MEDIA_ROOT).as_posix()
    )
    stale_temp = settings.MEDIA_ROOT / ".incoming" / "abc.upload.png"
    fresh_temp = settings.MEDIA_ROOT / ".incoming" / "def.upload.png"
    stale_temp.write_bytes(b"partial")
    fresh_temp.write_bytes(b"partial")
    for path in (kept_path, orphan, claimed_by_free_text, stale_temp):
        age(path, settings.ORPHAN_GRACE_SECONDS + 60)

    output = run("sweep_orphan_files")

    assert "3 orphan file(s)" in output
    assert stored_files(settings.MEDIA_ROOT) == sorted([kept_path, young_orphan])
    assert not stale_temp.exists()
    assert fresh_temp.exists()


@pytest.mark.local_storage  # writes an orphan on disk (the bucket: test_object_storage)
def test_sweep_dry_run_removes_nothing(db, settings):
    orphan = settings.MEDIA_ROOT / "uploads" / "2026" / "01" / "01" / ("3" * 32 + ".png")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x")
    output = run("sweep_orphan_files", "--grace-seconds", "0", "--dry-run")
    assert "would remove" in output
    assert orphan.exists()
