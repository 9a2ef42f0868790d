"""Small helpers the end-to-end tests share: accounts, tokens and real media files."""

import io
import math
import struct
import wave
import zlib

import requests

PASSWORD = "strongpassword"  # the seed README's example password


def register(http: requests.Session, auth: str, email: str, **extra) -> dict:
    response = http.post(
        f"{auth}/api/auth/register/",
        json={"first_name": "Ada", "last_name": "Lovelace", "email": email, "password": PASSWORD}
        | extra,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access']}"}


def png_bytes(width: int = 32, height: int = 16) -> bytes:
    """A valid RGB PNG, written with the standard library only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    raw = b"".join(
        b"\x00" + b"".join(bytes((x * 7 % 256, y * 13 % 256, 90)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def wav_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV of a 440 Hz tone."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()
