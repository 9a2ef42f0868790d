"""Every write of media and collections. Views validate the input's shape and call one of
these; the rules (ownership, the upload policy, the file/row atomicity) are enforced here.

A write reads its objects again in its own transaction, their rows locked until it ends
(`_locked_media`, `_locked_collection`: SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
write transaction is exclusive from its start). Writes of one object are so put in a line: one
that finds its object gone (deleted by a request that got there first) is a 404, never a save
that touches nothing, and a collection being deleted cannot gain a media meanwhile."""

import functools
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from common import messages
from common.exceptions import ApplicationError
from media_handler import selectors
from media_handler.changes import (
    change_record,
    changes_forget_user,
    changes_record,
    position_lock,
)
from media_handler.files.derivatives import (
    DerivativeError,
    Derivatives,
    derivative_name,
    make_derivatives,
    original_of,
)
from media_handler.files.inspection import inspect_upload, media_family, type_mismatch
from media_handler.files.storage import (
    delete_stored_file,
    discard_upload,
    local_copy,
    store_bytes,
    store_upload,
)
from media_handler.models import (
    ChangeKind,
    ChangeOp,
    Collection,
    DeletedAccount,
    IdempotencyKey,
    Media,
    Processing,
    Upload,
)

logger = logging.getLogger(__name__)

MEDIA_EDITABLE_FIELDS = ("name", "type", "description")
# The job that makes a media's derivatives (media_handler.tasks), published by name.
MAKE_DERIVATIVES_TASK = "media.make_derivatives"
# Runs of it that started and never finished (the worker was killed: out of memory, past the
# hard time limit): after this many the file is given up on.
MAX_PROCESSING_ATTEMPTS = 3
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
    *,
    user_id: int,
    data: dict[str, Any],
    upload: UploadedFile | None = None,
    along: Callable[[Media], None] | None = None,
) -> Media:
    """Create a media of `user_id`, with a stored file when `upload` is given. `along`, given
    the new row, runs in the row's transaction: what it writes commits with the row or not at
    all, and what it raises undoes the create (with its file) and is raised.

    With a file, the size, path and file facts come from the bytes (whatever the client said)
    and the declared `type` must match the sniffed content. The file is written first and the
    row second, in a transaction; if the row cannot be written the file is deleted, so a failed
    upload leaves neither. Its derivatives are queued once the row has committed (`processing`
    is `pending` until the worker has made them). Raises ApplicationError: 400 for a refused
    file or a collection that is not the caller's, 507 when the storage is full.
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
            media = Media.objects.create(**fields)
            _media_changed(media)
            _refuse_if_account_deleted(user_id)
            if along is not None:
                along(media)
            return media

    try:
        facts = inspect_upload(upload, declared_type=data["type"])
    except BaseException:
        discard_upload(upload)
        raise
    fields.update(
        size=facts.size,
        mime_type=facts.mime_type,
        checksum_sha256=facts.checksum_sha256,
        width=facts.width,
        height=facts.height,
        duration=facts.duration,
        processing=Processing.PENDING,
    )
    # The same bytes already stored for this user: the new record shares that file (and its
    # derivatives, once made). Should that record be purged before this one is in, the upload
    # is stored after all; should the same bytes be stored meanwhile by another upload of the
    # user's (the same file sent twice at once), the one stored second goes.
    source = _stored_copy(user_id=user_id, checksum_sha256=facts.checksum_sha256)
    create = functools.partial(
        _media_create_with_file,
        fields,
        collection=collection,
        upload=upload,
        extension=facts.extension,
        along=along,
    )
    try:
        try:
            media = create(source=source)
        except _SourceGone:
            media = create(source=None)
    except _StoredMeanwhile as meanwhile:  # only a create that stored its own copy
        media = _create_sharing(create, meanwhile)
    # Robust: the upload has succeeded; a queue that cannot be reached leaves it `pending`,
    # for `generate_derivatives --missing`.
    if media.processing != Processing.READY:
        transaction.on_commit(lambda: media_queue_derivatives(media_id=media.pk), robust=True)
    return media


class _SourceGone(Exception):
    """The record whose stored file a new upload was to share was purged meanwhile."""


class _StoredMeanwhile(Exception):
    """Another upload of the same user stored the same bytes while this one was stored: its
    record (`copy`) is in, and this upload's file (`stored_path`) is one copy too many."""

    def __init__(self, copy: Media, stored_path: str) -> None:
        super().__init__(stored_path)
        self.copy = copy
        self.stored_path = stored_path


