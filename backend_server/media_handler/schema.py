"""The OpenAPI description of the media service (drf-spectacular): its bearer authentication,
one canonical operation per action (the aliases left out), and one decorator per view with what
each operation answers. The views stay free of it: `@schema.media_viewset` and friends are all
they carry. The error bodies and the security scheme's name are common.schema's."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.serializers import Serializer

from common.schema import (
    BEARER_SCHEME,
    SECURITY_SCHEME,
    ErrorSerializer,
    ValidationErrorSerializer,
)
from media_handler.serializers import (
    AddToCollectionSerializer,
    BulkCheckResultSerializer,
    BulkCheckSerializer,
    ChangesPageSerializer,
    ChangesQuerySerializer,
    CollectionDetailSerializer,
    CollectionSerializer,
    MediaCreateSerializer,
    MediaSerializer,
)


class StatelessJWTScheme(OpenApiAuthenticationExtension):
    target_class = "media_handler.authentication.StatelessJWTAuthentication"
    name = SECURITY_SCHEME
    priority = 1  # ahead of drf-spectacular's own simplejwt extension, which would also match

    def get_security_definition(self, auto_schema):
        return BEARER_SCHEME


def canonical_endpoints(endpoints):
    """Preprocessing hook: the mobile app's layout (media at the root, `collection/`; its routes'
    basenames start with `mobile-`, media_handler.urls) routes the same views as the seed
    layout's `media/` and `collections/`: the schema shows those once. (The optional trailing
    slash is one route, shown with its slash.)"""
    return [
        endpoint
        for endpoint in endpoints
        if not getattr(endpoint[3], "initkwargs", {}).get("basename", "").startswith("mobile-")
    ]


def optional_create_body(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: `POST media/`'s body is declared optional (one without is a 400, as
    documented). openapi-python-client 0.29.1 writes code that does not import for a required
    body with several content types (its issue #1451), and a generated client is how we prove
    this schema (`make client-check`)."""
    result["paths"]["/media/"]["post"]["requestBody"]["required"] = False
    return result


# The two bodies of `POST media/`, as clients should send them. Schema only: the view reads both
# with MediaCreateSerializer.
@extend_schema_serializer(component_name="MediaCreate")
class MediaCreateBodySerializer(MediaCreateSerializer):
    """A record without a file, sent as JSON."""

    file = None  # type: ignore[assignment]  # a declared field set to None is left out


@extend_schema_serializer(component_name="MediaUpload")
class MediaUploadBodySerializer(MediaCreateSerializer):
    """A file with its record, sent as multipart/form-data; its size, type and storage path
    come from the file."""

    size = None  # type: ignore[assignment]
    storage_path = None  # type: ignore[assignment]
    file = serializers.FileField(help_text="The image, video or audio file.")


ERROR = OpenApiResponse(ErrorSerializer, description="`detail`, `code` and `message`.")
INVALID = OpenApiResponse(
    ValidationErrorSerializer, description="Invalid input: one list of messages per field."
)
UNAUTHORIZED = OpenApiResponse(ErrorSerializer, description="Missing, bad or expired token.")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not one of the caller's objects.")
INVALID_PAGE = OpenApiResponse(ErrorSerializer, description="A page past the end, or not a number.")
TOO_LARGE = OpenApiResponse(ErrorSerializer, description="The file is over the limit.")
UNSATISFIABLE = OpenApiResponse(
    description="A malformed range, or none within the file; `Content-Range: bytes */size`."
)
# The bytes: generic clients read `application/octet-stream`; the service sends the file's own
# type (sniffed at upload: always an image, a video or an audio type).
BYTES_TYPES = ("application/octet-stream", "image/*", "video/*", "audio/*")


def _bytes(status: int, description: str) -> dict[int | tuple[int, str], OpenApiResponse]:
    return {
        (status, content_type): OpenApiResponse(OpenApiTypes.BINARY, description=description)
        for content_type in BYTES_TYPES
    }


FILE_RESPONSES: dict[int | tuple[int, str], OpenApiResponse] = {
    **_bytes(200, "The whole file."),
    **_bytes(206, "The requested range (HTTP Range), with `Content-Range`."),
    416: UNSATISFIABLE,
}

