"""Sample media files for the suites and the benchmarks: real files written by Pillow, by the
standard library's `wave` and by ffmpeg from its lavfi test sources, and the PNG chunks the
attack tests assemble into images that are broken or hostile on purpose.

The `*_bytes` builders return the file's bytes; the others write it to `path` and return a
`Sample` (its path and the type a browser would give it)."""

import io
import math
import random
import struct
import subprocess
import tempfile
import wave
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw


@dataclass(frozen=True)
class Sample:
    path: Path
    mime_type: str

    @property
    def name(self) -> str:
        return self.path.name


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


def jpeg_bytes(width: int = 640, height: int = 480, *, seed: int = 0) -> bytes:
    """A JPEG of one colour of its own (`seed`): about what a phone's small photo weighs."""
    colour = ((seed * 37) % 256, (seed * 91) % 256, 140)
    return _saved(Image.new("RGB", (width, height), colour), "JPEG", quality=80)


def landscape_png(path: Path, size=(1200, 800), hue=(70, 110, 200)) -> Sample:
    """A drawn landscape (sky, sun, hill): a photo-sized PNG a person would recognise."""
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    width, height = size
    for y in range(height):
        shade = y / height
        draw.line(
            [(0, y), (width, y)],
            fill=(int(hue[0] + 120 * shade), int(hue[1] + 80 * shade), int(hue[2] - 90 * shade)),
        )
    draw.ellipse([width * 0.65, height * 0.12, width * 0.8, height * 0.34], fill=(255, 220, 120))
    draw.polygon(
        [(0, height), (width * 0.35, height * 0.45), (width * 0.7, height)], fill=(40, 70, 60)
    )
    image.save(path, "PNG")
    return Sample(path, "image/png")


def gif_bytes(width: int = 1, height: int = 1) -> bytes:
    """A transparent GIF89a (the version with extension blocks, which polyglots hide in)."""
    return _saved(Image.new("P", (width, height), 0), "GIF", transparency=0)


def wav_bytes(seconds: float = 1.0, rate: int = 8000, frequency: int = 440) -> bytes:
    """A mono 16-bit WAV of a tone."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * frequency * i / rate)))
        for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def tone_wav(path: Path, seconds: int = 3) -> Sample:
    """A 3-second 523 Hz tone at CD rate, as a phone's voice memo app might save it."""
    path.write_bytes(wav_bytes(seconds, rate=44_100, frequency=523))
    return Sample(path, "audio/wav")


def pattern_mp4(path: Path, seconds: int = 8) -> Sample:
    """An MP4 (H.264 + AAC) of ffmpeg's test pattern and a tone: about 1 MB for 8 seconds, big
    enough that a throttled upload shows its progress for a while."""
    arguments = [
        "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-b:v", "900k", "-g", "25",
        "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", "-shortest", str(path),
    ]  # fmt: skip
    # ffmpeg from the PATH (scripts/install_browser_test_packages.sh installs it).
    subprocess.run(  # noqa: S603
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *arguments],  # noqa: S607
        check=True,
        timeout=120,
    )
    return Sample(path, "video/mp4")


def text_as_png(path: Path) -> Sample:
    """Text wearing a .png name (and the type a browser guesses from it): a file to refuse."""
    path.write_text("These are notes, not a picture.\n" * 20)
    return Sample(path, "image/png")


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


def phone_photo_bytes(width: int = 1200, height: int = 800) -> bytes:
    """A camera's JPEG: EXIF orientation 6 (shown a quarter turn clockwise), a GPS position and
    a red top-left quarter, so that a derivative shows whether it was turned."""
    image = Image.new("RGB", (width, height), (0, 80, 255))
    ImageDraw.Draw(image).rectangle((0, 0, width // 2 - 1, height // 2 - 1), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
    }
    return _saved(image, "JPEG", quality=85, exif=exif)


def picture_bytes(image_format: str, size=(640, 480), **options: object) -> bytes:
    """A sky with a sun in `image_format`: "HEIF" (an iPhone's, by pillow-heif), "AVIF",
    "WEBP", "GIF", ..."""
    if image_format == "HEIF":
        import pillow_heif  # the media service's own dependency

        pillow_heif.register_heif_opener()
    width, height = size
    image = Image.new("RGB", size, (70, 110, 200))
    sun = (width // 4, height // 4, width // 2, height // 2)
    ImageDraw.Draw(image).ellipse(sun, fill=(255, 220, 120))
    return _saved(image, image_format, **options)


def ffmpeg_bytes(suffix: str, *arguments: str) -> bytes:
    """What `ffmpeg <arguments> <a file ending in suffix>` writes."""
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / f"sample{suffix}"
        subprocess.run(  # noqa: S603
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", *arguments, str(output)],  # noqa: S607
            check=True,
            timeout=120,
        )
        return output.read_bytes()


def black_start_video_bytes(suffix: str = ".mp4", *codec: str) -> bytes:
    """4 s of 320x240 video whose first second is black: its poster must come from later."""
    return ffmpeg_bytes(
        suffix,
        "-f", "lavfi", "-i", "color=c=black:s=320x240:r=25:d=1",
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=3",
        "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]",
        *(codec or ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast")),
    )  # fmt: skip


def song_with_cover_bytes(suffix: str, *codec: str) -> bytes:
    """2 s of a tone with an embedded 300x300 cover picture (ID3 APIC, MP4 covr, FLAC PICTURE)."""
    with tempfile.TemporaryDirectory() as directory:
        cover = Path(directory) / "cover.png"
        cover.write_bytes(png_bytes(300, 300))
        return ffmpeg_bytes(
            suffix,
            "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-i", str(cover),
            "-map", "0:a", "-map", "1:v", *codec,
            "-c:v", "png" if suffix == ".flac" else "mjpeg", "-disposition:v", "attached_pic",
        )  # fmt: skip


def _saved(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()
