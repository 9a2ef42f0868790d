"""Every write of media and collections. Views validate the input's shape and call one of
these; the rules (ownership, the upload policy, the file/row atomicity) are enforced here.

A write reads its objects again in its own transaction, their rows locked until it ends
(`_locked_media`, `_locked_collection`: SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
write transaction is exclusive from its start). Writes of one object are so put in a line: one
that finds its object gone (deleted by a request that got there first) is a 404, never a save
that touches nothing, and a collection being deleted cannot gain a media meanwhile."""

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.exceptions import ApplicationError
from media_handler import selectors
from media_handler.files.inspection import inspect_upload, media_family, type_mismatch
from media_handler.files.storage import delete_stored_file, store_upload
from media_handler.models import Collection, Media

logger = logging.getLogger(__name__)

MEDIA_EDITABLE_FIELDS = ("name", "type", "description")
COLLECTION_EDITABLE_FIELDS = ("name", "description")


def not_your_collection(*, field: str) -> ApplicationError:
    return ApplicationError("No collection of yours has this id.", code="invalid", field=field)


def _locked_media(media: Media, *, include_deleted: bool = False) -> Media:
    """`media` read again with its row locked (inside a transaction); 404 once it is gone, or
    in the trash unless `include_deleted`."""
    queryset = Media.objects.select_for_update().filter(pk=media.pk, user=media.user)
    if not include_deleted:
        queryset = queryset.filter(is_deleted=False)
    locked = queryset.first()
    if locked is None:
        raise selectors.media_not_found()
    return locked


def _locked_collection(collection: Collection) -> Collection:
    """`collection` read again with its row locked (inside a transaction); 404 once it is gone."""
    locked = Collection.objects.select_for_update().filter(pk=collection.pk, user=collection.user)
    found = locked.first()
    if found is None:
        raise selectors.collection_not_found()
    return found


def _locked_owned_collection(
    *, user_id: int, collection_id: uuid.UUID | str, field: str
) -> Collection:
    """The caller's collection `collection_id`, its row locked; else a 400 on `field`."""
    try:
        found = (
            Collection.objects.select_for_update().filter(user=user_id, pk=collection_id).first()
        )
    except (ValueError, DjangoValidationError):
        found = None
    if found is None:
        raise not_your_collection(field=field)
    return found


def _owned_collection(
    *, user_id: int, collection_id: uuid.UUID | str | None, field: str = "collection"
) -> Collection | None:
    if collection_id is None:
        return None
    collection = selectors.collection_find(user_id=user_id, collection_id=collection_id)
    if collection is None:
        raise not_your_collection(field=field)
    return collection


def media_create(
    *, user_id: int, data: dict[str, Any], upload: UploadedFile | None = None
) -> Media:
    """Create a media of `user_id`, with a stored file when `upload` is given.

    With a file, the size, path and file facts come from the bytes (whatever the client said)
    and the declared `type` must match the sniffed content. The file is written first and the
    row second, in a transaction; if the row cannot be written the file is deleted, so a failed
    upload leaves neither. Raises ApplicationError: 400 for a refused file or a collection that
    is not the caller's, 507 when the storage is full.
    """
    collection = _owned_collection(user_id=user_id, collection_id=data.get("collection"))
    fields = {
        "user": user_id,
        "name": data["name"],
        "type": data["type"],
        "description": data.get("description") or "",
        "collection": collection,
        "size": data.get("size") or 0,
        "storage_path": data.get("storage_path") or "",
    }
    if upload is None:
        with transaction.atomic():
            if collection is not None:
                fields["collection"] = _locked_owned_collection(
                    user_id=user_id, collection_id=collection.pk, field="collection"
                )
            return Media.objects.create(**fields)

    facts = inspect_upload(upload, declared_type=data["type"])
    storage_path = store_upload(upload, extension=facts.extension)
    fields.update(
        size=facts.size,
        storage_path=storage_path,
        mime_type=facts.mime_type,
        checksum_sha256=facts.checksum_sha256,
        width=facts.width,
        height=facts.height,
        duration=facts.duration,
    )
    try:
        with transaction.atomic():
            if collection is not None:
                # Still there, and kept there until the row is in: not deleted meanwhile.
                fields["collection"] = _locked_owned_collection(
                    user_id=user_id, collection_id=collection.pk, field="collection"
                )
            media = Media.objects.create(**fields)
    except IntegrityError as exc:
        delete_stored_file(storage_path)
        raise not_your_collection(field="collection") from exc
    except BaseException:
        delete_stored_file(storage_path)
        raise
    return media


