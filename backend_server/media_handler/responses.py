"""The HTTP answer that carries a media's bytes (its file, thumbnail or preview), for the views
that serve them (the signed URLs and the owner's `file/` action): nginx sends them
(X-Accel-Redirect) for a request through the gateway (from MEDIA_ROOT, or from the bucket through
a presigned URL it fetches), else they are streamed from the storage here, with single-range
support (RFC 9110). With S3_REDIRECT_DOWNLOADS the answer is instead a redirect to a presigned
URL of the store."""

import logging
import re
import unicodedata
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from rest_framework import status
from rest_framework.exceptions import NotFound

from common.exception_handler import error_body
from media_handler.files.derivatives import DERIVATIVE_NAME
from media_handler.files.inspection import media_family, mime_type_of
from media_handler.files.signing import stored_path
from media_handler.files.storage import (
    is_object_store,
    open_stored,
    stored_size,
)
from media_handler.models import Media

logger = logging.getLogger(__name__)

READ_CHUNK_BYTES = 1024 * 1024
# ASCII digits, at most 30 of them (a range we would refuse to parse is ignored, as RFC 9110
# allows: the whole file is sent).
RANGE_PATTERN = re.compile(r"^bytes=([0-9]{0,30})-([0-9]{0,30})$")

ByteRange = tuple[int, int]
UNSATISFIABLE: Literal["unsatisfiable"] = "unsatisfiable"


def serve_file(
    request: HttpRequest, media: Media, *, kind: str = "file", max_age: int = 0
) -> HttpResponseBase:
    """The bytes of `media`'s `kind` (its file, or its thumbnail or preview), with the headers
    that keep a browser from running them."""
    if kind == "file":
        storage_path, content_type = media.storage_path, media.mime_type
        as_attachment = media_family(media.mime_type) is None
    else:
        storage_path = stored_path(media, kind)
        content_type, as_attachment = mime_type_of(storage_path), False
    disposition = (
        content_disposition_header(
            as_attachment=as_attachment, filename=download_name(media, storage_path)
        )
        or ""
    )
    cache_control = f"private, max-age={max(max_age, 0)}"
    response: HttpResponseBase
    if is_object_store() and (settings.S3_REDIRECT_DOWNLOADS or sent_by_gateway(request)):
        # The store sends the bytes, with the headers chosen here (S3's response-* overrides).
        from media_handler.files.s3 import s3_presigned_url

        presigned = s3_presigned_url(
            storage_path,
            response_headers={
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
                "ResponseCacheControl": cache_control,
            },
        )
        if settings.S3_REDIRECT_DOWNLOADS:
            response = HttpResponseRedirect(presigned)
            # A client may keep the redirect only while its presigned URL is sure to work.
            redirect_age = min(max(max_age, 0), settings.S3_PRESIGNED_URL_SECONDS // 2)
            cache_control = f"private, max-age={redirect_age}"
        else:
            response = HttpResponse(content_type=content_type)
            response["X-Accel-Redirect"] = gateway_s3_location(presigned)
    elif sent_by_gateway(request):
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = f"{settings.X_ACCEL_REDIRECT_PREFIX}{storage_path}"
    else:
        try:
            response = _streamed(request, storage_path, content_type)
        except FileNotFoundError as exc:
            # A row whose file is gone (removed by hand, a lost volume): ours to fix, not a crash.
            logger.error("stored %s missing for media %s: %s", kind, media.pk, storage_path)
            raise NotFound(f"The {kind} of this media is missing.", code="file_missing") from exc
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = disposition
    response["Cache-Control"] = cache_control
    return response


def gateway_s3_location(presigned_url: str) -> str:
    """The gateway's internal location that fetches `presigned_url` from the store and sends
    its bytes (Range passed through): `<X_ACCEL_S3_PREFIX><scheme>/<host[:port]><path>?<query>`
    (gateway/templates/media-handler.conf.template)."""
    parts = urlsplit(presigned_url)
    return f"{settings.X_ACCEL_S3_PREFIX}{parts.scheme}/{parts.netloc}{parts.path}?{parts.query}"


def sent_by_gateway(request: HttpRequest) -> bool:
    """Whether nginx sends the bytes: only when USE_X_ACCEL_REDIRECT allows it and the request
    came through the gateway, which says so in `X-Sendfile-Type` (the Rack::Sendfile convention;
    the gateway sets it on every request it proxies). A client on the service's own port gets
    the bytes streamed, not an empty answer only nginx would understand."""
    return (
        settings.USE_X_ACCEL_REDIRECT
        and request.META.get("HTTP_X_SENDFILE_TYPE") == "X-Accel-Redirect"
    )


def download_name(media: Media, storage_path: str = "") -> str:
    """The media's name as an ASCII file name with the served file's extension (a derivative's
    name says which it is: `<name>.thumbnail.webp`)."""
    storage_path = storage_path or media.storage_path
    ascii_name = unicodedata.normalize("NFKD", media.name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePosixPath(ascii_name).stem).strip("._") or "media"
    derivative = DERIVATIVE_NAME.match(storage_path)
    kind = f".{derivative['kind']}" if derivative else ""
    return f"{stem[:100]}{kind}{PurePosixPath(storage_path).suffix}"


def _streamed(request: HttpRequest, storage_path: str, content_type: str) -> HttpResponseBase:
    size = stored_size(storage_path)
    byte_range = requested_range(request.headers.get("Range", ""), size)
    response: HttpResponseBase
    if byte_range is None:
        response = FileResponse(open_stored(storage_path), content_type=content_type)
    elif byte_range == UNSATISFIABLE:
        # JSON, as the gateway's own 416 is (a client talking to the service directly).
        response = JsonResponse(
            error_body("The requested range is not within the file.", code="range_not_satisfiable"),
            status=status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
        )
        response["Content-Range"] = f"bytes */{size}"
    else:
        start, end = byte_range
        response = StreamingHttpResponse(
            _read_range(storage_path, start, end),
            status=status.HTTP_206_PARTIAL_CONTENT,
            content_type=content_type,
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


def requested_range(header: str, size: int) -> ByteRange | Literal["unsatisfiable"] | None:
    """(start, end) inclusive for one satisfiable range, UNSATISFIABLE, or None to send all
    (no Range, several ranges, or a malformed header, which RFC 9110 says to ignore)."""
    match = RANGE_PATTERN.match(header.replace(" ", ""))
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return UNSATISFIABLE
        return max(size - length, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # an invalid range-spec: the header is ignored
    if start >= size:
        return UNSATISFIABLE
    return start, min(int(last), size - 1) if last else size - 1


def _read_range(storage_path: str, start: int, end: int) -> Iterator[bytes]:
    with open_stored(storage_path) as stream:
        stream.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = stream.read(min(READ_CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