def _create_sharing(create: Callable[..., Media], meanwhile: _StoredMeanwhile) -> Media:
    """The row of an upload whose bytes were stored twice at once, sharing the other's file;
    its own copy is deleted once the row is in. If that other record was purged meanwhile, the
    row keeps its own copy (sharing is not tried again: the loop is bounded)."""
    try:
        media = create(source=meanwhile.copy, stored_path=meanwhile.stored_path)
    except _SourceGone:
        return create(source=None, stored_path=meanwhile.stored_path, share_meanwhile=False)
    delete_stored_file(meanwhile.stored_path)
    return media


def _stored_copy(*, user_id: int, checksum_sha256: str) -> Media | None:
    """A media of `user_id` (in the trash or not) whose stored file has these bytes."""
    return (
        Media.objects.filter(user=user_id, checksum_sha256=checksum_sha256)
        .order_by("created_at", "pk")
        .first()
    )


def _media_create_with_file(
    fields: dict[str, Any],
    *,
    collection: Collection | None,
    upload: UploadedFile,
    extension: str,
    source: Media | None,
    stored_path: str | None = None,
    share_meanwhile: bool = True,
    along: Callable[[Media], None] | None = None,
) -> Media:
    """The row of a new upload: pointing at `source`'s stored file, else at a newly stored copy
    of `upload` (or `stored_path`, the copy an earlier try stored). Raises _SourceGone when
    `source` was purged meanwhile, and, with `share_meanwhile`, _StoredMeanwhile when the same
    bytes of the same user were stored meanwhile; either leaves the stored copy in place, for
    the caller's next try. Any other failure leaves nothing."""
    if source is None and stored_path is None:
        try:
            stored_path = store_upload(upload, extension=extension)
        except BaseException:
            discard_upload(upload)
            raise
    try:
        with transaction.atomic():
            if collection is not None:
                # Still there, and kept there until the row is in: not deleted meanwhile.
                fields["collection"] = _locked_owned_collection(
                    user_id=fields["user"], collection_id=collection.pk, field="collection"
                )
            if source is not None:
                # Locked: a purge of it waits for this row, which then keeps the file.
                source = (
                    Media.objects.select_for_update()
                    .filter(pk=source.pk, storage_path=source.storage_path)
                    .first()
                )
                if source is None:
                    raise _SourceGone()
                fields["storage_path"] = source.storage_path
                if source.processing == Processing.READY:
                    fields.update({field: getattr(source, field) for field in DERIVED_FIELDS})
            else:
                if share_meanwhile:
                    # The user's feed lock (every create of theirs takes it before it
                    # commits) orders this create after any other of the same bytes that
                    # began first: that one's row, committed by now, is found here.
                    position_lock(user_id=fields["user"])
                    copy = _stored_copy(
                        user_id=fields["user"], checksum_sha256=fields["checksum_sha256"]
                    )
                    if copy is not None:
                        raise _StoredMeanwhile(copy, stored_path)  # type: ignore[arg-type]
                fields["storage_path"] = stored_path
            media = Media.objects.create(**fields)
            _media_changed(media)
            _refuse_if_account_deleted(fields["user"])
            if along is not None:
                along(media)
    except (_SourceGone, _StoredMeanwhile):
        raise  # the caller tries again: the bytes (and any copy stored of them) are kept
    except IntegrityError as exc:
        _drop_upload(upload, stored_path)
        raise not_your_collection(field="collection") from exc
    except BaseException:
        _drop_upload(upload, stored_path)
        raise
    if stored_path is None:
        discard_upload(upload)  # the bytes are stored already: what was sent of them goes
    return media


def _drop_upload(upload: UploadedFile, stored_path: str | None) -> None:
    """A failed create leaves nothing: the file it stored, or what was sent of the upload."""
    if stored_path is not None:
        delete_stored_file(stored_path)
    else:
        discard_upload(upload)


def media_queue_derivatives(*, media_id: uuid.UUID | str, force: bool = False) -> None:
    """Ask the job worker to make the derivatives of a media (media_make_derivatives)."""
    messages.publish(MAKE_DERIVATIVES_TASK, media_id=str(media_id), force=force)