def media_update(*, media: Media, data: dict[str, Any]) -> Media:
    """Change the name, type or description. A media with a file keeps the type of its content:
    changing it to another family is a 400."""
    changes = {field: data[field] for field in MEDIA_EDITABLE_FIELDS if field in data}
    if "description" in changes:
        changes["description"] = changes["description"] or ""
    with transaction.atomic():
        media = _locked_media(media)
        new_type = changes.get("type", media.type)
        if media.has_file and new_type != media_family(media.mime_type):
            raise type_mismatch(new_type, media.mime_type)
        for field, value in changes.items():
            setattr(media, field, value)
        media.save(update_fields=[*changes, "updated_at"])
    return media


def media_soft_delete(*, media: Media) -> Media:
    """Move the media to its owner's trash; row and file stay until purge_deleted_media."""
    with transaction.atomic():
        media = _locked_media(media)
        media.is_deleted = True
        media.deleted_at = timezone.now()
        media.save(update_fields=["is_deleted", "deleted_at", "updated_at"])
    return media


def media_restore(*, media: Media) -> Media:
    """Take the media out of the trash (a live media is left as it is)."""
    with transaction.atomic():
        media = _locked_media(media, include_deleted=True)
        if media.is_deleted:
            media.is_deleted = False
            media.deleted_at = None
            media.save(update_fields=["is_deleted", "deleted_at", "updated_at"])
    return media


def media_purge(*, media_items: Iterable[Media]) -> int:
    """Delete rows and their files for good. The rows go first, in one transaction; the files
    follow once it has committed (a file left behind by a crash is an orphan the sweep finds)."""
    media_items = list(media_items)
    stored_paths = [media.storage_path for media in media_items if media.has_file]

    def delete_files() -> None:
        for path in stored_paths:
            delete_stored_file(path)

    with transaction.atomic():
        deleted, _ = Media.objects.filter(pk__in=[media.pk for media in media_items]).delete()
        transaction.on_commit(delete_files)
    return deleted


def user_purge(*, user_id: int, batch_size: int = 500) -> int:
    """Delete for good everything of `user_id` (their account is gone): every media, in the
    trash or not, with its files, and every collection. Batch by batch, each as media_purge
    deletes; running it again (the message was delivered twice) finds nothing left. Returns how
    many media were deleted."""
    purged = 0
    while batch := list(Media.objects.filter(user=user_id).order_by("pk")[:batch_size]):
        purged += media_purge(media_items=batch)
    Collection.objects.filter(user=user_id).delete()
    return purged


def collection_create(*, user_id: int, data: dict[str, Any]) -> Collection:
    return Collection.objects.create(
        user=user_id, name=data["name"], description=data.get("description") or ""
    )


def collection_update(*, collection: Collection, data: dict[str, Any]) -> Collection:
    changes = {field: data[field] for field in COLLECTION_EDITABLE_FIELDS if field in data}
    if "description" in changes:
        changes["description"] = changes["description"] or ""
    with transaction.atomic():
        collection = _locked_collection(collection)
        for field, value in changes.items():
            setattr(collection, field, value)
        collection.save(update_fields=[*changes, "updated_at"])
    return collection


def collection_delete(*, collection: Collection) -> None:
    """Delete the collection; its media stay, detached (also those in the trash)."""
    with transaction.atomic():
        # Locked first: a media being added waits, then finds the collection gone.
        collection = _locked_collection(collection)
        Media.objects.filter(collection=collection).update(
            collection=None, updated_at=timezone.now()
        )
        collection.delete()  # an update() sends no signal; this delete retires the pages


def collection_add_media(*, media: Media, collection_id: uuid.UUID | str) -> Media:
    """Put the media in the media owner's collection `collection_id`; any other collection is
    a 400 on `collection_id`, so no path can mix owners."""
    with transaction.atomic():
        # The collection first, as collection_delete locks it: the two wait for each other.
        collection = _locked_owned_collection(
            user_id=media.user, collection_id=collection_id, field="collection_id"
        )
        media = _locked_media(media)
        media.collection = collection
        media.save(update_fields=["collection", "updated_at"])
    return media


def collection_remove_media(*, media: Media) -> Media:
    with transaction.atomic():
        media = _locked_media(media)
        media.collection = None
        media.save(update_fields=["collection", "updated_at"])
    return media
