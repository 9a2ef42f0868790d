import json
from typing import cast

from django.conf import settings
from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from django.utils import timezone
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.filters import SearchFilter
from rest_framework.parsers import BaseParser, FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import Token

from common.parsers import JSONParser, MultiPartParser
from media_handler import changes, schema, selectors, services
from media_handler.authentication import caller_id
from media_handler.files.signing import signature_is_valid
from media_handler.filters import StableOrderingFilter
from media_handler.idempotency import idempotent
from media_handler.models import Collection, Media
from media_handler.page_cache import CachedListMixin
from media_handler.responses import serve_file
from media_handler.serializers import (
    AddToCollectionSerializer,
    BulkCheckSerializer,
    ChangesQuerySerializer,
    CollectionDetailSerializer,
    CollectionSerializer,
    MediaCreateSerializer,
    MediaSerializer,
    iso_datetime,
)

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@schema.media_viewset
class MediaViewSet(CachedListMixin, viewsets.GenericViewSet):
    queryset = Media.objects.none()  # every read goes through media_handler.selectors
    serializer_class = MediaSerializer
    lookup_value_regex = UUID_PATTERN
    filter_backends = [SearchFilter, StableOrderingFilter]
    search_fields = ["name", "description"]
    ordering_fields = ["created_at", "name", "size"]
    ordering = ["-created_at"]

    def get_parsers(self) -> list[BaseParser]:
        # Only the create accepts a file (multipart, or a form as the mobile app may send);
        # every other action reads JSON alone.
        method = getattr(self.request, "method", None) or ""  # None while the schema is built
        if self.action_map.get(method.lower()) == "create":
            return [JSONParser(), FormParser(), MultiPartParser()]
        return super().get_parsers()

    def get_queryset(self) -> QuerySet[Media]:
        return selectors.media_list(
            user_id=caller_id(self.request), filters=self.request.query_params
        )

    def get_object(self) -> Media:
        return selectors.media_get(
            user_id=caller_id(self.request),
            media_id=self.kwargs["pk"],
            include_deleted=self.action == "restore",
        )

    @idempotent("media-create")
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = MediaCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        upload = data.pop("file", None)
        media = services.media_create(user_id=caller_id(request), data=data, upload=upload)
        return Response(self.get_serializer(media).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def update(self, request: Request, *args, partial: bool = False, **kwargs) -> Response:
        media = self.get_object()
        serializer = self.get_serializer(media, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        media = services.media_update(media=media, data=serializer.validated_data)
        return Response(self.get_serializer(media).data)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.media_soft_delete(media=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=False, methods=["post"], url_path="bulk-check")
    def bulk_check(self, request: Request, *args, **kwargs) -> Response:
        serializer = BulkCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        existing = selectors.media_existing_checksums(
            user_id=caller_id(request), checksums=serializer.validated_data["checksums"]
        )
        return Response({"existing": existing})

    @action(detail=True, methods=["post"])
    def restore(self, request: Request, *args, **kwargs) -> Response:
        media = services.media_restore(media=self.get_object())
        return Response(self.get_serializer(media).data)

    @action(detail=True, methods=["post"], url_path="add-to-collection")
    def add_to_collection(self, request: Request, *args, **kwargs) -> Response:
        media = self.get_object()
        serializer = AddToCollectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        media = services.collection_add_media(
            media=media, collection_id=serializer.validated_data["collection_id"]
        )
        return Response(self.get_serializer(media).data)

    @action(detail=True, methods=["post"], url_path="remove-from-collection")
    def remove_from_collection(self, request: Request, *args, **kwargs) -> Response:
        media = services.collection_remove_media(media=self.get_object())
        return Response(self.get_serializer(media).data)

    @action(detail=True, methods=["get"])
    def file(self, request: Request, *args, **kwargs) -> HttpResponseBase:
        media = self.get_object()
        if not media.has_file:
            raise NotFound("This media has no file.", code="no_file")
        return serve_file(request, media)


@schema.collection_viewset
class CollectionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Collection.objects.none()  # every read goes through media_handler.selectors
    serializer_class = CollectionSerializer
    lookup_value_regex = UUID_PATTERN
    filter_backends = [SearchFilter, StableOrderingFilter]
    search_fields = ["name", "description"]
    ordering_fields = ["created_at", "name"]
    ordering = ["-created_at"]

    def get_queryset(self) -> QuerySet[Collection]:
        return selectors.collection_list(user_id=caller_id(self.request))

    def get_object(self) -> Collection:
        return selectors.collection_get(
            user_id=caller_id(self.request), collection_id=self.kwargs["pk"]
        )

    def _detail(self, collection: Collection, *, status_code: int = status.HTTP_200_OK) -> Response:
        """The collection as retrieve shows it, read again after a write for its count."""
        fresh = selectors.collection_get(
            user_id=caller_id(self.request), collection_id=collection.pk
        )
        context = self.get_serializer_context()
        return Response(CollectionDetailSerializer(fresh, context=context).data, status=status_code)

    @idempotent("collection-create")
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        collection = services.collection_create(
            user_id=caller_id(request), data=serializer.validated_data
        )
        return self._detail(collection, status_code=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        context = self.get_serializer_context()
        return Response(CollectionDetailSerializer(self.get_object(), context=context).data)

    def update(self, request: Request, *args, partial: bool = False, **kwargs) -> Response:
        collection = self.get_object()
        serializer = self.get_serializer(collection, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        collection = services.collection_update(
            collection=collection, data=serializer.validated_data
        )
        return self._detail(collection)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.collection_delete(collection=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@schema.signed_file_view
class SignedFileView(APIView):
    """The bytes behind a signed `file`, `thumbnail` or `preview` URL. The signature is the
    permission: no Authorization is read, so the mobile app can load the URL straight into an
    image view."""

    authentication_classes = []
    permission_classes = [AllowAny]

    kind = "file"  # or "thumbnail", "preview" (media_handler.urls)

    def get(self, request: Request, media_id: str) -> HttpResponseBase:
        media = selectors.media_with_file(media_id=media_id)
        if media is None:
            raise NotFound("No file found with this id.", code="file_not_found")
        expires = request.query_params.get("expires", "")
        if not signature_is_valid(
            media,
            expires=expires,
            signature=request.query_params.get("signature", ""),
            kind=self.kind,
        ):
            raise PermissionDenied(
                "This file link is invalid or has expired.", code="bad_signature"
            )
        max_age = int(expires) - int(timezone.now().timestamp())
        return serve_file(request, media, kind=self.kind, max_age=max_age)


@schema.token_check_view
class TokenCheckView(APIView):
    """204 for a usable access token, else the 401 any media endpoint would answer, its body
    repeated in an `X-Auth-Error` header. The gateway asks this before it streams an upload's
    body to the service (auth_request), and answers a refusal itself with that body."""

    def get(self, request: Request) -> Response:
        # The gateway may remember this yes for a few seconds (X-Accel-Expires), never past the
        # token's expiry: every chunk of a resumable upload is a request with the same token.
        token = cast(Token, request.auth)  # the authentication class's verified token
        remaining = int(token["exp"]) - int(timezone.now().timestamp())
        seconds = min(settings.GATEWAY_TOKEN_CHECK_SECONDS, remaining - 1)
        headers = {"X-Accel-Expires": str(seconds)} if seconds > 0 else {}
        return Response(status=status.HTTP_204_NO_CONTENT, headers=headers)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == status.HTTP_401_UNAUTHORIZED:
            response["X-Auth-Error"] = json.dumps(response.data, separators=(",", ":"))
        return response


@schema.changes_view
class ChangesView(APIView):
    """The caller's change feed (media_handler.changes)."""

    def get(self, request: Request) -> Response:
        query = ChangesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = changes.changes_page(
            user_id=caller_id(request),
            since=query.validated_data.get("since"),
            limit=query.validated_data["limit"],
        )
        context = {"request": request}
        entries = []
        for entry in page.entries:
            obj: dict | None = None
            if isinstance(entry.obj, Media):
                obj = MediaSerializer(entry.obj, context=context).data
            elif isinstance(entry.obj, Collection):
                obj = CollectionDetailSerializer(entry.obj, context=context).data
            entries.append(
                {
                    "kind": entry.kind,
                    "id": str(entry.object_id),
                    "op": "upsert" if obj is not None else "delete",
                    "object": obj,
                    "at": iso_datetime(entry.at),
                }
            )
        return Response({"changes": entries, "cursor": page.cursor, "has_more": page.has_more})
