"""What many test modules share: the two users, real tokens, real media files and assertions.
Fixtures live in conftest.py, factories in factories.py."""

import io
import struct
import wave

from django.conf import settings
from PIL import Image
from rest_framework_simplejwt.tokens import AccessToken

ALICE = 101
BOB = 202


def access_token_for(user_id: int, **claims) -> str:
    """A real access token, minted by simplejwt under this service's own signing settings."""
    token = AccessToken()
    token["user_id"] = user_id
    token["email"] = f"user{user_id}@example.com"
    for claim, value in claims.items():
        token[claim] = value
    return str(token)


def stored_files(media_root) -> list:
    """Every stored upload, as a path under `media_root`. With MEDIA_STORAGE=s3, the objects
    under the test's prefix, and the multipart uploads still open there (as `<key>.multipart`:
    an upload that leaves one has left something behind)."""
    if settings.MEDIA_STORAGE == "s3":
        return sorted(media_root / name for name in stored_object_names())
    uploads = media_root / "uploads"
    return sorted(path for path in uploads.rglob("*") if path.is_file()) if uploads.exists() else []


def stored_object_names() -> list[str]:
    from media_handler.files.s3 import s3_storage

    storage = s3_storage()
    client = storage.connection.meta.client
    prefix = f"{settings.S3_PREFIX}/" if settings.S3_PREFIX else ""
    listed = client.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix)
    names = [entry["Key"][len(prefix) :] for entry in listed.get("Contents", [])]
    pending = client.list_multipart_uploads(Bucket=settings.S3_BUCKET, Prefix=prefix)
    names += [f"{upload['Key'][len(prefix) :]}.multipart" for upload in pending.get("Uploads", [])]
    return names


def stored_exists(storage_path: str) -> bool:
    from media_handler.files.storage import media_storage

    return media_storage().exists(storage_path)


def put_stored(storage_path: str, content: bytes) -> None:
    """Put a file straight into the storage in use (a file from before a check, an orphan)."""
    from django.core.files.base import ContentFile

    from media_handler.files.storage import media_storage

    assert media_storage().save(storage_path, ContentFile(content)) == storage_path


def stored_bytes(storage_path: str) -> bytes:
    """The stored file's bytes, from whichever storage is in use."""
    from media_handler.files.storage import open_stored

    with open_stored(storage_path) as stored:
        return stored.read()


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(width: int = 4, height: int = 5) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "blue").save(buffer, format="JPEG")
    return buffer.getvalue()


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(seconds: int = 2, timescale: int = 1000) -> bytes:
    """A minimal ISO BMFF file: `ftyp` (brand isom, which libmagic reads as video/mp4) and a
    `moov` whose `mvhd` holds the duration mutagen reports."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, timescale, seconds * timescale)
        + struct.pack(">IH10x", 0x00010000, 0x0100)
        + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
        + bytes(24)
        + struct.pack(">I", 2),
    )
    return ftyp + _box(b"moov", mvhd) + _box(b"mdat", bytes(64))


def assert_status(response, expected: int) -> None:
    """A status assertion that shows the body when it fails."""
    body = getattr(response, "data", None)
    if body is None and not getattr(response, "streaming", False):
        body = response.content[:500]
    assert response.status_code == expected, f"{response.status_code} != {expected}: {body}"


def anything_kept(upload) -> bool:
    """Whether any byte of a resumable `upload` is still kept: its file, or any object under
    its prefix in the bucket."""
    from media_handler.uploads.services import part_path

    if upload.chunks is None:
        return part_path(upload).exists()
    from media_handler.uploads.bucket import chunks_listed

    return bool(chunks_listed(upload.pk))
