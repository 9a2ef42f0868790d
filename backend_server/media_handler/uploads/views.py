"""The tus 1.0.0 endpoints (SPEC.md, "Resumable uploads"): `uploads/` (OPTIONS, POST) and
`uploads/<id>/` (HEAD, PATCH, DELETE, OPTIONS). The views read the tus headers and call
media_handler.uploads.services; every answer carries `Tus-Resumable`, errors are the service's
JSON. Bodies are read raw, straight from the request (never parsed, never held whole)."""

import hashlib
from http import HTTPStatus

from django.conf import settings
from django.urls import reverse
from django.utils.http import http_date
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.exceptions import ApplicationError
from media_handler import schema
from media_handler.authentication import caller_id
from media_handler.idempotency import answer_body_sha256, idempotent
from media_handler.models import Upload
from media_handler.uploads import services
from media_handler.uploads.running_sha256 import RunningSha256

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHUNK_CONTENT_TYPE = "application/offset+octet-stream"
# Methods a client that cannot send them may tunnel through POST (tus's X-HTTP-Method-Override).
OVERRIDABLE_METHODS = ("PATCH", "DELETE", "HEAD")


def _header_integer(request: Request, name: str, *, required: bool = True) -> int | None:
    value = request.headers.get(name)
    if value is None:
        if required:
            raise ApplicationError(f"The {name} header is required.", code="invalid", field=name)
        return None
    if not value.isdigit():
        raise ApplicationError(
            f"The {name} header must be a non-negative integer.", code="invalid", field=name
        )
    return int(value)


def _body_length(request: Request) -> int:
    return int(request.headers.get("Content-Length") or 0)


def _upload_headers(upload: Upload) -> dict[str, str]:
    headers = {"Upload-Offset": str(upload.offset)}
    if upload.is_complete:
        headers["Media-Id"] = str(upload.media_id)
    else:
        headers["Upload-Expires"] = http_date(upload.expires_at.timestamp())
    return headers


def _checksum(request: Request) -> services.Checksum | None:
    header = request.headers.get("Upload-Checksum")
    return services.checksum_parse(header) if header is not None else None


def _check_chunk_content_type(request: Request) -> None:
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != CHUNK_CONTENT_TYPE:
        raise ApplicationError(
            f"A chunk's Content-Type must be {CHUNK_CONTENT_TYPE}.",
            code="unsupported_media_type",
            status=HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        )


def creation_fingerprint(request: Request) -> str:
    """What a creation is, for Idempotency-Key: its tus headers and its first chunk's size and
    checksum. The chunk's bytes are streamed into the upload after the claim, so they are
    compared apart (creation_body_sha256)."""
    return "\n".join(
        request.headers.get(name, "")
        for name in ("Upload-Length", "Upload-Metadata", "Content-Length", "Upload-Checksum")
    )


def creation_body_sha256(request: Request) -> str:
    """The SHA-256 of a repeated creation's first chunk, read to its end: the same key with
    other bytes of the same length is another request (422), not one to replay."""
    digest = hashlib.sha256()
    # As a PATCH reads it (a body cut short hashes to what arrived: no answer's bytes).
    for chunk in services.received_chunks(request._request, _body_length(request)):
        digest.update(chunk)
    return digest.hexdigest()


