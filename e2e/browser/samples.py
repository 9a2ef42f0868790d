"""Real sample files for the browser tests: a PNG drawn with Pillow, an MP4 (H.264 + AAC) and a
WAV made by ffmpeg from its lavfi test sources, and a text file wearing a .png name."""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw


@dataclass(frozen=True)
class Sample:
    path: Path
    mime_type: str

    @property
    def name(self) -> str:
        return self.path.name


def landscape_png(path: Path, size=(1200, 800), hue=(70, 110, 200)) -> Sample:
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


def ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        timeout=120,
    )


def pattern_mp4(path: Path, seconds: int = 8) -> Sample:
    """Big enough (about 1 MB) that a throttled upload shows its progress for a while."""
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-b:v", "900k", "-g", "25",
        "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", "-shortest", str(path),
    )  # fmt: skip
    return Sample(path, "video/mp4")


def tone_wav(path: Path, seconds: int = 3) -> Sample:
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=523:duration={seconds}", "-ac", "1", str(path))
    return Sample(path, "audio/wav")


def text_as_png(path: Path) -> Sample:
    path.write_text("These are notes, not a picture.\n" * 20)
    return Sample(path, "image/png")