def media_make_derivatives(*, media_id: uuid.UUID | str, force: bool = False) -> str | None:
    """Make and store the thumbnail, preview and placeholder of a media's file, with the facts
    only decoding gives (a video's displayed size and codec, a photo's upright size); the media
    is then `ready`. Returns its processing state, None when there is no such media.

    Idempotent: a media already `ready` is left as it is (unless `force`), one without a file
    or gone has nothing to make, and the derivatives it had before are deleted once the new
    ones are recorded. A file that cannot give derivatives (damaged, a decompression bomb, a
    tool that fails or exceeds its limits) makes the media `failed`, with the reason logged;
    faults of the database or the storage are raised, for the job to try again.
    """
    media = Media.objects.filter(pk=media_id).first()
    if media is None or not media.has_file:
        return None
    if media.processing == Processing.READY and not force:
        return media.processing
    Media.objects.filter(pk=media.pk).update(processing_attempts=F("processing_attempts") + 1)
    attempts = (
        Media.objects.filter(pk=media.pk).values_list("processing_attempts", flat=True).first()
    )
    if attempts is None:  # purged meanwhile (a purge does not wait for the job)
        return None
    media.processing_attempts = attempts
    if media.processing_attempts > MAX_PROCESSING_ATTEMPTS:
        return _processing_failed(
            media, f"given up: {media.processing_attempts - 1} runs never finished"
        )
    try:
        with local_copy(media.storage_path) as path:
            made = _derivatives_of(path, mime_type=media.mime_type)
    except DerivativeError as exc:
        return _processing_failed(media, str(exc))
    except FileNotFoundError:
        return _processing_failed(media, f"the stored file {media.storage_path} is missing")
    except BaseException:
        Media.objects.filter(pk=media.pk).update(processing_attempts=0)
        raise
    return _derivatives_record(media, made)


def _derivatives_of(path: str, *, mime_type: str) -> Derivatives:
    """make_derivatives of the local file at `path`. Whatever a decoder raises on its own (not
    the local disk's OSError) is the file's fault, never a passing one, and so a
    DerivativeError: Pillow's AVIF plugin raises RuntimeError for damaged colour planes, and
    a media left to the job's retries stayed `pending` for good."""
    try:
        return make_derivatives(
            path, mime_type=mime_type, max_pixels=settings.DERIVATIVES_MAX_PIXELS
        )
    except (DerivativeError, OSError):
        raise
    except Exception as exc:
        raise DerivativeError(f"the file cannot be decoded: {exc!r}") from exc


def _derivatives_record(media: Media, made: Derivatives) -> str | None:
    """Store the derivatives' files, then record them on the row (if it is still there, with
    the same file); the files it had before go once that has committed."""
    new_paths: list[str] = []
    try:
        if made.pictures is not None:
            new_paths.append(
                store_bytes(
                    derivative_name(media.storage_path, kind="thumbnail", extension="webp"),
                    made.pictures.thumbnail,
                )
            )
            new_paths.append(
                store_bytes(
                    derivative_name(
                        media.storage_path,
                        kind="preview",
                        extension=made.pictures.preview_extension,
                    ),
                    made.pictures.preview,
                )
            )
        with transaction.atomic():
            current = (
                Media.objects.select_for_update()
                .filter(pk=media.pk, storage_path=media.storage_path)
                .first()
            )
            if current is None:  # purged meanwhile
                _delete_files(new_paths)
                return None
            old_paths = [current.thumbnail_path, current.preview_path]
            current.thumbnail_path, current.preview_path = new_paths or ["", ""]
            current.placeholder = made.pictures.placeholder if made.pictures else ""
            current.codec = made.codec
            current.width = made.width or current.width
            current.height = made.height or current.height
            current.duration = current.duration or made.duration
            current.processing = Processing.READY
            current.processing_error = ""
            current.processing_attempts = 0
            current.save(update_fields=[*DERIVED_FIELDS, "updated_at"])
            _media_changed(current)
            stale = [path for path in old_paths if path and path not in new_paths]
            transaction.on_commit(lambda: _delete_unreferenced_files(stale), robust=True)
    except BaseException:
        _delete_files(new_paths)
        Media.objects.filter(pk=media.pk).update(processing_attempts=0)
        raise
    return Processing.READY


DERIVED_FIELDS = [
    "thumbnail_path",
    "preview_path",
    "placeholder",
    "codec",
    "width",
    "height",
    "duration",
    "processing",
    "processing_error",
    "processing_attempts",
]


def media_processing_failed(*, media_id: uuid.UUID | str, reason: str) -> str | None:
    """Mark a media's derivatives `failed` (the job ran out of time, say); `reason` is logged
    and kept for operators, never shown to the owner."""
    media = Media.objects.filter(pk=media_id).first()
    return None if media is None else _processing_failed(media, reason)


