"""Everything that touches the bytes of a media file: the upload policy, storage under
MEDIA_ROOT, sniffing and metadata, signed URLs, and serving (Range or X-Accel-Redirect).

The upload policy lives here and nowhere else: only image, video and audio content is stored,
never script-capable content (HTML, SVG, XML), and the client's `type` must agree with what the
bytes are.
"""

import contextlib
import errno
import functools
import hashlib
import hmac
import logging
import os
import re
import shutil
import subprocess
import unicodedata
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import magic
import mutagen
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from PIL import Image
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError

from common.exceptions import ServiceError
from media_handler.models import Media, MediaType

logger = logging.getLogger(__name__)

UPLOADS_DIR = "uploads"
SNIFF_BYTES = 64 * 1024
COPY_CHUNK_BYTES = 1024 * 1024
# How much of an upload's body Django asks for at a time (its default is 64 KiB). gunicorn reads
# ahead up to 1 MiB and copies its whole buffer on every read, so 64 KiB reads copied each byte
# of a 1 GiB upload about thirty times; reads of 1 MiB copy it about twice.
UPLOAD_CHUNK_BYTES = 1024 * 1024
# Threads per worker process writing and hashing upload chunks: as many as the uploads a worker
# serves at once (GUNICORN_THREADS, 4 by default), so no upload waits for another's chunk. They
# start only when needed.
UPLOAD_WRITER_THREADS = 8
# Multipart framing and the small form fields around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024

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
    "image/avif": "avif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-matroska": "mkv",
    "video/3gpp": "3gp",
    "video/x-msvideo": "avi",
    "video/mpeg": "mpg",
    "audio/mpeg": "mp3",
    "audio/x-wav": "wav",
    "audio/wav": "wav",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/aac": "aac",
    "audio/webm": "weba",
}


class UploadTooLarge(ServiceError):
    def __init__(self):
        limit = settings.MAX_UPLOAD_SIZE
        super().__init__(
            f"The upload is larger than the limit of {limit} bytes.",
            code="upload_too_large",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )


class MaxSizeUploadHandler(FileUploadHandler):
    """Refuses an upload past MAX_UPLOAD_SIZE: at once when the Content-Length says so, else as
    soon as the streamed file crosses the limit, removing the partial temporary file."""

    chunk_size = UPLOAD_CHUNK_BYTES

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > settings.MAX_UPLOAD_SIZE + MULTIPART_OVERHEAD_BYTES:
            raise UploadTooLarge()

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_SIZE:
            # The parser only closes finished files; the one being written is ours to remove.
            for handler in self.request.upload_handlers:
                if handler is not self:
                    handler.upload_interrupted()
            raise UploadTooLarge()
        return raw_data

    def file_complete(self, file_size):
        return None


@functools.cache
def _upload_writers() -> ThreadPoolExecutor:
    """The threads that write and hash upload chunks, shared by a worker process's requests
    (each upload has one chunk in flight at most). File writes and hashlib release the GIL, so
    a chunk is stored on another core while the request's thread reads and parses the next."""
    return ThreadPoolExecutor(max_workers=UPLOAD_WRITER_THREADS, thread_name_prefix="upload-writer")


class InsufficientStorage(ServiceError):
    def __init__(self):
        super().__init__(
            "There is no space left to store the upload; try again later.",
            code="insufficient_storage",
            status_code=status.HTTP_507_INSUFFICIENT_STORAGE,
        )


