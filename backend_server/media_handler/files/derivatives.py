"""The derivatives of a stored file: a `thumbnail` (WebP, at most 320 px), a `preview` (JPEG or
WebP, at most 1440 px) and a ThumbHash `placeholder`, with the facts only decoding gives (a
video's displayed size and codec, a photo's upright size).

Pictures are made by Pillow (media_handler.files.imaging); a video's poster frame and an audio
file's cover art are taken out by ffmpeg (media_handler.files.ffmpeg) and then made into
pictures the same way. The job worker runs this (services.media_make_derivatives), never a
request.

Derivatives are stored next to their original, through the same storage, under names that say
whose they are: `<original>.<kind>-<12 hex>.<extension>` (a new name each time they are made,
so a URL of the previous ones never serves a half-written file).
"""

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from media_handler.files import ffmpeg, imaging
from media_handler.files.errors import DerivativeError
from media_handler.files.inspection import media_family
from media_handler.files.storage import temporary_file
from media_handler.models import MediaType

__all__ = ["DerivativeError", "Derivatives", "derivative_name", "make_derivatives", "original_of"]

DERIVATIVE_NAME = re.compile(
    r"^(?P<original>.+)\.(?P<kind>thumbnail|preview)-[0-9a-f]{12}\.(?P<extension>webp|jpg)$"
)


@dataclass(frozen=True)
class Derivatives:
    """What a file gives: pictures (None when there is nothing to show, as for audio without
    cover art) and facts (None where unknown)."""

    pictures: imaging.Pictures | None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    codec: str = ""


def make_derivatives(path: str, *, mime_type: str, max_pixels: int) -> Derivatives:
    """The derivatives of the file at `path` (a local file) whose sniffed type is `mime_type`.
    Raises DerivativeError when the file cannot give them (damaged, more than `max_pixels`
    pixels, a tool that fails or runs out of its limits)."""
    try:
        family = media_family(mime_type)
        if family == MediaType.IMAGE:
            pictures = imaging.make_pictures(imaging.open_picture(path, max_pixels=max_pixels))
            return Derivatives(pictures=pictures, width=pictures.width, height=pictures.height)
        if family in (MediaType.VIDEO, MediaType.AUDIO):
            return _from_audiovisual(path, mime_type=mime_type, max_pixels=max_pixels)
    except MemoryError as exc:
        raise DerivativeError("ran out of memory (the worker's limit)") from exc
    raise DerivativeError(f"no derivatives are made from {mime_type}")


def _from_audiovisual(path: str, *, mime_type: str, max_pixels: int) -> Derivatives:
    facts = ffmpeg.probe(path, mime_type=mime_type)
    if facts.width and facts.height and facts.width * facts.height > max_pixels:
        raise DerivativeError(f"too many pixels: {facts.width}x{facts.height}")
    pictures = None
    if facts.has_video or facts.cover_stream is not None:
        with temporary_file(suffix=".png") as frame_path:
            frame = Path(frame_path)
            if facts.has_video:
                ffmpeg.poster_frame(
                    path, mime_type=mime_type, duration=facts.duration, output=frame
                )
            else:
                assert facts.cover_stream is not None
                ffmpeg.cover_art(path, mime_type=mime_type, stream=facts.cover_stream, output=frame)
            pictures = imaging.make_pictures(
                imaging.open_picture(frame_path, max_pixels=max_pixels)
            )
    return Derivatives(
        pictures=pictures,
        width=facts.width,
        height=facts.height,
        duration=facts.duration,
        codec=facts.codec,
    )


def derivative_name(storage_path: str, *, kind: str, extension: str) -> str:
    """A new storage name for a derivative of the file stored at `storage_path`."""
    return f"{storage_path}.{kind}-{secrets.token_hex(6)}.{extension}"


def original_of(name: str) -> str | None:
    """The storage name of the original whose derivative `name` is; None for an original."""
    match = DERIVATIVE_NAME.match(name)
    return match["original"] if match else None