MEDIA_FILTER_PARAMETERS = [
    # The records' own TypeEnum, not a second enum of the same values.
    OpenApiParameter(
        "type", {"$ref": "#/components/schemas/TypeEnum"}, description="Only media of this type."
    ),
    OpenApiParameter("collection", OpenApiTypes.UUID, description="Only this collection's."),
    OpenApiParameter(
        "is_deleted", OpenApiTypes.BOOL, description="`true` lists the trash (default false)."
    ),
]


RANGE = OpenApiParameter(
    "Range",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A byte range (`bytes=0-1023`): answered with 206 and `Content-Range`.",
)


def _op(operation_id: str, **kwargs: Any) -> Any:
    return extend_schema(operation_id=operation_id, **kwargs)


def _edit(operation_id: str, serializer: type[Serializer]) -> Any:
    """PUT and PATCH of one object: its new state, or why not."""
    return _op(
        operation_id,
        responses={401: UNAUTHORIZED, 200: serializer, 400: INVALID, 404: NOT_FOUND},
    )


def _destroy(operation_id: str) -> Any:
    return _op(operation_id, responses={401: UNAUTHORIZED, 204: None, 404: NOT_FOUND})


media_viewset = extend_schema_view(
    list=_op(
        "media_list",
        parameters=MEDIA_FILTER_PARAMETERS,
        responses={401: UNAUTHORIZED, 200: MediaSerializer, 400: INVALID, 404: INVALID_PAGE},
    ),
    create=_op(
        "media_create",
        description="JSON (`MediaCreateRequest`): a record without a file, its `size` and "
        "`storage_path` given by the client. multipart/form-data (`MediaUploadRequest`): an "
        "upload, its size, type and path taken from the file.",
        request={
            "application/json": MediaCreateBodySerializer,
            "multipart/form-data": MediaUploadBodySerializer,
        },
        responses={401: UNAUTHORIZED, 201: MediaSerializer, 400: INVALID, 413: TOO_LARGE},
    ),
    retrieve=_op(
        "media_retrieve", responses={401: UNAUTHORIZED, 200: MediaSerializer, 404: NOT_FOUND}
    ),
    bulk_check=_op(
        "media_bulk_check",
        request=BulkCheckSerializer,
        responses={401: UNAUTHORIZED, 200: BulkCheckResultSerializer, 400: INVALID},
    ),
    update=_edit("media_update", MediaSerializer),
    partial_update=_edit("media_partial_update", MediaSerializer),
    destroy=_destroy("media_destroy"),
    restore=_op(
        "media_restore",
        request=None,
        responses={401: UNAUTHORIZED, 200: MediaSerializer, 404: NOT_FOUND},
    ),
    add_to_collection=_op(
        "media_add_to_collection",
        request=AddToCollectionSerializer,
        responses={401: UNAUTHORIZED, 200: MediaSerializer, 400: INVALID, 404: NOT_FOUND},
    ),
    remove_from_collection=_op(
        "media_remove_from_collection",
        request=None,
        responses={401: UNAUTHORIZED, 200: MediaSerializer, 404: NOT_FOUND},
    ),
    file=_op(
        "media_file",
        parameters=[RANGE],
        responses={401: UNAUTHORIZED, 404: NOT_FOUND, **FILE_RESPONSES},
    ),
)

collection_viewset = extend_schema_view(
    list=_op(
        "collections_list",
        responses={
            401: UNAUTHORIZED,
            200: CollectionSerializer,
            400: INVALID,
            404: INVALID_PAGE,
        },
    ),
    create=_op(
        "collections_create",
        responses={401: UNAUTHORIZED, 201: CollectionDetailSerializer, 400: INVALID},
    ),
    retrieve=_op(
        "collections_retrieve",
        responses={401: UNAUTHORIZED, 200: CollectionDetailSerializer, 404: NOT_FOUND},
    ),
    update=_edit("collections_update", CollectionDetailSerializer),
    partial_update=_edit("collections_partial_update", CollectionDetailSerializer),
    destroy=_destroy("collections_destroy"),
)


# One class serves `files/{media_id}/`, `.../thumbnail/` and `.../preview/`: their operation ids
# are drf-spectacular's (files_retrieve, files_thumbnail_retrieve, files_preview_retrieve).
signed_file_view = extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("expires", OpenApiTypes.INT, required=True),
            OpenApiParameter("signature", OpenApiTypes.STR, required=True),
            RANGE,
        ],
        responses={
            403: OpenApiResponse(ErrorSerializer, description="Expired or tampered link."),
            404: OpenApiResponse(ErrorSerializer, description="No such file, or in the trash."),
            **FILE_RESPONSES,
        },
    )
)

