"""The HTTP answer that carries a media's bytes (its file, thumbnail or preview), for the views
that serve them (the signed URLs and the owner's `file/` action): nginx sends them
(X-Accel-Redirect) for a request through the gateway (from MEDIA_ROOT, or from the bucket through
a presigned URL it fetches), else they are streamed from the storage here, with single-range
support (RFC 9110). A Range is read here as nginx reads it, so every path answers it alike. With
S3_REDIRECT_DOWNLOADS the answer is instead a redirect to a presigned URL of the store."""

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
# One range-spec of a `bytes=` Range: first-last, first- or -suffix, spaces around the numbers
# where nginx skips them (ASCII digits and spaces only, as nginx reads them).
RANGE_SPEC = re.compile(r" *(?:([0-9]+) *-(?: *([0-9]+))?|-([0-9]+)) *")
# nginx refuses an offset past a signed 64-bit number (off_t).
MAX_OFFSET = 2**63 - 1
# The range nginx asks the bucket for (its location for MEDIA_STORAGE=s3 reads it).
STORE_RANGE_HEADER = "X-Media-Handler-Range"

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
    is_handed_off = sent_by_gateway(request) or (
        is_object_store() and settings.S3_REDIRECT_DOWNLOADS
    )
    # nginx or the store sends the bytes and reads the Range; a range they would refuse is
    # refused here, alike on every path (their 416 would carry the file's headers). Only a
    # request with a Range costs a look at the size (a grid's thumbnails come without).
    size = byte_range = None
    if is_handed_off and "Range" in request.headers:
        size = _size_at_hand(media, kind, storage_path)
        byte_range = None if size is None else _range_to_send(request, size)
        if byte_range == UNSATISFIABLE:
            return range_not_satisfiable(size)  # type: ignore[arg-type]
    response: HttpResponseBase
    if is_object_store() and is_handed_off:
        # The store sends the bytes, with the headers chosen here (S3's response-* overrides),
        # signed for the request's method (a HEAD is passed on as a HEAD).
        from media_handler.files.s3 import s3_presigned_url

        presigned = s3_presigned_url(
            storage_path,
            response_headers={
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
                "ResponseCacheControl": cache_control,
            },
            method=request.method or "GET",
        )
        if settings.S3_REDIRECT_DOWNLOADS:
            response = HttpResponseRedirect(presigned)
            # A client may keep the redirect only while its presigned URL is sure to work.
            redirect_age = min(max(max_age, 0), settings.S3_PRESIGNED_URL_SECONDS // 2)
            cache_control = f"private, max-age={redirect_age}"
        else:
            response = HttpResponse(content_type=content_type)
            response["X-Accel-Redirect"] = gateway_s3_location(presigned)
            if store_range := range_for_the_store(request, size=size, byte_range=byte_range):
                response[STORE_RANGE_HEADER] = store_range
            # The store's answer carries Content-Disposition and Cache-Control (signed above), on
            # its bytes only: nginx would keep these on any answer, a store's error too.
            response["X-Content-Type-Options"] = "nosniff"
            return response
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
        if response.status_code == status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE:
            return response
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = disposition
    response["Cache-Control"] = cache_control
    return response


def range_not_satisfiable(size: int) -> HttpResponse:
    """The JSON 416 of a Range refused for a file of `size` bytes: an error, so none of the
    file's headers, and kept by no cache."""
    response = JsonResponse(
        error_body("The requested range is not within the file.", code="range_not_satisfiable"),
        status=status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
    )
    response["Content-Range"] = f"bytes */{size}"
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _size_at_hand(media: Media, kind: str, storage_path: str) -> int | None:
    """The served file's size when it costs no request to the store: the media's own (recorded
    when it was stored), a derivative's on local disk; None for a derivative in the bucket, or
    one that is gone (nginx then answers as it does)."""
    if kind == "file":
        return media.size
    if is_object_store():
        return None
    try:
        return stored_size(storage_path)
    except FileNotFoundError:
        return None


def range_for_the_store(
    request: HttpRequest,
    *,
    size: int | None,
    byte_range: ByteRange | Literal["unsatisfiable"] | None,
) -> str:
    """The Range the gateway asks the store for (STORE_RANGE_HEADER; empty: the whole file),
    so that the bucket answers as the service and nginx do: `byte_range` (_range_to_send) when
    the file's `size` is known, else the client's ranges with the unit spelled as S3 expects;
    none for a request with an If-Range, which the store ignores and whose validator (one of
    the store's) nothing here can check, so the whole file (RFC 9110, section 13.1.5)."""
    if size is not None:
        if byte_range is None or byte_range == UNSATISFIABLE:
            return ""
        start, end = byte_range
        return f"bytes={start}-{end}"
    header = request.headers.get("Range", "")
    if "If-Range" in request.headers or header[:6].lower() != "bytes=":
        return ""
    return f"bytes={header[6:]}"


def gateway_s3_location(presigned_url: str) -> str:
    """The gateway's internal location that fetches `presigned_url` from the store and sends
    its bytes (the range STORE_RANGE_HEADER names):
    `<X_ACCEL_S3_PREFIX><scheme>/<host[:port]><path>?<query>`
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
    byte_range = _range_to_send(request, size)
    response: HttpResponseBase
    if byte_range is None:
        response = FileResponse(open_stored(storage_path), content_type=content_type)
    elif byte_range == UNSATISFIABLE:
        return range_not_satisfiable(size)  # JSON, as the gateway's own 416 is
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


def _range_to_send(request: HttpRequest, size: int) -> ByteRange | Literal["unsatisfiable"] | None:
    """The request's Range for a file of `size` bytes (requested_range), or None when it comes
    with an If-Range: the answers streamed here carry no validator the client could hold, so
    its condition is false and the whole file is sent (RFC 9110, section 13.1.5)."""
    if "If-Range" in request.headers:
        return None
    return requested_range(request.headers.get("Range", ""), size)


def requested_range(header: str, size: int) -> ByteRange | Literal["unsatisfiable"] | None:
    """(start, end) inclusive of the one range to send, UNSATISFIABLE, or None to send the whole
    file: the answer nginx gives to the same header from MEDIA_ROOT (ngx_http_range_parse, with
    max_ranges 1), so the service, the gateway and the bucket behind it agree. After RFC 9110:
    the unit is case-insensitive and another unit is ignored (section 14.1); a malformed
    range-spec rejects the header, a range that starts past the end is left out, and a header
    with none left is refused (section 14.2; 416, section 15.5.17); several ranges get the whole
    file (the service sends one range; section 14.2 allows ignoring the header)."""
    if len(header) < len("bytes=x") or header[:6].lower() != "bytes=":
        return None
    ranges: list[ByteRange] = []
    for spec in header[6:].split(","):
        match = RANGE_SPEC.fullmatch(spec)
        if match is None or any(
            _offset(digits) > MAX_OFFSET for digits in match.groups() if digits
        ):
            return UNSATISFIABLE
        first, last, suffix = (_offset(digits) if digits else None for digits in match.groups())
        if suffix is not None:  # the last `suffix` bytes
            start, end = max(size - suffix, 0), size
        else:
            start = first or 0
            end = size if last is None else min(last + 1, size)
        if start < end:
            ranges.append((start, end - 1))
            if len(ranges) > 1:
                return None
        elif start == 0:  # an empty file: all of it
            return None
    return ranges[0] if ranges else UNSATISFIABLE


def _offset(digits: str) -> int:
    """The number ASCII `digits` spell, MAX_OFFSET + 1 for any past it (however many digits)."""
    significant = digits.lstrip("0") or "0"
    if len(significant) > len(str(MAX_OFFSET)):
        return MAX_OFFSET + 1
    return int(significant)


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
