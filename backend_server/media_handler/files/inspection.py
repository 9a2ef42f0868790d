"""What the bytes of an upload are: the sniffed type, the content policy, and the facts read
from them (size, SHA-256, width and height, duration).

The upload policy lives here and nowhere else: only image, video and audio content is stored,
never script-capable content (HTML, SVG, XML), and the client's `type` must agree with what the
bytes are. The client's file name and content type are never consulted.
"""

import hashlib
import logging
import mimetypes
import posixpath
import re
import warnings
from dataclasses import dataclass
from typing import IO, Any

import magic
import mutagen
from django.core.files.uploadedfile import UploadedFile
from PIL import Image
from pillow_heif import register_heif_opener

from common.exceptions import ApplicationError
from media_handler.files.errors import DerivativeError
from media_handler.files.imaging import PICTURE_FORMATS, displayed_size
from media_handler.models import MediaType

# HEIC/HEIF (iPhone photos) open like any other image (AVIF is Pillow's own).
register_heif_opener()

logger = logging.getLogger(__name__)

SNIFF_BYTES = 64 * 1024
# How long an upload's request waits for ffprobe (a duration mutagen cannot read).
PROBE_SECONDS = 10
HASH_CHUNK_BYTES = 1024 * 1024

# Image types a browser could run script from, or that are really documents.
REFUSED_MIME_TYPES = {"image/svg+xml"}

# The stored file's extension comes from the sniffed type, never from the client's file name.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "image/tiff": "tiff",
    "image/heic": "heic",
    "image/heif": "heif",
    # Bursts and animations (libmagic names the brand; pillow-heif opens them as HEIF).
    "image/heic-sequence": "heic",
    "image/heif-sequence": "heif",
    "image/avif": "avif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-matroska": "mkv",
    "video/3gpp": "3gp",
    "video/3gpp2": "3g2",
    "video/x-m4v": "m4v",
    "video/x-msvideo": "avi",
    "video/mpeg": "mpg",
    "video/ogg": "ogv",
    "video/x-flv": "flv",
    "video/x-ms-asf": "wmv",
    "audio/mpeg": "mp3",
    "audio/x-wav": "wav",
    "audio/wav": "wav",
    "audio/x-aiff": "aiff",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/aac": "aac",
    "audio/x-hx-aac-adts": "aac",  # what libmagic calls raw AAC
    "audio/webm": "weba",
}


@dataclass(frozen=True)
class FileFacts:
    """What an upload's bytes are, whatever the client said about them."""

    mime_type: str
    extension: str
    size: int
    checksum_sha256: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None


def inspect_upload(upload: UploadedFile, *, declared_type: str) -> FileFacts:
    """Sniff `upload`, check it against the policy and read its facts.

    Raises ApplicationError (400, on `file` or `type`) for an empty file, content that is not
    accepted, a type that is not the declared one, or an image with too many pixels.
    """
    mime_type = sniff_mime_type(upload)
    check_content_policy(mime_type, declared_type=declared_type)
    return FileFacts(
        mime_type=mime_type,
        extension=extension_for(mime_type),
        size=upload.size or 0,
        checksum_sha256=upload_checksum(upload),
        **read_metadata(upload, mime_type),
    )


def sniff_mime_type(upload: UploadedFile) -> str:
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if not head:
        raise ApplicationError("The submitted file is empty.", code="invalid", field="file")
    return magic.from_buffer(head, mime=True)


def media_family(mime_type: str) -> str | None:
    """`image`, `video` or `audio` for content of those kinds, None for anything else (what
    is served as an attachment)."""
    family = mime_type.split("/", 1)[0]
    if family not in MediaType.values:
        return None
    if mime_type in REFUSED_MIME_TYPES or "xml" in mime_type or "html" in mime_type:
        return None
    return family


def check_content_policy(mime_type: str, *, declared_type: str) -> None:
    """Raises ApplicationError (400) for content not stored here. Images only of the types
    above, those the pictures are made from (imaging.PICTURE_FORMATS): image/x-eps,
    image/vnd.adobe.photoshop and the like are not. (Media stored before keep their family.)"""
    family = media_family(mime_type)
    if family == MediaType.IMAGE and mime_type not in EXTENSIONS:
        family = None
    if family is None:
        raise ApplicationError(
            f"Content of type {mime_type} is not accepted; upload an image, video or audio file.",
            code="invalid",
            field="file",
        )
    if family != declared_type:
        raise type_mismatch(declared_type, mime_type)


