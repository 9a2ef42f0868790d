"""media_handler.files.storage: where uploads are kept, and what never reaches the storage."""

import errno
import hashlib
import os
import stat

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media_handler import services
from media_handler.files import storage

from .helpers import ALICE, assert_status, png_bytes, stored_bytes, stored_files, wav_bytes


def upload_png(client) -> dict:
    form = {"name": "p", "type": "image", "file": SimpleUploadedFile("p.png", png_bytes())}
    response = client.post("/api/media/", form, format="multipart")
    assert_status(response, 201)
    return response.json()


@pytest.mark.local_storage  # file modes: a local disk's
def test_a_stored_upload_is_readable_by_its_owner_and_group_only(alice, settings):
    stored = settings.MEDIA_ROOT / upload_png(alice)["storage_path"]

    assert stat.S_IMODE(stored.stat().st_mode) == 0o640


@pytest.mark.local_storage  # hard links: a local disk's
def test_an_upload_is_stored_when_its_temporary_file_cannot_be_linked(alice, settings, monkeypatch):
    """The temporary directory on another filesystem: Django's move or copy takes over."""

    def cross_device(source, destination):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)

    media = upload_png(alice)

    stored = settings.MEDIA_ROOT / media["storage_path"]
    assert stored.read_bytes() == png_bytes()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o640
    assert stored_files(settings.MEDIA_ROOT) == [stored]


@pytest.mark.parametrize(
    "storage_path",
    ["../outside.png", "uploads/../outside.png", "/etc/passwd", "outside.png", "uploads//x.png"],
)
def test_a_path_that_names_no_upload_never_reaches_the_storage(settings, storage_path):
    outside = settings.MEDIA_ROOT / "outside.png"
    outside.write_bytes(b"kept")

    with pytest.raises(ValueError, match="not a stored upload path"):
        storage.open_stored(storage_path)
    storage.delete_stored_file(storage_path)

    assert outside.read_bytes() == b"kept"


@pytest.mark.parametrize(
    ("content", "media_type", "facts"),
    [
        (png_bytes(3, 2), "image", {"width": 3, "height": 2}),
        (wav_bytes(0.5), "audio", {"duration": 0.5}),
    ],
    ids=["png", "wav"],
)
def test_a_file_not_received_over_http_is_inspected_and_stored_alike(
    db, settings, content, media_type, facts
):
    """A file the service has in memory (no temporary file, no hash taken while receiving)."""
    upload = SimpleUploadedFile("anything.bin", content)

    media = services.media_create(
        user_id=ALICE, data={"name": "kept", "type": media_type}, upload=upload
    )

    assert media.checksum_sha256 == hashlib.sha256(content).hexdigest()
    assert media.size == len(content)
    assert {field: getattr(media, field) for field in facts} == facts
    assert stored_bytes(media.storage_path) == content
    if settings.MEDIA_STORAGE == "local":
        assert stat.S_IMODE((settings.MEDIA_ROOT / media.storage_path).stat().st_mode) == 0o640
