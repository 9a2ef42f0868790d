"""HTTP helpers the suites share: accounts, tokens, uploads and real media files."""

import struct
import uuid
import zlib

import requests
from api import wav_bytes  # noqa: F401 -- e2e/api.py's builder, re-exported for the suites

PASSWORD = "strongpassword"  # the seed README's example password
TIMEOUT = 20


def unique_email(prefix: str = "rel") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def register(http: requests.Session, base: str, email: str | None = None, **extra) -> dict:
    """A new account, signed in: `{"user", "access", "refresh"}`."""
    body = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": email or unique_email(),
        "password": PASSWORD,
    } | extra
    response = http.post(f"{base}/api/auth/register/", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(tokens: dict | str) -> dict:
    access = tokens if isinstance(tokens, str) else tokens["access"]
    return {"Authorization": f"Bearer {access}"}


def upload(
    http: requests.Session,
    base: str,
    tokens: dict,
    content: bytes,
    *,
    name: str = "photo",
    media_type: str = "image",
    filename: str = "photo.png",
    content_type: str = "application/octet-stream",
    data: dict | None = None,
) -> requests.Response:
    return http.post(
        f"{base}/api/media/",
        headers=bearer(tokens),
        data={"name": name, "type": media_type, **(data or {})},
        files={"file": (filename, content, content_type)},
        timeout=TIMEOUT,
    )


def png_bytes(width: int = 32, height: int = 16, *, seed: int = 0) -> bytes:
    """A valid RGB PNG, written with the standard library only (`seed` varies the pixels)."""
    raw = b"".join(
        b"\x00" + b"".join(bytes(((x * 7 + seed) % 256, (y * 13) % 256, 90)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return png_from_chunks(header, zlib.compress(raw))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_from_chunks(header: bytes, idat: bytes) -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def gif_bytes() -> bytes:
    """A 1x1 GIF89a."""
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
        b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def error_message(response: requests.Response) -> str:
    """The `message` every error body carries (the contract), or the raw text if it is missing."""
    try:
        return response.json()["message"]
    except (ValueError, KeyError, TypeError):
        return response.text