# The gateway's own question before it streams an upload: not part of the public API.
token_check_view = extend_schema(exclude=True)

changes_view = extend_schema_view(
    get=_op(
        "changes_list",
        parameters=[ChangesQuerySerializer],
        responses={
            401: UNAUTHORIZED,
            200: ChangesPageSerializer,
            400: INVALID,
            410: OpenApiResponse(
                ErrorSerializer, description="The cursor is too old: start again without it."
            ),
        },
    )
)

TUS_HEADERS = [
    OpenApiParameter(
        "Tus-Resumable",
        OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        required=True,
        description="`1.0.0` (else 412).",
    ),
]
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The same key and request within 24 h replays the first answer; another body "
    "is a 422, a repeat while the first is in flight a 409.",
)
CONFLICT = OpenApiResponse(
    ErrorSerializer, description="Upload-Offset is not the server's, or another PATCH holds it."
)
CHUNK = {"application/offset+octet-stream": OpenApiTypes.BINARY}
TUS_VERSION_MISSING = OpenApiResponse(
    ErrorSerializer, description="No `Tus-Resumable: 1.0.0`; the answer names `Tus-Version`."
)

upload_list_view = extend_schema_view(
    post=_op(
        "uploads_create",
        description="tus creation (and creation-with-upload): `Upload-Length`, "
        "`Upload-Metadata` (base64 `filename`, `name`, `type`, `description`, `collection`); "
        "201 with `Location`, `Upload-Offset`, `Upload-Expires`.",
        request=CHUNK,
        parameters=[
            *TUS_HEADERS,
            OpenApiParameter(
                "Upload-Length", OpenApiTypes.INT, location=OpenApiParameter.HEADER, required=True
            ),
            OpenApiParameter("Upload-Metadata", OpenApiTypes.STR, location=OpenApiParameter.HEADER),
            IDEMPOTENCY_KEY,
        ],
        responses={
            201: None,
            400: INVALID,
            401: UNAUTHORIZED,
            409: OpenApiResponse(
                ErrorSerializer, description="A request with this Idempotency-Key is in flight."
            ),
            412: TUS_VERSION_MISSING,
            413: TOO_LARGE,
            415: OpenApiResponse(ErrorSerializer, description="Not offset+octet-stream."),
            422: OpenApiResponse(
                ErrorSerializer, description="This Idempotency-Key came with another request."
            ),
            429: OpenApiResponse(ErrorSerializer, description="Too many unfinished uploads."),
            460: OpenApiResponse(ErrorSerializer, description="Checksum mismatch: discarded."),
        },
    )
)

upload_detail_view = extend_schema_view(
    patch=_op(
        "uploads_partial_update",
        description="The next chunk at `Upload-Offset`; 204 with the new `Upload-Offset` (and "
        "`Media-Id` once the last byte has made the media).",
        request=CHUNK,
        parameters=[
            *TUS_HEADERS,
            OpenApiParameter(
                "Upload-Offset", OpenApiTypes.INT, location=OpenApiParameter.HEADER, required=True
            ),
            OpenApiParameter(
                "Upload-Checksum",
                OpenApiTypes.STR,
                location=OpenApiParameter.HEADER,
                description="`sha1 <base64>` or `sha256 <base64>`; a mismatch is a 460.",
            ),
        ],
        responses={
            204: None,
            400: INVALID,
            401: UNAUTHORIZED,
            404: NOT_FOUND,
            409: CONFLICT,
            410: OpenApiResponse(ErrorSerializer, description="The upload has expired."),
            412: TUS_VERSION_MISSING,
            413: TOO_LARGE,
            415: OpenApiResponse(ErrorSerializer, description="Not offset+octet-stream."),
            460: OpenApiResponse(ErrorSerializer, description="Checksum mismatch: discarded."),
        },
    ),
    delete=_op(
        "uploads_destroy",
        parameters=TUS_HEADERS,
        responses={
            204: None,
            401: UNAUTHORIZED,
            404: NOT_FOUND,
            410: OpenApiResponse(ErrorSerializer, description="The upload has expired."),
            412: TUS_VERSION_MISSING,
        },
    ),
)