def _processing_failed(media: Media, reason: str) -> str | None:
    logger.warning("derivatives of media %s failed: %s", media.pk, reason)
    with transaction.atomic():
        current = Media.objects.select_for_update().filter(pk=media.pk).first()
        if current is None:  # purged meanwhile
            return None
        current.processing = Processing.FAILED
        current.processing_error = reason[:500]
        current.processing_attempts = 0
        current.save(
            update_fields=["processing", "processing_error", "processing_attempts", "updated_at"]
        )
        _media_changed(current)
    return Processing.FAILED


def _delete_files(paths: Iterable[str]) -> None:
    for path in paths:
        if path:
            delete_stored_file(path)


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
        _media_changed(media)
    return media


def media_soft_delete(*, media: Media) -> Media:
    """Move the media to its owner's trash; row and file stay until purge_deleted_media."""
    with transaction.atomic():
        media = _locked_media(media)
        media.is_deleted = True
        media.deleted_at = timezone.now()
        media.save(update_fields=["is_deleted", "deleted_at", "updated_at"])
        _media_changed(media)
    return media


def media_restore(*, media: Media) -> Media:
    """Take the media out of the trash (a live media is left as it is)."""
    with transaction.atomic():
        media = _locked_media(media, include_deleted=True)
        if media.is_deleted:
            media.is_deleted = False
            media.deleted_at = None
            media.save(update_fields=["is_deleted", "deleted_at", "updated_at"])
            _media_changed(media)
    return media


def media_purge(*, media_items: Iterable[Media], trashed_before: datetime | None = None) -> int:
    """Delete rows and their files for good. The rows go first, in one transaction; the files
    follow once it has committed, derivatives with their original, except those another record
    still uses (the same bytes uploaded twice are stored once). A file left behind by a crash
    is an orphan the sweep finds.

    With `trashed_before`, only the rows still in the trash since then go: the caller read them
    earlier (purge_deleted_media reads a batch, then purges it), and one restored meanwhile, or
    trashed again since, stays. The rows are locked before they are counted, so a restore
    either committed first (the row is left alone) or waits for the purge."""
    ids = [media.pk for media in media_items]
    with transaction.atomic():
        rows = Media.objects.select_for_update().filter(pk__in=ids)
        if trashed_before is not None:
            rows = rows.filter(is_deleted=True, deleted_at__lte=trashed_before)
        # The rows as they are now, locked: their derivatives may have changed since read.
        gone = list(rows.order_by("pk"))
        Media.objects.filter(pk__in=[media.pk for media in gone]).delete()
        owners: dict[int, list[uuid.UUID]] = {}
        for media in gone:
            owners.setdefault(media.user, []).append(media.pk)
        for owner, media_ids in owners.items():
            change_record(
                user_id=owner, kind=ChangeKind.MEDIA, object_ids=media_ids, op=ChangeOp.DELETE
            )
        stored_paths = [
            path
            for media in gone
            if media.has_file
            for path in (media.storage_path, media.thumbnail_path, media.preview_path)
            if path
        ]
        transaction.on_commit(lambda: _delete_unreferenced_files(stored_paths))
    return len(gone)


def _delete_unreferenced_files(paths: Iterable[str]) -> None:
    """Delete the stored files of `paths` that no media row refers to. A derivative's name
    starts with its original's, so the rows that could refer to any of them are found by the
    original's path alone (indexed)."""
    paths = [path for path in paths if path]
    originals = {original_of(path) or path for path in paths}
    still_used = {
        path
        for row in Media.objects.filter(storage_path__in=originals)
        .exclude(checksum_sha256="")
        .values_list("storage_path", "thumbnail_path", "preview_path")
        for path in row
    }
    _delete_files(path for path in paths if path not in still_used)


def user_purge(*, user_id: int, batch_size: int = 500) -> int:
    """Delete for good everything of `user_id` (their account is gone): every media, in the
    trash or not, with its files, every collection, the unfinished uploads with their bytes,
    the kept answers of their Idempotency-Keys and their change feed; and refuse anything
    created for them from now on (DeletedAccount). Batch by batch, each as media_purge deletes;
    running it again (the message was delivered twice) finds nothing left. Returns how many
    media were deleted."""
    from media_handler.uploads.services import upload_discard  # uploads build on this module

    with transaction.atomic():
        # Under the user's feed lock, which every create holds while it commits: a create
        # that had it first commits before this, and the purge below finds its media; one
        # after it sees the account deleted (_refuse_if_account_deleted) and is undone.
        position_lock(user_id=user_id)
        DeletedAccount.objects.get_or_create(user=user_id)
    purged = 0
    while batch := list(Media.objects.filter(user=user_id).order_by("pk")[:batch_size]):
        purged += media_purge(media_items=batch)
    Collection.objects.filter(user=user_id).delete()
    for upload in Upload.objects.filter(user=user_id):
        try:
            upload_discard(upload=upload)  # one the bucket fails to empty is left expired
        except Exception:
            # One upload's trouble stops neither the rest of the purge nor the other uploads':
            # the sweep of expired uploads takes it up again.
            logger.exception("could not discard upload %s of a deleted account", upload.pk)
    IdempotencyKey.objects.filter(user=user_id).delete()
    changes_forget_user(user_id=user_id)
    return purged