def is_out_of_space(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def _partial_file_removed_on_error(handler: FileUploadHandler):
    """A write error while streaming removes the partial temporary file at once (the multipart
    parser leaves it open, holding its space, until the garbage collector finds it); a full disk
    is a 507, not a 500."""
    try:
        yield
    except OSError as exc:
        with contextlib.suppress(OSError):
            handler.file.close()  # a NamedTemporaryFile: closing deletes it
        if is_out_of_space(exc):
            raise InsufficientStorage() from exc
        raise


class HashingTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Django's handler that streams the file to a temporary file, in UPLOAD_CHUNK_BYTES reads
    (the parser reads in the smallest chunk size of all the handlers), and hashes it (SHA-256)
    meanwhile, so storing it needs no second pass over the bytes.

    Each chunk is written and hashed on a writer thread while the request's thread reads the
    next one: one chunk in flight, waited for before the next is handed over (so the bytes stay
    in order and memory stays at two chunks), and before anything else touches the file. A
    writer's error surfaces on the request's thread at that wait, with the partial file removed.
    """

    chunk_size = UPLOAD_CHUNK_BYTES

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.digest = hashlib.sha256()
        self.chunk_in_flight = None

    def receive_data_chunk(self, raw_data, start):
        self._wait_for_chunk_in_flight()
        self.chunk_in_flight = _upload_writers().submit(self._write_and_hash, raw_data, start)
        # None: the chunk is consumed here, as Django's own handler consumes it.

    def _write_and_hash(self, raw_data: bytes, start: int) -> None:
        super().receive_data_chunk(raw_data, start)
        self.digest.update(raw_data)

    def file_complete(self, file_size):
        self._wait_for_chunk_in_flight()
        with _partial_file_removed_on_error(self):  # flushes the last buffered bytes
            upload = super().file_complete(file_size)
        upload.sha256_hexdigest = self.digest.hexdigest()
        return upload

    def upload_interrupted(self):
        # The writer must be done with the file before it is closed and removed; its error, if
        # any, no longer matters.
        with contextlib.suppress(Exception):
            self._wait_for_chunk_in_flight()
        super().upload_interrupted()

    def _wait_for_chunk_in_flight(self) -> None:
        chunk_in_flight, self.chunk_in_flight = getattr(self, "chunk_in_flight", None), None
        if chunk_in_flight is not None:
            with _partial_file_removed_on_error(self):
                chunk_in_flight.result()


@dataclass(frozen=True)
class StoredFile:
    """What the upload service learned from the bytes; `storage_path` is relative to MEDIA_ROOT."""

    storage_path: str
    size: int
    checksum_sha256: str
    mime_type: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def absolute_path(storage_path: str) -> Path:
    """The file of a stored path, refusing anything that would leave MEDIA_ROOT."""
    root = media_root().resolve()
    path = (root / storage_path).resolve()
    if not path.is_relative_to(root / UPLOADS_DIR):
        raise ValueError(f"not a stored upload path: {storage_path!r}")
    return path


def store_upload(upload: UploadedFile, *, declared_type: str) -> StoredFile:
    """Check `upload` against the policy, move it under uploads/YYYY/MM/DD/ and read its facts.

    Raises ValidationError (400) for refused or mismatched content, InsufficientStorage (507)
    when the disk is full. On any failure nothing is left under MEDIA_ROOT.
    """
    mime_type = sniff_mime_type(upload)
    check_content_policy(mime_type, declared_type=declared_type)
    storage_path = _new_storage_path(mime_type)
    destination = media_root() / storage_path
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        size, checksum = _write(upload, destination)
        os.chmod(destination, settings.FILE_UPLOAD_PERMISSIONS or 0o640)
        facts = read_metadata(destination, mime_type)
    except OSError as exc:
        delete_stored_file(storage_path)
        if is_out_of_space(exc):
            raise InsufficientStorage() from exc
        raise
    except BaseException:
        delete_stored_file(storage_path)
        raise
    return StoredFile(
        storage_path=storage_path,
        size=size,
        checksum_sha256=checksum,
        mime_type=mime_type,
        **facts,
    )


def sniff_mime_type(upload: UploadedFile) -> str:
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if not head:
        raise ValidationError({"file": ["The submitted file is empty."]})
    return magic.from_buffer(head, mime=True)


def media_family(mime_type: str) -> str | None:
    """`image`, `video` or `audio` for content the service stores, None for anything else."""
    family = mime_type.split("/", 1)[0]
    if family not in MediaType.values:
        return None
    if mime_type in REFUSED_MIME_TYPES or "xml" in mime_type or "html" in mime_type:
        return None
    return family


def check_content_policy(mime_type: str, *, declared_type: str) -> None:
    family = media_family(mime_type)
    if family is None:
        raise ValidationError(
            {
                "file": [
                    f"Content of type {mime_type} is not accepted; upload an image, video "
                    "or audio file."
                ]
            }
        )
    if family != declared_type:
        raise ValidationError(
            {"type": [f"The type is '{declared_type}' but the file's content is {mime_type}."]}
        )


def _new_storage_path(mime_type: str) -> str:
    extension = EXTENSIONS.get(mime_type) or re.sub(r"[^a-z0-9]", "", mime_type.split("/")[-1])
    day = timezone.now().strftime("%Y/%m/%d")
    return f"{UPLOADS_DIR}/{day}/{uuid.uuid4().hex}.{extension[:8] or 'bin'}"


def _write(upload: UploadedFile, destination: Path) -> tuple[int, str]:
    """Move (or copy) the upload to `destination`; returns its size and SHA-256, hashed while it
    was received (HashingTemporaryFileUploadHandler) or else in the same single read pass."""
    temporary_path = getattr(upload, "temporary_file_path", None)
    if temporary_path is not None:
        source = temporary_path()
        checksum = getattr(upload, "sha256_hexdigest", None) or _sha256(source)
        try:
            # Same filesystem (the temp dir is under MEDIA_ROOT): a hard link, not a copy.
            os.link(source, destination)
        except OSError:
            shutil.copyfile(source, destination)
        return os.path.getsize(source), checksum
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    with open(destination, "xb") as out:
        for chunk in upload.chunks(COPY_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(COPY_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def read_metadata(path: Path, mime_type: str) -> dict:
    """width/height for images, duration for audio/video; None where unreadable."""
    family = media_family(mime_type)
    if family == MediaType.IMAGE:
        return _image_size(path)
    return {"duration": _duration(path)}


def _image_size(path: Path) -> dict:
    try:
        with warnings.catch_warnings():
            # Past MAX_IMAGE_PIXELS Pillow warns, past twice that it raises: both are refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError({"file": ["The image has too many pixels."]}) from exc
    except Exception:  # Pillow raises many types for damaged files; metadata is optional
        logger.info("could not read image size of %s", path, exc_info=True)
        return {"width": None, "height": None}
    return {"width": width, "height": height}


def _duration(path: Path) -> float | None:
    try:
        parsed = mutagen.File(path)
        length = parsed.info.length if parsed is not None else None
    except Exception:  # mutagen raises many types for damaged files; metadata is optional
        logger.info("could not read duration of %s with mutagen", path, exc_info=True)
        length = None
    if not length:
        length = _ffprobe_duration(path)
    return round(float(length), 3) if length else None


def _ffprobe_duration(path: Path) -> float | None:
    """ffprobe reads what mutagen cannot (WebM, Matroska, AVI), when it is installed."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    command = [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"]
    try:
        # A fixed program and a path of our own making: no shell, no client input.
        result = subprocess.run(  # noqa: S603
            [*command, str(path)], capture_output=True, text=True, timeout=10, check=True
        )
        return float(result.stdout.strip())
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def delete_stored_file(storage_path: str) -> None:
    try:
        absolute_path(storage_path).unlink(missing_ok=True)
    except (OSError, ValueError):
        logger.warning("could not delete stored file %s", storage_path, exc_info=True)


