import json

from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.filters import SearchFilter
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from media_handler import page_cache, selectors, services
from media_handler.files.signing import signature_is_valid
from media_handler.filters import StableOrderingFilter
from media_handler.models import Collection, Media, MediaType
from media_handler.responses import serve_file
from media_handler.serializers import (
    AddToCollectionSerializer,
    CollectionDetailSerializer,
    CollectionSerializer,
    ErrorSerializer,
    MediaCreateSerializer,
    MediaSerializer,
)

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

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


@extend_schema_view(
    list=extend_schema(
        parameters=MEDIA_FILTER_PARAMETERS,
        responses={401: UNAUTHORIZED, 200: MediaSerializer, 400: ERROR, 404: INVALID_PAGE},
    ),
    retrieve=extend_schema(responses={401: UNAUTHORIZED, 200: MediaSerializer, 404: NOT_FOUND}),
    update=extend_schema(
        responses={401: UNAUTHORIZED, 200: MediaSerializer, 400: ERROR, 404: NOT_FOUND}
    ),
    partial_update=extend_schema(
        responses={401: UNAUTHORIZED, 200: MediaSerializer, 400: ERROR, 404: NOT_FOUND}
    ),
    destroy=extend_schema(responses={401: UNAUTHORIZED, 204: None, 404: NOT_FOUND}),
)
class MediaViewSet(viewsets.GenericViewSet):
    queryset = Media.objects.none()  # every read goes through media_handler.selectors
    serializer_class = MediaSerializer
    lookup_value_regex = UUID_PATTERN
    filter_backends = [SearchFilter, StableOrderingFilter]
    search_fields = ["name", "description"]
    ordering_fields = ["created_at", "name", "size"]
    ordering = ["-created_at"]

    def get_object(self) -> Media:
        return selectors.media_get(
            user_id=self.request.user.id,
            media_id=self.kwargs["pk"],
            include_deleted=self.action == "restore",
        )

    # This request's place in the list page cache, looked up by dispatch.
    list_page: page_cache.CachedPage | None = None

    def dispatch(self, request, *args, **kwargs):
        """A current cached list page is answered before DRF wraps the request: it needs only
        the caller's verified id, and DRF's negotiation, checks and response handling cost more
        than serving the page itself (docs/performance.md). Anything else takes DRF's full path,
        which answers a missing or bad token as ever."""
        if request.method == "GET" and self.action_map.get("get") == "list":
            self.list_page = self._list_page(request)
            if self.list_page is not None and self.list_page.found is not None:
                self.headers = self.default_response_headers
                return self.finalize_response(request, self.list_page.response())
        return super().dispatch(request, *args, **kwargs)

    def _list_page(self, request: HttpRequest) -> page_cache.CachedPage | None:
        """This request's place in the list page cache, for a caller whose token verifies and
        who accepts plain JSON (no Accept, `*/*` or `application/json`, as the app and curl
        send): its rendering is then known without DRF's negotiation. None for anyone else,
        whose page is built afresh."""
        # META, not request.headers, which would parse every header of the request first.
        if request.META.get("HTTP_ACCEPT", "*/*") not in ("*/*", JSONRenderer.media_type):
            return None
        for authenticator in self.get_authenticators():
            try:
                found = authenticator.authenticate(request)
            except APIException:
                return None  # DRF's full path answers it
            if found is not None:
                user, _ = found
                return page_cache.lookup(request, owner=user.id, media_type=JSONRenderer.media_type)
        return None

    def list(self, request, *args, **kwargs):
        media = selectors.media_list(user_id=request.user.id, filters=request.query_params)
        page = self.paginate_queryset(self.filter_queryset(media))
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        if self.list_page is None:
            return response
        renderer = request.accepted_renderer
        body = renderer.render(
            response.data, request.accepted_media_type, self.get_renderer_context()
        )
        return self.list_page.store(body, content_type=renderer.media_type)

    @extend_schema(
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
    )
    def create(self, request, *args, **kwargs):
        serializer = MediaCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        upload = data.pop("file", None)
        media = services.media_create(user_id=request.user.id, data=data, upload=upload)
        return Response(self.get_serializer(media).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)

    def update(self, request, *args, partial=False, **kwargs):
        media = self.get_object()
        serializer = self.get_serializer(media, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        media = services.media_update(media=media, data=serializer.validated_data)
        return Response(self.get_serializer(media).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        services.media_soft_delete(media=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None, responses={401: UNAUTHORIZED, 200: MediaSerializer, 404: NOT_FOUND}
    )
    @action(detail=True, methods=["post"])
    def restore(self, request, *args, **kwargs):
        media = services.media_restore(media=self.get_object())
        return Response(self.get_serializer(media).data)

    @extend_schema(
        request=AddToCollectionSerializer,
        responses={401: UNAUTHORIZED, 200: MediaSerializer, 400: ERROR, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="add-to-collection")
    def add_to_collection(self, request, *args, **kwargs):
        media = self.get_object()
        serializer = AddToCollectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        media = services.collection_add_media(
            media=media, collection_id=serializer.validated_data["collection_id"]
        )
        return Response(self.get_serializer(media).data)

    @extend_schema(
        request=None, responses={401: UNAUTHORIZED, 200: MediaSerializer, 404: NOT_FOUND}
    )
    @action(detail=True, methods=["post"], url_path="remove-from-collection")
    def remove_from_collection(self, request, *args, **kwargs):
        media = services.collection_remove_media(media=self.get_object())
        return Response(self.get_serializer(media).data)

    @extend_schema(
        responses={
            401: UNAUTHORIZED,
            (200, "*/*"): BINARY,
            (206, "*/*"): BINARY,
            404: NOT_FOUND,
            416: UNSATISFIABLE,
        }
    )
    @action(detail=True, methods=["get"])
    def file(self, request, *args, **kwargs):
        media = self.get_object()
        if not media.has_file:
            raise NotFound("This media has no file.", code="no_file")
        return serve_file(request, media)


@extend_schema_view(
    list=extend_schema(
        responses={401: UNAUTHORIZED, 200: CollectionSerializer, 400: ERROR, 404: INVALID_PAGE}
    ),
    create=extend_schema(
        responses={401: UNAUTHORIZED, 201: CollectionDetailSerializer, 400: ERROR}
    ),
    retrieve=extend_schema(
        responses={401: UNAUTHORIZED, 200: CollectionDetailSerializer, 404: NOT_FOUND}
    ),
    update=extend_schema(
        responses={401: UNAUTHORIZED, 200: CollectionDetailSerializer, 400: ERROR, 404: NOT_FOUND}
    ),
    partial_update=extend_schema(
        responses={401: UNAUTHORIZED, 200: CollectionDetailSerializer, 400: ERROR, 404: NOT_FOUND}
    ),
    destroy=extend_schema(responses={401: UNAUTHORIZED, 204: None, 404: NOT_FOUND}),
)
class CollectionViewSet(viewsets.GenericViewSet):
    queryset = Collection.objects.none()  # every read goes through media_handler.selectors
    serializer_class = CollectionSerializer
    lookup_value_regex = UUID_PATTERN
    filter_backends = [SearchFilter, StableOrderingFilter]
    search_fields = ["name", "description"]
    ordering_fields = ["created_at", "name"]
    ordering = ["-created_at"]

    def get_object(self) -> Collection:
        return selectors.collection_get(
            user_id=self.request.user.id, collection_id=self.kwargs["pk"]
        )

    def _detail(self, collection: Collection, *, status_code: int = status.HTTP_200_OK):
        """The collection as retrieve shows it, read again after a write for its count."""
        fresh = selectors.collection_get(user_id=self.request.user.id, collection_id=collection.pk)
        context = self.get_serializer_context()
        return Response(CollectionDetailSerializer(fresh, context=context).data, status=status_code)

    def list(self, request, *args, **kwargs):
        collections = selectors.collection_list(user_id=request.user.id)
        page = self.paginate_queryset(self.filter_queryset(collections))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        collection = services.collection_create(
            user_id=request.user.id, data=serializer.validated_data
        )
        return self._detail(collection, status_code=status.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        context = self.get_serializer_context()
        return Response(CollectionDetailSerializer(self.get_object(), context=context).data)

    def update(self, request, *args, partial=False, **kwargs):
        collection = self.get_object()
        serializer = self.get_serializer(collection, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        collection = services.collection_update(
            collection=collection, data=serializer.validated_data
        )
        return self._detail(collection)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        services.collection_delete(collection=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignedFileView(APIView):
    """The bytes behind a signed `file` URL. The signature is the permission: no Authorization
    is read, so the mobile app can load the URL straight into an image view."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
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
    def get(self, request, media_id):
        media = selectors.media_with_file(media_id=media_id)
        if media is None:
            raise NotFound("No file found with this id.", code="file_not_found")
        expires = request.query_params.get("expires", "")
        if not signature_is_valid(
            media, expires=expires, signature=request.query_params.get("signature", "")
        ):
            raise PermissionDenied(
                "This file link is invalid or has expired.", code="bad_signature"
            )
        return serve_file(request, media, max_age=int(expires) - int(timezone.now().timestamp()))


@extend_schema(exclude=True)
class TokenCheckView(APIView):
    """204 for a usable access token, else the 401 any media endpoint would answer, its body
    repeated in an `X-Auth-Error` header. The gateway asks this before it streams an upload's
    body to the service (auth_request), and answers a refusal itself with that body."""

    def get(self, request):
        return Response(status=status.HTTP_204_NO_CONTENT)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == status.HTTP_401_UNAUTHORIZED:
            response["X-Auth-Error"] = json.dumps(response.data, separators=(",", ":"))
        return response