def _refuse_if_account_deleted(user_id: int) -> None:
    """Raises ApplicationError (401) when the account is gone (user_purge): called by each
    create in its transaction, once it holds the user's feed lock (it has recorded its
    change), so that a purge and a create are never interleaved."""
    if DeletedAccount.objects.filter(user=user_id).exists():
        raise ApplicationError(
            "This account has been deleted.",
            code="account_deleted",
            status=HTTPStatus.UNAUTHORIZED,
        )


def collection_create(*, user_id: int, data: dict[str, Any]) -> Collection:
    with transaction.atomic():
        collection = Collection.objects.create(
            user=user_id, name=data["name"], description=data.get("description") or ""
        )
        _collection_changed(collection)
        _refuse_if_account_deleted(user_id)
    return collection


def collection_update(*, collection: Collection, data: dict[str, Any]) -> Collection:
    changes = {field: data[field] for field in COLLECTION_EDITABLE_FIELDS if field in data}
    if "description" in changes:
        changes["description"] = changes["description"] or ""
    with transaction.atomic():
        collection = _locked_collection(collection)
        for field, value in changes.items():
            setattr(collection, field, value)
        collection.save(update_fields=[*changes, "updated_at"])
        _collection_changed(collection)
    return collection


def collection_delete(*, collection: Collection) -> None:
    """Delete the collection; its media stay, detached (also those in the trash)."""
    with transaction.atomic():
        # Locked first: a media being added waits, then finds the collection gone.
        collection = _locked_collection(collection)
        detached = Media.objects.filter(collection=collection)
        detached_ids = list(detached.values_list("pk", flat=True))
        detached.update(collection=None, updated_at=timezone.now())
        collection_id = collection.pk
        collection.delete()  # an update() sends no signal; this delete retires the pages
        changes_record(
            user_id=collection.user,
            changes=[
                *((ChangeKind.MEDIA, pk, ChangeOp.UPSERT) for pk in detached_ids),
                (ChangeKind.COLLECTION, collection_id, ChangeOp.DELETE),
            ],
        )


def collection_add_media(*, media: Media, collection_id: uuid.UUID | str) -> Media:
    """Put the media in the media owner's collection `collection_id`; any other collection is
    a 400 on `collection_id`, so no path can mix owners."""
    with transaction.atomic():
        # The collection first, as collection_delete locks it: the two wait for each other.
        collection = _locked_owned_collection(
            user_id=media.user, collection_id=collection_id, field="collection_id"
        )
        media = _locked_media(media)
        previous_collection_id = media.collection_id
        media.collection = collection
        media.save(update_fields=["collection", "updated_at"])
        _media_changed(media, previous_collection_id=previous_collection_id)
    return media


def collection_remove_media(*, media: Media) -> Media:
    with transaction.atomic():
        media = _locked_media(media)
        left = media.collection_id
        media.collection = None
        media.save(update_fields=["collection", "updated_at"])
        _media_changed(media, previous_collection_id=left)
    return media


def _media_changed(media: Media, *, previous_collection_id: uuid.UUID | None = None) -> None:
    """Record a change of `media` and of the collections it is or was in: a collection as
    retrieve shows it lists its live media."""
    collections = {
        collection_id
        for collection_id in (media.collection_id, previous_collection_id)
        if collection_id is not None
    }
    changes_record(
        user_id=media.user,
        changes=[
            (ChangeKind.MEDIA, media.pk, ChangeOp.UPSERT),
            *((ChangeKind.COLLECTION, pk, ChangeOp.UPSERT) for pk in sorted(collections)),
        ],
    )


def _collection_changed(collection: Collection) -> None:
    change_record(user_id=collection.user, kind=ChangeKind.COLLECTION, object_ids=[collection.pk])
