"""The bytes of unfinished resumable uploads kept in the bucket (MEDIA_STORAGE=s3 without a
RESUMABLE_UPLOAD_DIR), so that any media node can take an upload's next PATCH: none needs another
node's disk.

Each PATCH's bytes become one object, `resumable/<upload id>/<offset>-<random suffix>`, sent
once the body has arrived (spooled to a local temporary file first: a body cut short keeps what
arrived, as on disk, and a checksum is checked before anything is sent). The upload's row lists
the objects that count, in order (Upload.chunks), and only the PATCH that holds the upload
extends it, with the offset, in one conditional update: a writer whose hold was taken over never
adds its object, and deletes it. The last byte joins them into one local temporary file, which
goes through services.media_create as a multipart upload does. Whatever a killed process leaves
under an upload's prefix (objects, an unfinished multipart upload of a big chunk) goes with the
upload (finish, termination, expiry), and nothing under `resumable/` is ever a media's file, so
sweep_orphan_files leaves a live upload's objects alone; it deletes those whose upload's row is
gone (a process killed while the upload was being terminated: orphan_chunks).

A chunk is one object rather than a part of one S3 multipart upload per tus upload: S3 wants
every part but the last to be at least 5 MiB, and tus clients send chunks of any size (a phone's
last chunk before it sleeps, a cut body). The price is the join: the finished file is read back
once from the bucket, on the node that received the last byte, to be checked there. When the
chunks can be parts (every one but the last from 5 MiB: tus clients send chunks of a fixed size,
and 5 MiB or more is usual), the media's object is then joined by the store from the chunks
(joinable_keys, s3.objects_joined) instead of being sent again from that file.
"""

import logging
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from django.utils import timezone

from media_handler.checks import MIN_PART_BYTES
from media_handler.files.s3 import (
    OBJECT_STORE_ERRORS,
    abandoned_multipart_uploads,
    abort_multipart_upload,
    bucket_listing,
    bucket_root,
    s3_storage,
)
from media_handler.files.storage import StorageUnavailable

logger = logging.getLogger(__name__)

RESUMABLE_DIR = "resumable"
COPY_BYTES = 1024 * 1024
# A listing or a batch delete takes at most this many keys.
BATCH = 1000
# S3's other limits on the parts of a multipart upload (MIN_PART_BYTES: every one but the last
# at least 5 MiB): none past 5 GiB, at most 10,000 of them.
MAX_PART_BYTES = 5 * 1024**3
MAX_PARTS = 10_000


def chunk_name(upload_id: uuid.UUID, offset: int) -> str:
    """A new object name for the bytes of `upload_id` from `offset` (the writer's own suffix:
    two writers at one offset, one of them stale, never write the same object)."""
    return f"{_prefix(upload_id)}{offset:020d}-{uuid.uuid4().hex[:12]}"


def chunk_store(path: str, name: str) -> None:
    """Send the file at `path` as the object `name` (one PUT up to two parts' size, a
    multipart upload past it). Raises StorageUnavailable when the store fails."""
    try:
        s3_storage().send_file(path, name)
    except OBJECT_STORE_ERRORS as exc:
        raise StorageUnavailable() from exc


def joinable_keys(names: list[str], *, length: int) -> list[str] | None:
    """The keys of the objects `names` (an upload of `length` bytes, in order), when the store
    can join them as the parts of one multipart upload: every one but the last at least
    MIN_PART_BYTES, none past MAX_PART_BYTES, at most MAX_PARTS. None otherwise."""
    if not names or len(names) > MAX_PARTS:
        return None
    offsets = [_offset(name) for name in names]
    sizes = [end - start for start, end in zip(offsets, [*offsets[1:], length], strict=True)]
    if any(size < MIN_PART_BYTES for size in sizes[:-1]) or max(sizes) > MAX_PART_BYTES:
        return None
    return [_key(name) for name in names]


def chunks_join(names: list[str], into: IO[bytes]) -> None:
    """Write the objects `names`, in order, to `into`. Raises StorageUnavailable when the store
    fails or an object is missing."""
    storage = s3_storage()
    client = storage.client
    try:
        for name in names:
            body = client.get_object(Bucket=storage.bucket_name, Key=_key(name))["Body"]
            with body:
                shutil.copyfileobj(body, into, COPY_BYTES)
    except OBJECT_STORE_ERRORS as exc:
        raise StorageUnavailable() from exc


def chunks_delete(names: list[str]) -> None:
    """Delete the objects `names`. Raises StorageUnavailable when the store fails, or refuses
    to delete any of them (a batch delete answers 200 and names those in `Errors`)."""
    storage = s3_storage()
    client = storage.client
    try:
        for start in range(0, len(names), BATCH):
            answer = client.delete_objects(
                Bucket=storage.bucket_name,
                Delete={"Objects": [{"Key": _key(name)} for name in names[start : start + BATCH]]},
            )
            if answer.get("Errors"):
                logger.warning("the bucket kept %s", answer["Errors"][:5])
                raise StorageUnavailable()
    except OBJECT_STORE_ERRORS as exc:
        raise StorageUnavailable() from exc


def chunks_abort_unfinished(upload_id: uuid.UUID) -> None:
    """Abort the multipart uploads under `upload_id`'s prefix: a chunk bigger than
    S3_UPLOAD_PART_BYTES is sent as one, and a process killed while sending it leaves it
    unfinished (invisible to a listing of objects). Raises StorageUnavailable when the store
    fails."""
    directory = _prefix(upload_id).rstrip("/")
    try:
        for key, unfinished in abandoned_multipart_uploads(
            started_before=timezone.now(), directory=directory
        ):
            abort_multipart_upload(key, unfinished)
    except OBJECT_STORE_ERRORS as exc:
        raise StorageUnavailable() from exc


def chunks_listed(upload_id: uuid.UUID) -> list[str]:
    """The names of every object under `upload_id`'s prefix, a dead writer's too. Raises
    StorageUnavailable when the store fails."""
    try:
        return [name for name, _ in bucket_listing(s3_storage(), _prefix(upload_id))]
    except OBJECT_STORE_ERRORS as exc:
        raise StorageUnavailable() from exc


def orphan_chunks(*, modified_before: datetime) -> Iterator[str]:
    """The objects under resumable/ last modified before `modified_before` whose upload has no
    row: left by a process killed after sending a chunk, while its upload was being terminated.
    Names this service did not make (no upload id where it puts one) are left alone."""
    from media_handler.models import Upload

    old: list[tuple[str, uuid.UUID]] = []
    for name, modified in bucket_listing(s3_storage(), f"{RESUMABLE_DIR}/"):
        try:
            upload_id = uuid.UUID(hex=name.split("/")[1])
        except (IndexError, ValueError):
            continue
        if modified < modified_before:
            old.append((name, upload_id))
    ids = sorted({upload_id for _, upload_id in old})
    known: set[uuid.UUID] = set()
    for start in range(0, len(ids), BATCH):
        known.update(
            Upload.objects.filter(pk__in=ids[start : start + BATCH]).values_list("pk", flat=True)
        )
    yield from (name for name, upload_id in old if upload_id not in known)


def _offset(name: str) -> int:
    """Where in its upload the object `name` (chunk_name) starts."""
    return int(name.rsplit("/", 1)[1].split("-", 1)[0])


def _prefix(upload_id: uuid.UUID) -> str:
    return f"{RESUMABLE_DIR}/{upload_id.hex}/"


def _key(name: str) -> str:
    return f"{bucket_root(s3_storage())}{name}"
