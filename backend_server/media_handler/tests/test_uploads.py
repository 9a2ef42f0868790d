import errno
import hashlib
import io
import os
import re
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files import uploadhandler
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test.client import encode_multipart
from PIL import Image

from media_handler import services
from media_handler.files import upload_handlers
from media_handler.files.storage import LocalMediaStorage
from media_handler.models import Collection, Media

from . import samples
from .factories import CollectionFactory, MediaFactory
from .helpers import (
    ALICE,
    assert_status,
    jpeg_bytes,
    mp4_bytes,
    png_bytes,
    stored_bytes,
    stored_exists,
    stored_files,
    wav_bytes,
)

CHUNK = upload_handlers.UPLOAD_CHUNK_BYTES
STORED_PATH = re.compile(r"^uploads/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.(\w+)$")


def upload(client, url, content: bytes, *, filename="photo.png", media_type="image", **fields):
    form = {
        "name": "Holiday",
        "type": media_type,
        "file": SimpleUploadedFile(filename, content),
        **fields,
    }
    return client.post(url, form, format="multipart")


def incoming(settings) -> list:
    return list((settings.MEDIA_ROOT / ".incoming").iterdir())


@pytest.mark.parametrize(
    ("content", "media_type", "mime_type", "extension", "facts"),
    [
        (png_bytes(3, 2), "image", "image/png", "png", {"width": 3, "height": 2}),
        (jpeg_bytes(4, 5), "image", "image/jpeg", "jpg", {"width": 4, "height": 5}),
        (wav_bytes(0.5), "audio", "audio/x-wav", "wav", {"duration": 0.5}),
        (mp4_bytes(2), "video", "video/mp4", "mp4", {"duration": 2.0}),
    ],
    ids=["png", "jpeg", "wav", "mp4"],
)
def test_upload_stores_the_file_and_its_facts(
    alice, layout, settings, content, media_type, mime_type, extension, facts
):
    response = upload(
        alice,
        layout["media"],
        content,
        filename="holiday.bin",
        media_type=media_type,
        size="1",
        storage_path="../../elsewhere",
        description="Beach",
    )
    assert_status(response, 201)
    body = response.data
    assert body["mime_type"] == mime_type
    assert body["size"] == len(content)
    assert body["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    assert STORED_PATH.match(body["storage_path"]).group(1) == extension
    assert {key: body[key] for key in facts} == facts
    assert body["description"] == "Beach"
    assert body["file"].startswith(f"http://testserver/api/media/files/{body['id']}/?expires=")
    assert stored_bytes(body["storage_path"]) == content
    assert incoming(settings) == []


def test_upload_of_many_chunks_is_hashed_and_stored_whole(alice, settings):
    # About 2.9 MB of noise after a WAV header: read in several chunks, each of them different,
    # so a chunk hashed twice, lost or out of order changes the checksum.
    header_and_silence = wav_bytes(30.0, rate=48_000)
    content = header_and_silence[:44] + os.urandom(len(header_and_silence) - 44)
    response = upload(alice, "/api/media/", content, filename="long.wav", media_type="audio")
    assert_status(response, 201)
    assert response.data["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    assert stored_bytes(response.data["storage_path"]) == content


def test_multipart_seed_example_with_only_name_type_and_file(alice):
    form = {"name": "photo", "type": "image", "file": SimpleUploadedFile("p.jpg", jpeg_bytes())}
    response = alice.post("/api/media/media/", form, format="multipart")
    assert_status(response, 201)
    assert response.data["user"] == ALICE


def test_upload_into_own_collection_with_mobile_form_nulls(alice, layout):
    collection = CollectionFactory(user=ALICE)
    response = upload(
        alice, layout["media"], png_bytes(), collection=str(collection.pk), description="null"
    )
    assert_status(response, 201)
    assert response.data["collection"] == str(collection.pk)
    assert response.data["description"] == ""


def test_mobile_app_upload_to_the_bare_path_verbatim(alice, settings):
    """`POST /api/media` (no slash) with the app's form: every field, unset ones as "null"."""
    form = {
        "name": "Holiday",
        "type": "image",
        "description": "null",
        "collection": "null",
        "file": SimpleUploadedFile("IMG_0001.PNG", png_bytes(), content_type="image/png"),
    }
    response = alice.post("/api/media", form, format="multipart")
    assert_status(response, 201)
    assert response.data["collection"] is None
    assert response.data["file"].startswith("http://testserver/api/media/files/")
    assert [path.name for path in stored_files(settings.MEDIA_ROOT)] == [
        response.data["storage_path"].rsplit("/", 1)[1]
    ]


def test_upload_into_another_users_collection_is_400_and_stores_nothing(alice, layout, settings):
    collection = CollectionFactory(user=ALICE + 1)
    response = upload(alice, layout["media"], png_bytes(), collection=str(collection.pk))
    assert_status(response, 400)
    assert "collection" in response.data
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not Media.objects.exists()


@pytest.mark.parametrize(
    ("content", "declared", "field", "mentions"),
    [
        (b"just some text\n" * 10, "image", "file", "text/plain"),
        (png_bytes(), "video", "type", "image/png"),
        (wav_bytes(), "image", "type", "audio/x-wav"),
        (mp4_bytes(), "audio", "type", "video/mp4"),
        (b"<html><script>alert(1)</script></html>", "image", "file", "text/html"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
            "image",
            "file",
            "svg",
        ),
        (b"#!/bin/sh\nrm -rf /\n", "audio", "file", "text/x-shellscript"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "image", "file", "application/pdf"),
        # An image to libmagic and to Pillow, which decodes it with Ghostscript (PostScript).
        (samples.dos_eps_bytes(), "image", "file", "image/x-eps"),
    ],
    ids=[
        "text-as-image",
        "png-as-video",
        "wav-as-image",
        "mp4-as-audio",
        "html",
        "svg",
        "shell",
        "pdf",
        "eps",
    ],
)
def test_refused_or_mismatched_content_is_400_naming_it(
    alice, layout, settings, content, declared, field, mentions
):
    response = upload(alice, layout["media"], content, media_type=declared)
    assert_status(response, 400)
    assert mentions in response.data[field][0]
    assert mentions in response.data["message"]
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not Media.objects.exists()


def test_an_audio_upload_never_opens_another_file_of_the_server(alice, layout, tmp_path):
    # ffprobe, reading what mutagen cannot, is held to the sniffed type's demuxer: an "MP3"
    # that is an HLS playlist of a file on the server does not learn how long that file is.
    target = tmp_path / "someone-elses.mp4"
    target.write_bytes(mp4_bytes())
    content = samples.mp3_that_is_a_playlist(str(target), seconds=4242.5)

    response = upload(alice, layout["media"], content, media_type="audio")

    assert_status(response, 201)
    assert response.data["mime_type"] == "audio/mpeg"
    assert response.data["duration"] is None


def test_raw_aac_is_stored_with_its_duration(alice, layout):
    # libmagic names it audio/x-hx-aac-adts; mutagen knows it only by a .aac name.
    adts = samples.ffmpeg_output(
        ".aac", "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", "-f", "adts"
    )
    response = upload(alice, layout["media"], adts, filename="voice-note", media_type="audio")

    assert_status(response, 201)
    assert response.data["mime_type"] == "audio/x-hx-aac-adts"
    assert response.data["storage_path"].endswith(".aac")
    assert response.data["duration"] == pytest.approx(2.0, abs=0.1)


def test_a_media_stored_as_a_type_no_longer_accepted_can_still_be_edited(alice, layout):
    legacy = MediaFactory(
        user=ALICE,
        mime_type="image/x-icon",
        storage_path="uploads/legacy.ico",
        checksum_sha256="0" * 64,
    )
    response = alice.patch(f"{layout['media']}{legacy.pk}/", {"name": "renamed"}, format="json")
    assert_status(response, 200)
    assert response.data["name"] == "renamed"


def test_empty_file_is_400(alice, layout, settings):
    response = upload(alice, layout["media"], b"")
    assert_status(response, 400)
    assert "file" in response.data
    assert not Media.objects.exists()


@pytest.mark.parametrize(
    "client_name", ["../../../etc/passwd.png", "..\\..\\evil.png", "/abs/olute.png", "a\x00b.png"]
)
def test_client_file_name_never_reaches_the_disk(alice, layout, settings, client_name):
    response = upload(alice, layout["media"], png_bytes(), filename=client_name)
    assert_status(response, 201)
    assert STORED_PATH.match(response.data["storage_path"])
    files = stored_files(settings.MEDIA_ROOT)
    assert len(files) == 1
    assert files[0].is_relative_to(settings.MEDIA_ROOT / "uploads")


def test_upload_over_the_limit_by_content_length_is_413(alice, layout, settings):
    settings.MAX_UPLOAD_SIZE = 1000
    response = upload(alice, layout["media"], b"\x89PNG" + bytes(200_000))
    assert_status(response, 413)
    assert response.data["code"] == "upload_too_large"
    assert "1000 bytes" in response.data["message"]
    assert stored_files(settings.MEDIA_ROOT) == []
    assert incoming(settings) == []
    assert not Media.objects.exists()


def test_upload_over_the_limit_while_streaming_is_413_and_removes_the_partial_file(
    alice, layout, settings
):
    settings.MAX_UPLOAD_SIZE = 1000
    response = upload(alice, layout["media"], png_bytes(200, 200) + bytes(5000))
    assert_status(response, 413)
    assert incoming(settings) == []
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not Media.objects.exists()


@pytest.mark.parametrize("cut_at", [0.1, 0.5, 0.99])
def test_upload_cut_off_before_its_end_is_400_and_stores_nothing(alice, layout, settings, cut_at):
    """A client hanging up mid-upload: the gateway streams the body, so the service reads fewer
    bytes than the Content-Length said."""
    boundary = "cut-off-boundary"
    form = {"name": "Holiday", "type": "image", "file": SimpleUploadedFile("p.png", png_bytes())}
    form["file"].file.write(bytes(200_000))
    body = encode_multipart(boundary, form)
    sent = body[: int(len(body) * cut_at)]

    response = alice.generic(
        "POST",
        layout["media"],
        sent,
        content_type=f"multipart/form-data; boundary={boundary}",
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": io.BytesIO(sent)},
    )

    assert_status(response, 400)
    assert "ended before its declared length" in response.json()["detail"]
    assert not Media.objects.exists()
    assert incoming(settings) == []
    assert stored_files(settings.MEDIA_ROOT) == []


def test_whole_body_sent_the_same_way_is_stored(alice, layout, settings):
    boundary = "whole-boundary"
    form = {"name": "Holiday", "type": "image", "file": SimpleUploadedFile("p.png", png_bytes())}
    body = encode_multipart(boundary, form)

    response = alice.generic(
        "POST",
        layout["media"],
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
        **{"wsgi.input": io.BytesIO(body)},
    )

    assert_status(response, 201)
    assert response.json()["file"] is not None


def test_upload_at_the_limit_is_accepted(alice, layout, settings):
    content = png_bytes()
    settings.MAX_UPLOAD_SIZE = len(content)
    assert_status(upload(alice, layout["media"], content), 201)


def test_decompression_bomb_is_400(alice, layout, settings, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    response = upload(alice, layout["media"], png_bytes(30, 30))
    assert_status(response, 400)
    assert "pixels" in response.data["file"][0]
    assert stored_files(settings.MEDIA_ROOT) == []


def test_unreadable_metadata_stays_null(alice, layout, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffprobe either
    truncated = mp4_bytes()[:40]  # the ftyp box and a cut-off moov
    response = upload(alice, layout["media"], truncated, filename="clip.mp4", media_type="video")
    assert_status(response, 201)
    assert response.data["mime_type"] == "video/mp4"
    assert response.data["duration"] is None


def test_database_failure_after_the_file_was_written_leaves_no_file(alice, settings, monkeypatch):
    def failing_create(**fields):
        assert stored_exists(fields["storage_path"])  # the file came first
        raise OperationalError("database went away")

    monkeypatch.setattr(Media.objects, "create", failing_create)
    response = upload(alice, "/api/media/", png_bytes())
    assert_status(response, 503)
    assert response.data["code"] == "database_unavailable"
    assert stored_files(settings.MEDIA_ROOT) == []
    monkeypatch.undo()
    assert not Media.objects.exists()


def test_disk_full_while_streaming_is_507_and_removes_the_partial_file(
    alice, settings, monkeypatch
):
    def no_space(self, raw_data, start):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(uploadhandler.TemporaryFileUploadHandler, "receive_data_chunk", no_space)
    response = upload(alice, "/api/media/", png_bytes())
    assert_status(response, 507)
    assert response.data["code"] == "insufficient_storage"
    assert incoming(settings) == []
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not Media.objects.exists()


def fail_django_writes(monkeypatch, error: OSError, *, when) -> None:
    """Django's temporary-file handler raises `error` on a chunk for which `when(raw_data,
    start)` is true, and writes the others: a disk that fails part-way."""
    django_write = uploadhandler.TemporaryFileUploadHandler.receive_data_chunk

    def write(self, raw_data, start):
        if when(raw_data, start):
            raise error
        return django_write(self, raw_data, start)

    monkeypatch.setattr(uploadhandler.TemporaryFileUploadHandler, "receive_data_chunk", write)


def assert_nothing_stored(settings) -> None:
    assert incoming(settings) == []
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not Media.objects.exists()


def test_disk_full_midway_through_a_long_upload_is_507_and_removes_the_partial_file(
    alice, settings, monkeypatch
):
    """The disk fills up on the second of four chunks: the error happens while the next chunk
    is being read, and surfaces on the request once that chunk is handed over."""
    written = []

    def after_one_chunk(raw_data, start):
        written.append(start)
        return len(written) > 1

    fail_django_writes(monkeypatch, OSError(errno.ENOSPC, "No space left"), when=after_one_chunk)
    content = wav_bytes(0.5) + os.urandom(3 * CHUNK + 1000)
    response = upload(alice, "/api/media/", content, filename="long.wav", media_type="audio")
    assert_status(response, 507)
    assert response.data["code"] == "insufficient_storage"
    assert written[0] == 0  # the first chunk was written ...
    assert len(written) == 2  # ... and the second refused
    assert_nothing_stored(settings)


def test_quota_exceeded_on_the_last_chunk_is_507_and_removes_the_partial_file(
    alice, settings, monkeypatch
):
    fail_django_writes(
        monkeypatch,
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        when=lambda raw_data, start: len(raw_data) < CHUNK,
    )
    content = wav_bytes(0.5) + os.urandom(2 * CHUNK)
    response = upload(alice, "/api/media/", content, filename="long.wav", media_type="audio")
    assert_status(response, 507)
    assert incoming(settings) == []
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not Media.objects.exists()


def test_other_write_error_while_streaming_is_500_and_removes_the_partial_file(
    alice, settings, monkeypatch
):
    fail_django_writes(
        monkeypatch, OSError(errno.EIO, "Input/output error"), when=lambda raw_data, start: start
    )
    alice.raise_request_exception = False
    content = wav_bytes(0.5) + os.urandom(3 * CHUNK)
    response = upload(alice, "/api/media/", content, filename="long.wav", media_type="audio")
    assert response.status_code == 500
    assert incoming(settings) == []
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not Media.objects.exists()


def test_upload_crossing_the_limit_after_several_chunks_is_413_and_removes_the_partial_file(
    alice, settings
):
    settings.MAX_UPLOAD_SIZE = 2 * CHUNK + 1000
    content = wav_bytes(0.5) + os.urandom(4 * CHUNK)
    response = upload(alice, "/api/media/", content, filename="long.wav", media_type="audio")
    assert_status(response, 413)
    assert response.data["code"] == "upload_too_large"
    assert incoming(settings) == []
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not Media.objects.exists()


def test_uploads_received_at_the_same_time_are_each_stored_whole(settings):
    """As a threaded worker receives them: several uploads at once, their chunks written by the
    same process's writer threads, each file and checksum its own."""
    contents = [os.urandom(3 * CHUNK + n * 7919) for n in range(6)]

    def receive(content: bytes):
        handler = upload_handlers.HashingTemporaryFileUploadHandler()
        handler.new_file("file", "upload.bin", "application/octet-stream", len(content))
        for start in range(0, len(content), CHUNK):
            handler.receive_data_chunk(content[start : start + CHUNK], start)
        received = handler.file_complete(len(content))
        assert received is not None
        try:
            return received.read(), received.sha256_hexdigest  # type: ignore[attr-defined]
        finally:
            received.close()

    with ThreadPoolExecutor(max_workers=len(contents)) as requests:
        received = list(requests.map(receive, contents))
    assert received == [(content, hashlib.sha256(content).hexdigest()) for content in contents]
    assert incoming(settings) == []


@pytest.mark.local_storage  # a full local disk (the bucket has test_object_storage's faults)
def test_disk_full_while_storing_is_507_and_leaves_no_file(alice, settings, monkeypatch):
    def no_space(storage, name, content):
        destination = settings.MEDIA_ROOT / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LocalMediaStorage, "_save", no_space)
    response = upload(alice, "/api/media/", png_bytes())
    assert_status(response, 507)
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not Media.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_collection_deleted_during_upload_leaves_neither_file_nor_row(
    settings, monkeypatch, api_client_for
):
    """A real IntegrityError from the database: the row points at a collection that is gone
    by the time the transaction commits."""
    vanished = Collection(user=ALICE, name="deleted meanwhile")
    monkeypatch.setattr(services, "_owned_collection", lambda **kwargs: vanished)
    response = upload(api_client_for(ALICE), "/api/media/", png_bytes())
    assert_status(response, 400)
    assert "collection" in response.data
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not Media.objects.exists()


def test_type_of_a_stored_file_cannot_be_changed_to_another_family(alice, layout):
    media = upload(alice, layout["media"], png_bytes()).data
    url = f"{layout['media']}{media['id']}/"
    response = alice.patch(url, {"type": "audio"}, format="json")
    assert_status(response, 400)
    assert "image/png" in response.data["type"][0]
    response = alice.patch(url, {"name": "renamed", "type": "image"}, format="json")
    assert_status(response, 200)
    assert response.data["name"] == "renamed"
    assert response.data["file"]


def test_ffprobe_reads_the_duration_mutagen_cannot(alice):
    # Matroska: mutagen has no reader for it.
    mkv = samples.ffmpeg_output(
        ".mkv", "-f", "lavfi", "-i", "testsrc=s=64x48:r=10:d=2", "-c:v", "ffv1"
    )
    response = upload(alice, "/api/media/", mkv, filename="clip.mkv", media_type="video")
    assert_status(response, 201)
    assert response.data["mime_type"] == "video/x-matroska"
    assert response.data["duration"] == 2.0


def png_declaring(width: int, height: int, *, broken_text_chunk: bool = False) -> bytes:
    """A PNG whose header declares `width` x `height` pixels, with one row of real data (the
    rest is never reached: the header is all that is read), and a tEXt chunk whose CRC is
    wrong when `broken_text_chunk`."""

    def chunk(kind: bytes, data: bytes, *, crc_ok: bool = True) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc ^ (not crc_ok))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    text = chunk(b"tEXt", b"Comment\x00hello", crc_ok=not broken_text_chunk)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + text
        + chunk(b"IDAT", zlib.compress(b"\x00" + b"\x00" * 3 * min(width, 64)))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("broken_text_chunk", [False, True], ids=["plain", "bad CRC tEXt"])
def test_an_image_declaring_too_many_pixels_is_400_however_it_is_damaged(
    alice, layout, settings, broken_text_chunk
):
    bomb = png_declaring(30_000, 30_000, broken_text_chunk=broken_text_chunk)
    response = upload(alice, layout["media"], bomb)
    assert_status(response, 400)
    assert stored_files(settings.MEDIA_ROOT) == []
    assert Media.objects.count() == 0


@pytest.mark.parametrize(
    "content",
    [
        png_declaring(4, 4, broken_text_chunk=True),
        b"\xff\xd8\xff\xe0" + b"\x00" * 200,
    ],
    ids=["bad CRC", "JPEG marker and junk"],
)
def test_an_image_the_decoder_cannot_open_is_400(alice, layout, settings, content):
    response = upload(alice, layout["media"], content)
    assert_status(response, 400)
    assert "cannot be read" in response.json()["file"][0]
    assert stored_files(settings.MEDIA_ROOT) == []


@pytest.mark.parametrize(
    ("format_name", "mime_type"), [("HEIF", "image/heic"), ("AVIF", "image/avif")]
)
def test_phone_photo_formats_are_read(alice, layout, format_name, mime_type):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format=format_name)
    response = upload(alice, layout["media"], buffer.getvalue(), filename="IMG_0001.heic")
    assert_status(response, 201)
    assert (response.json()["width"], response.json()["height"]) == (40, 30)
    assert response.json()["mime_type"] in (mime_type, "image/heif")
