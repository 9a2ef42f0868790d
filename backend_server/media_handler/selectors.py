"""Every read of media and collections. Each selector takes the owner explicitly: the owner
filter lives here and nowhere else, and another user's object is simply not found (404)."""

import uuid
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import QueryDict

from common.exceptions import ApplicationError
from media_handler.filters import MediaFilter
from media_handler.models import Collection, Media


def media_list(
    *, user_id: int, filters: QueryDict | dict[str, Any] | None = None
) -> QuerySet[Media]:
    """The owner's media narrowed by MediaFilter (live media unless `is_deleted=true`).

    Raises ApplicationError (400, on each parameter at fault) for a bad filter value (an unknown
    `type`, a malformed UUID).
    """
    filterset = MediaFilter(data=filters or {}, queryset=Media.objects.filter(user=user_id))
    if not filterset.is_valid():
        errors = filterset.errors
        first_message = next(iter(errors.values()))[0]
        raise ApplicationError(first_message, code="invalid", field_errors=errors)
    return filterset.qs


def media_get(*, user_id: int, media_id: uuid.UUID | str, include_deleted: bool = False) -> Media:
    """One of the owner's media; the trash only with `include_deleted`. Raises ApplicationError
    (404) for any other id."""
    queryset = Media.objects.filter(user=user_id)
    if not include_deleted:
        queryset = queryset.filter(is_deleted=False)
    try:
        return queryset.get(pk=media_id)
    except (Media.DoesNotExist, ValueError, DjangoValidationError) as exc:
        raise media_not_found() from exc


def media_with_file(*, media_id: uuid.UUID | str) -> Media | None:
    """A live media with a stored file, whoever owns it: the signed-URL view's lookup, where
    the signature, not the owner, is the permission."""
    return Media.objects.filter(pk=media_id, is_deleted=False).exclude(checksum_sha256="").first()


def media_existing_checksums(*, user_id: int, checksums: list[str]) -> dict[str, str]:
    """Of the SHA-256 `checksums`, those the owner already has as a live media (not in the
    trash), each with the id of its oldest such media."""
    found = (
        Media.objects.filter(user=user_id, is_deleted=False, checksum_sha256__in=set(checksums))
        # Says in so many words what the checksum index's condition is: PostgreSQL proves it
        # from an IN list of at most 100 values only, and scans the owner's rows past that.
        .exclude(checksum_sha256="")
        .order_by("-created_at", "-pk")
        .values_list("checksum_sha256", "pk")
    )
    # Newest first, so the oldest media of a checksum is the one left in the dict.
    return {checksum: str(media_id) for checksum, media_id in found}


def _with_media_count(queryset: QuerySet[Collection]) -> QuerySet[Collection]:
    return queryset.annotate(media_count=Count("media", filter=Q(media__is_deleted=False)))


def collection_list(*, user_id: int) -> QuerySet[Collection]:
    """The owner's collections, each with `media_count` (its live media) in the same query."""
    return _with_media_count(Collection.objects.filter(user=user_id))


def collection_find(*, user_id: int, collection_id: uuid.UUID | str) -> Collection | None:
    """One of the owner's collections, bare (no count, no media), or None: for the writes that
    only need to know the collection is the caller's."""
    try:
        return Collection.objects.filter(user=user_id, pk=collection_id).first()
    except (ValueError, DjangoValidationError):
        return None


def collection_get(*, user_id: int, collection_id: uuid.UUID | str) -> Collection:
    """One of the owner's collections with `media_count` and its live media prefetched
    (newest first) in `live_media`. Raises ApplicationError (404) for any other id."""
    live_media = Media.objects.filter(user=user_id, is_deleted=False).order_by("-created_at", "-id")
    queryset = collection_list(user_id=user_id).prefetch_related(
        Prefetch("media", queryset=live_media, to_attr="live_media")
    )
    try:
        return queryset.get(pk=collection_id)
    except (Collection.DoesNotExist, ValueError, DjangoValidationError) as exc:
        raise collection_not_found() from exc


def media_not_found() -> ApplicationError:
    return ApplicationError(
        "No media found with this id.", code="media_not_found", status=HTTPStatus.NOT_FOUND
    )


def collection_not_found() -> ApplicationError:
    return ApplicationError(
        "No collection found with this id.",
        code="collection_not_found",
        status=HTTPStatus.NOT_FOUND,
    )