# Signed URLs ---------------------------------------------------------------------------------


# ASCII digits only (str.isdigit() also accepts "²", which int() refuses), and few enough for
# int() (which refuses past 4300 digits): an expiry is a Unix time.
EXPIRES_PATTERN = re.compile(r"[0-9]{1,20}")


def file_signature(media: Media, expires: int) -> str:
    message = f"{media.pk}:{expires}:{media.storage_path}".encode()
    key = settings.FILE_URL_SIGNING_KEY.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_file_url(request: HttpRequest, media: Media, *, now: int | None = None) -> str | None:
    """An absolute URL that serves the file without Authorization until it expires.

    The expiry is rounded to a twelfth of FILE_URL_MAX_AGE_SECONDS, so a client listing the same
    media twice in a few minutes gets the same URL (and its image cache keeps working); each URL
    lives between 11/12 and all of the configured age.
    """
    if not media.has_file:
        return None
    now = int(timezone.now().timestamp()) if now is None else now
    expires, _ = signed_url_expiry(now)
    url = _signed_url_template(request).replace(_URL_TEMPLATE_ID, str(media.pk))
    # Digits and hex: nothing to quote.
    return f"{url}?expires={expires}&signature={file_signature(media, expires)}"


def signed_url_expiry(now: float) -> tuple[int, int]:
    """The expiry of every URL signed at `now`, and the seconds until that expiry moves on."""
    max_age = settings.FILE_URL_MAX_AGE_SECONDS
    step = max(max_age // 12, 1)
    window, elapsed = divmod(int(now) + max_age, step)
    return window * step, step - elapsed


# A page of media signs a URL per item: the view's absolute URL is built once per request, with
# this id in it, instead of a reverse() and a build_absolute_uri() per item.
_URL_TEMPLATE_ID = str(uuid.UUID(int=0))


def _signed_url_template(request: HttpRequest) -> str:
    template = getattr(request, "_signed_file_url_template", None)
    if template is None:
        path = reverse("media-file-signed", kwargs={"media_id": _URL_TEMPLATE_ID})
        template = request.build_absolute_uri(path)
        request._signed_file_url_template = template
    return template


def signature_is_valid(media: Media, *, expires: str, signature: str) -> bool:
    if not EXPIRES_PATTERN.fullmatch(expires) or int(expires) < timezone.now().timestamp():
        return False
    expected = file_signature(media, int(expires))
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


# Serving -------------------------------------------------------------------------------------

# ASCII digits, at most 30 of them (a range we would refuse to parse is ignored, as RFC 9110
# allows: the whole file is sent).
RANGE_PATTERN = re.compile(r"^bytes=([0-9]{0,30})-([0-9]{0,30})$")


def serve_file(request: HttpRequest, media: Media, *, max_age: int = 0) -> HttpResponse:
    """The bytes of `media`: by nginx (X-Accel-Redirect) through the gateway, else streamed here
    with single-range support (206, or 416 for a range past the end)."""
    path = absolute_path(media.storage_path)
    if sent_by_gateway(request):
        response = HttpResponse(content_type=media.mime_type)
        response["X-Accel-Redirect"] = f"{settings.X_ACCEL_REDIRECT_PREFIX}{media.storage_path}"
    else:
        try:
            response = _streamed(request, path, media.mime_type)
        except FileNotFoundError as exc:
            # A row whose file is gone (removed by hand, a lost volume): ours to fix, not a crash.
            logger.error("stored file missing for media %s: %s", media.pk, media.storage_path)
            raise NotFound("The file of this media is missing.", code="file_missing") from exc
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=media_family(media.mime_type) is None, filename=download_name(media)
    )
    response["Cache-Control"] = f"private, max-age={max(max_age, 0)}"
    return response