def type_mismatch(declared_type: str, mime_type: str) -> ApplicationError:
    return ApplicationError(
        f"The type is '{declared_type}' but the file's content is {mime_type}.",
        code="invalid",
        field="type",
    )


# The type each extension of ours stands for: the first sniffed type above that gets it.
MIME_TYPES_BY_EXTENSION = {
    extension: mime_type for mime_type, extension in reversed(EXTENSIONS.items())
}


def mime_type_of(name: str) -> str:
    """The type of a stored file named `name`, from its extension (the sniffed type's, or a
    derivative's: jpg, webp), the same on every host: what the bucket keeps with it and what a
    derivative is served with; else the system's guess, else application/octet-stream."""
    extension = posixpath.splitext(name)[1][1:].lower()
    return (
        MIME_TYPES_BY_EXTENSION.get(extension)
        or mimetypes.guess_type(name)[0]
        or "application/octet-stream"
    )


def extension_for(mime_type: str) -> str:
    extension = EXTENSIONS.get(mime_type) or re.sub(r"[^a-z0-9]", "", mime_type.split("/")[-1])
    return extension[:8] or "bin"


def upload_checksum(upload: UploadedFile) -> str:
    """The SHA-256 of the upload: hashed while it was received
    (upload_handlers.HashingTemporaryFileUploadHandler), else read once here."""
    received = getattr(upload, "sha256_hexdigest", None)
    if received:
        return received
    digest = hashlib.sha256()
    for chunk in upload.chunks(HASH_CHUNK_BYTES):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def read_metadata(upload: UploadedFile, mime_type: str) -> dict[str, Any]:
    """width/height for images (as shown: EXIF orientation applied; HEIC too), duration for
    audio/video; None where unreadable. A video's size is read by the job worker (ffprobe)."""
    # The temporary file's path where there is one: ffprobe reads only paths.
    source: str | IO[bytes] = (
        upload.temporary_file_path() if hasattr(upload, "temporary_file_path") else upload
    )
    try:
        if media_family(mime_type) == MediaType.IMAGE:
            return _image_size(source)
        return {"duration": _duration(source, mime_type=mime_type)}
    finally:
        upload.seek(0)


def _image_size(source: str | IO[bytes]) -> dict[str, Any]:
    """The image's size from its header (Image.open decodes no pixel). Fails closed: an image
    the decoder cannot open, or whose header declares more pixels than MAX_IMAGE_PIXELS, is
    refused, since it could be served (and its derivatives made) only blind."""
    try:
        with warnings.catch_warnings():
            # Past MAX_IMAGE_PIXELS Pillow warns, past twice that it raises: both are refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=PICTURE_FORMATS) as image:
                # As shown: a phone photo held upright is taller than wide, whatever its pixels.
                width, height = displayed_size(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ApplicationError(
            "The image has too many pixels.", code="invalid", field="file"
        ) from exc
    except Exception as exc:  # Pillow raises many types (SyntaxError, OSError...) for damage
        logger.info("refused an image that cannot be read: %s", source, exc_info=True)
        raise ApplicationError(
            "The image cannot be read: it is damaged, or of a kind this service does not accept.",
            code="invalid",
            field="file",
        ) from exc
    return {"width": width, "height": height}


def _duration(source: str | IO[bytes], *, mime_type: str) -> float | None:
    try:
        parsed = mutagen.File(source)
        length = parsed.info.length if parsed is not None else None
    except Exception:  # mutagen raises many types for damaged files; metadata is optional
        logger.info("could not read duration of %s with mutagen", source, exc_info=True)
        length = None
    if not length and isinstance(source, str):
        length = _ffprobe_duration(source, mime_type=mime_type)
    return round(float(length), 3) if length else None


def _ffprobe_duration(path: str, *, mime_type: str) -> float | None:
    """ffprobe reads what mutagen cannot (WebM, Matroska, AVI), when it is installed: as the
    job runs it (ffmpeg.probe), under limits, with the demuxer the sniffed type names and no
    protocol but `file`. Left to guess, it read a file that libmagic calls MP3 as an HLS
    playlist, which opened other files of the server's."""
    from media_handler.files import ffmpeg  # the job's module: loaded when first needed

    try:  # ffprobe missing is a DerivativeError too
        return ffmpeg.probe(
            path, mime_type=mime_type, timeout=PROBE_SECONDS, threaded=True
        ).duration
    except DerivativeError:
        return None
