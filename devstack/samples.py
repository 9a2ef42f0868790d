"""Sample media files for the suites and the benchmarks: real files written by Pillow and by the
standard library's `wave`, and the PNG chunks the attack tests assemble into images that are
broken or hostile on purpose."""

import io
import math
import random
import struct
import wave
import zlib
from pathlib import Path

from PIL import Image


def png_bytes(width: int = 32, height: int = 16, *, seed: int = 0) -> bytes:
    """An RGB PNG of a gradient over noise, which compresses about as badly as a photo does
    (`seed` picks the noise: another seed, other bytes)."""
    noise = random.Random(seed).randbytes(width * height)
    pixels = bytes(
        channel
        for y in range(height)
        for x in range(width)
        for channel in ((x * 7) % 256, (y * 13) % 256, noise[y * width + x])
    )
    return _saved(Image.frombytes("RGB", (width, height), pixels), "PNG")


def gif_bytes(width: int = 1, height: int = 1) -> bytes:
    """A transparent GIF89a (the version with extension blocks, which polyglots hide in)."""
    return _saved(Image.new("P", (width, height), 0), "GIF", transparency=0)


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


def wav_file(path: Path, size: int) -> Path:
    """A PCM WAV of silence of exactly `size` bytes, written as a sparse file, so a 1 GiB one
    costs no time and no disk. The header is packed by hand: `wave` would rewrite a declared
    length that no written frame backs."""
    data = size - 44
    header = b"RIFF" + struct.pack("<I", size - 8) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 44_100, 88_200, 2, 16)
    header += b"data" + struct.pack("<I", data)
    with path.open("wb") as out:
        out.write(header)
        out.truncate(size)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_from_chunks(header: bytes, idat: bytes) -> bytes:
    """A PNG of exactly these IHDR and IDAT contents, which need not agree (bombs claim more
    pixels than their data holds)."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def _saved(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()