def sent_by_gateway(request: HttpRequest) -> bool:
    """Whether nginx sends the bytes: only when USE_X_ACCEL_REDIRECT allows it and the request
    came through the gateway, which says so in `X-Sendfile-Type` (the Rack::Sendfile convention;
    the gateway sets it on every request it proxies). A client on the service's own port gets
    the bytes streamed, not an empty answer only nginx would understand."""
    return (
        settings.USE_X_ACCEL_REDIRECT
        and request.META.get("HTTP_X_SENDFILE_TYPE") == "X-Accel-Redirect"
    )


def download_name(media: Media) -> str:
    """The media's name as an ASCII file name with the stored file's extension."""
    ascii_name = unicodedata.normalize("NFKD", media.name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(ascii_name).stem).strip("._") or "media"
    return f"{stem[:100]}{Path(media.storage_path).suffix}"


def _streamed(request: HttpRequest, path: Path, mime_type: str) -> HttpResponse:
    size = path.stat().st_size
    byte_range = _requested_range(request.headers.get("Range", ""), size)
    if byte_range is None:
        response = FileResponse(path.open("rb"), content_type=mime_type)
    elif byte_range == "unsatisfiable":
        response = HttpResponse(status=status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE)
        response["Content-Range"] = f"bytes */{size}"
    else:
        start, end = byte_range
        response = StreamingHttpResponse(
            _read_range(path, start, end),
            status=status.HTTP_206_PARTIAL_CONTENT,
            content_type=mime_type,
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


def _requested_range(header: str, size: int):
    """(start, end) inclusive for one satisfiable range, "unsatisfiable", or None to send all
    (no Range, several ranges, or a malformed header, which RFC 9110 says to ignore)."""
    match = RANGE_PATTERN.match(header.replace(" ", ""))
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # an invalid range-spec: the header is ignored
    if start >= size:
        return "unsatisfiable"
    return start, min(int(last), size - 1) if last else size - 1


def _read_range(path: Path, start: int, end: int):
    with path.open("rb") as stream:
        stream.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = stream.read(min(COPY_CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
