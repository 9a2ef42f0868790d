"""The OpenAPI description of the media service (drf-spectacular): its bearer authentication,
the slashless alias left out, and one decorator per view with what each operation answers.
The views stay free of it: `@schema.media_viewset` and friends are all they carry."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework.serializers import Serializer

from media_handler.models import MediaType
from media_handler.serializers import (
    AddToCollectionSerializer,
    BulkCheckResultSerializer,
    BulkCheckSerializer,
    ChangesPageSerializer,
    ChangesQuerySerializer,
    CollectionDetailSerializer,
    CollectionSerializer,
    ErrorSerializer,
    MediaCreateSerializer,
    MediaSerializer,
)


class StatelessJWTScheme(OpenApiAuthenticationExtension):
    target_class = "media_handler.authentication.StatelessJWTAuthentication"
    name = "bearerAuth"
    priority = 1  # ahead of drf-spectacular's own simplejwt extension, which would also match

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from the auth service (`/api/auth/login/`).",
        }


def drop_slashless_alias(endpoints):
    """`/api/media` is the mobile app's spelling of `/api/media/`; document the latter once."""
    return [endpoint for endpoint in endpoints if endpoint[0] != "/api/media"]


ERROR = OpenApiResponse(ErrorSerializer, description="`detail`, `code` and `message`.")
UNAUTHORIZED = OpenApiResponse(ErrorSerializer, description="Missing, bad or expired token.")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not one of the caller's objects.")
INVALID_PAGE = OpenApiResponse(ErrorSerializer, description="A page past the end, or not a number.")
BINARY = OpenApiResponse(OpenApiTypes.BINARY, description="The bytes (206 for a Range).")
UNSATISFIABLE = OpenApiResponse(description="A range past the end; `Content-Range: bytes */size`.")

MEDIA_FILTER_PARAMETERS = [
    OpenApiParameter("type", enum=MediaType.values, description="Only media of this type."),
    OpenApiParameter("collection", OpenApiTypes.UUID, description="Only this collection's."),
    OpenApiParameter(
        "is_deleted", OpenApiTypes.BOOL, description="`true` lists the trash (default false)."
    ),
]


def _edit(serializer: type[Serializer]) -> Any:
    """PUT and PATCH of one object: its new state, or why not."""
    return extend_schema(responses={401: UNAUTHORIZED, 200: serializer, 400: ERROR, 404: NOT_FOUND})


DESTROY = extend_schema(responses={401: UNAUTHORIZED, 204: None, 404: NOT_FOUND})

media_viewset = extend_schema_view(
    list=extend_schema(
        parameters=MEDIA_FILTER_PARAMETERS,
        responses={401: UNAUTHORIZED, 200: MediaSerializer, 400: ERROR, 404: INVALID_PAGE},
    ),
    create=extend_schema(
        request={
            "application/json": MediaCreateSerializer,
            "multipart/form-data": MediaCreateSerializer,
        },
        responses={
            401: UNAUTHORIZED,
            201: MediaSerializer,
            400: ERROR,
            413: OpenApiResponse(ErrorSerializer, description="The file is over the limit."),
        },
    ),
    retrieve=extend_schema(responses={401: UNAUTHORIZED, 200: MediaSerializer, 404: NOT_FOUND}),
    update=_edit(MediaSerializer),
    partial_update=_edit(MediaSerializer),
    destroy=DESTROY,
    restore=extend_schema(
        request=None, responses={401: UNAUTHORIZED, 200: MediaSerializer, 404: NOT_FOUND}
    ),
    bulk_check=extend_schema(
        request=BulkCheckSerializer,
        responses={401: UNAUTHORIZED, 200: BulkCheckResultSerializer, 400: ERROR},
    ),
    add_to_collection=extend_schema(
        request=AddToCollectionSerializer,
        responses={401: UNAUTHORIZED, 200: MediaSerializer, 400: ERROR, 404: NOT_FOUND},
    ),
    remove_from_collection=extend_schema(
        request=None, responses={401: UNAUTHORIZED, 200: MediaSerializer, 404: NOT_FOUND}
    ),
    file=extend_schema(
        responses={
            401: UNAUTHORIZED,
            (200, "*/*"): BINARY,
            (206, "*/*"): BINARY,
            404: NOT_FOUND,
            416: UNSATISFIABLE,
        }
    ),
)

collection_viewset = extend_schema_view(
    list=extend_schema(
        responses={401: UNAUTHORIZED, 200: CollectionSerializer, 400: ERROR, 404: INVALID_PAGE}
    ),
    create=extend_schema(
        responses={401: UNAUTHORIZED, 201: CollectionDetailSerializer, 400: ERROR}
    ),
    retrieve=extend_schema(
        responses={401: UNAUTHORIZED, 200: CollectionDetailSerializer, 404: NOT_FOUND}
    ),
    update=_edit(CollectionDetailSerializer),
    partial_update=_edit(CollectionDetailSerializer),
    destroy=DESTROY,
)

signed_file_view = extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("expires", OpenApiTypes.INT, required=True),
            OpenApiParameter("signature", OpenApiTypes.STR, required=True),
        ],
        responses={
            (200, "*/*"): BINARY,
            (206, "*/*"): BINARY,
            403: OpenApiResponse(ErrorSerializer, description="Expired or tampered link."),
            404: OpenApiResponse(ErrorSerializer, description="No such file, or in the trash."),
            416: UNSATISFIABLE,
        },
    )
)

# The gateway's own question before it streams an upload: not part of the public API.
token_check_view = extend_schema(exclude=True)

changes_view = extend_schema_view(
    get=extend_schema(
        parameters=[ChangesQuerySerializer],
        responses={
            401: UNAUTHORIZED,
            200: ChangesPageSerializer,
            400: ERROR,
            410: OpenApiResponse(
                ErrorSerializer, description="The cursor is too old: start again without it."
            ),
        },
    )
)