class TusView(APIView):
    """What both tus endpoints share: the version check, the method override, the headers."""

    def initial(self, request: Request, *args, **kwargs) -> None:
        override = request.headers.get("X-HTTP-Method-Override", "").upper()
        if request.method == "POST" and override in OVERRIDABLE_METHODS:
            request._request.method = override
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise ApplicationError(
                f"This server speaks tus {TUS_VERSION}: send Tus-Resumable: {TUS_VERSION}.",
                code="tus_version_unsupported",
                status=HTTPStatus.PRECONDITION_FAILED,
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = TUS_VERSION
        if response.status_code == HTTPStatus.PRECONDITION_FAILED:
            response["Tus-Version"] = TUS_VERSION
        if response.status_code == services.CHECKSUM_MISMATCH:
            response.reason_phrase = "Checksum Mismatch"
        return response

    def options(self, request, *args, **kwargs) -> Response:
        return Response(
            status=HTTPStatus.NO_CONTENT,
            headers={
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": TUS_EXTENSIONS,
                "Tus-Max-Size": str(settings.MAX_UPLOAD_SIZE),
                "Tus-Checksum-Algorithm": ",".join(services.CHECKSUM_ALGORITHMS),
            },
        )


@schema.upload_list_view
class UploadListView(TusView):
    """`uploads/`: OPTIONS (what this server speaks) and POST (creation, with or without a
    first chunk)."""

    @idempotent("upload-create", fingerprint=creation_fingerprint, body_sha256=creation_body_sha256)
    def post(self, request: Request) -> Response:
        length = _header_integer(request, "Upload-Length")
        assert length is not None
        body_length = _body_length(request)
        checksum = None
        if body_length:
            _check_chunk_content_type(request)
            checksum = _checksum(request)
        upload = services.upload_create(
            user_id=caller_id(request),
            length=length,
            raw_metadata=request.headers.get("Upload-Metadata", ""),
        )
        if body_length or length == 0:
            try:
                upload = services.upload_append(
                    user_id=upload.user,
                    upload_id=upload.pk,
                    offset=0,
                    body=request._request,
                    body_length=body_length,
                    checksum=checksum,
                )
            except BaseException:
                # The client never learns this upload's URL: it must not linger.
                services.upload_discard(upload=upload)
                raise
            if upload.offset < body_length:
                # The body ended before its Content-Length: the client went away, and with it
                # the only copy of this upload's URL. Kept, it would count against the user's
                # open uploads for a day (a client that retries its creation makes one each time).
                services.upload_discard(upload=upload)
                raise ApplicationError(
                    "The first chunk ended before its Content-Length; the upload was not kept.",
                    code="incomplete_body",
                )
        location = request.build_absolute_uri(reverse("upload-detail", args=[upload.pk]))
        headers = {"Location": location, **_upload_headers(upload)}
        if not upload.is_complete:
            headers["Upload-Expires"] = http_date(upload.expires_at.timestamp())
        response = Response(status=HTTPStatus.CREATED, headers=headers)
        if body_length:
            # The upload began at 0: its running hash so far is the first chunk's.
            answer_body_sha256(response, RunningSha256(bytes(upload.sha256_state)).hexdigest())
        return response


@schema.upload_detail_view
class UploadDetailView(TusView):
    """`uploads/<id>/`: HEAD (where it stands), PATCH (the next chunk), DELETE (termination)."""

    def head(self, request: Request, upload_id: str) -> Response:
        upload = services.upload_get(user_id=caller_id(request), upload_id=upload_id)
        headers = {
            "Upload-Length": str(upload.length),
            "Cache-Control": "no-store",
            **_upload_headers(upload),
        }
        if upload.raw_metadata:
            headers["Upload-Metadata"] = upload.raw_metadata
        return Response(status=HTTPStatus.OK, headers=headers)

    def patch(self, request: Request, upload_id: str) -> Response:
        _check_chunk_content_type(request)
        offset = _header_integer(request, "Upload-Offset")
        assert offset is not None
        checksum = _checksum(request)
        upload = services.upload_append(
            user_id=caller_id(request),
            upload_id=upload_id,
            offset=offset,
            body=request._request,
            body_length=_body_length(request),
            checksum=checksum,
        )
        return Response(status=HTTPStatus.NO_CONTENT, headers=_upload_headers(upload))

    def delete(self, request: Request, upload_id: str) -> Response:
        upload = services.upload_get(user_id=caller_id(request), upload_id=upload_id)
        services.upload_terminate(upload=upload)
        return Response(status=HTTPStatus.NO_CONTENT)
