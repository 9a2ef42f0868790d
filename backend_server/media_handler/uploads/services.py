"""Resumable uploads (tus 1.0.0): creating one, appending bytes at its offset, finishing it into
a media, terminating it, and sweeping the expired ones. Only media_handler.uploads.views knows
HTTP; the rules are here.

The bytes received so far live in one file per upload under the resumable-upload directory
(RESUMABLE_UPLOAD_DIR, by default MEDIA_ROOT/.resumable: the same filesystem as the media, so a
finished upload is linked into place, not copied; every media node must see it, as it sees
MEDIA_ROOT), or, with the media in a bucket and no RESUMABLE_UPLOAD_DIR, in the bucket as one
object per PATCH (uploads.bucket): then no node needs another's disk. A PATCH claims the upload
with one conditional UPDATE (the offset it names must be the server's and no other PATCH may
hold it), writes at that offset, then moves the offset on: of two PATCHes at once one wins, the
other is a 409, and the bytes are never written twice. The last byte makes the media through
services.media_create, exactly as a multipart upload: the same sniffing, declared type, size
limit, metadata, duplicate check, storage and derivatives.
Its SHA-256 is computed as the bytes arrive, the hasher's state kept on the row between PATCHes
(uploads.running_sha256: OpenSSL's, whose state can be saved and which hashes without holding the
GIL), so the finished file is not read again for it.
A PATCH renews its hold while its body arrives (every quarter of
RESUMABLE_UPLOAD_WRITE_TIMEOUT_SECONDS), so only a dead writer's hold goes stale and can be taken
over; a writer whose hold was taken over stops (409) and leaves the bytes to the new one.
"""

import base64
import binascii
import contextlib
import functools
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import IO, Any, Protocol

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from django.db.models import BooleanField, Expression, Q
from django.utils import timezone

from common.exceptions import ApplicationError
from media_handler import selectors, services
from media_handler.files.storage import (
    InsufficientStorage,
    StorageUnavailable,
    is_object_store,
    is_out_of_space,
    temporary_file,
)
from media_handler.files.upload_handlers import UploadTooLarge
from media_handler.models import Upload
from media_handler.serializers import MediaCreateSerializer
from media_handler.uploads.running_sha256 import RunningSha256

logger = logging.getLogger(__name__)

CHECKSUM_ALGORITHMS: dict[str, Callable[[], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}
# Reads of a chunk's body: gunicorn copies its read-ahead buffer on every read, so small reads
# copy each byte many times (as for multipart uploads, files.upload_handlers).
READ_BYTES = 1024 * 1024
# As many as the requests a worker serves at once (GUNICORN_THREADS, 4 by default).
WRITER_THREADS = 8
# The Upload-Metadata keys that become the media's fields; others are ignored.
METADATA_FIELDS = ("name", "type", "description", "collection")
# HTTP 460, tus's "Checksum Mismatch" (no name in http.HTTPStatus).
CHECKSUM_MISMATCH = 460


def part_path(upload: Upload) -> Path:
    """Where the bytes of `upload` received so far are kept, when on disk (`chunks` is None)."""
    directory = settings.RESUMABLE_UPLOAD_DIR or os.path.join(settings.MEDIA_ROOT, ".resumable")
    return Path(directory) / f"{upload.pk.hex}.part"


def keeps_uploads_in_bucket() -> bool:
    """Whether new uploads keep their bytes in the bucket (uploads.bucket): the media are in one
    and no RESUMABLE_UPLOAD_DIR (a directory every node shares) was chosen instead."""
    return is_object_store() and not settings.RESUMABLE_UPLOAD_DIR


def upload_not_found() -> ApplicationError:
    return ApplicationError(
        "No upload found with this id.", code="upload_not_found", status=HTTPStatus.NOT_FOUND
    )


def metadata_parse(header: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64(value)` pairs (a key alone: an empty value).
    Raises ApplicationError (400) for a malformed header."""
    values: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            values[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ApplicationError(
                f"Upload-Metadata value of '{key}' is not base64 of UTF-8 text.",
                code="invalid",
                field="Upload-Metadata",
            ) from exc
    return values


def upload_create(*, user_id: int, length: int, raw_metadata: str) -> Upload:
    """A new upload of `length` bytes for `user_id`, with the media fields of `raw_metadata`
    (`name`, else `filename`; `type`, else `filetype`; `description`; `collection`), checked
    now so that a client learns of a bad field before sending a byte.

    Raises ApplicationError: 413 past MAX_UPLOAD_SIZE, 400 for bad metadata or a collection
    that is not the caller's, 429 when the user already has RESUMABLE_UPLOAD_MAX_OPEN uploads
    open.
    """
    if length > settings.MAX_UPLOAD_SIZE:
        raise UploadTooLarge()
    values = metadata_parse(raw_metadata)
    fields = {key: values[key] for key in METADATA_FIELDS if key in values}
    if not fields.get("name") and values.get("filename"):
        fields["name"] = values["filename"][:255]
    if not fields.get("type") and values.get("filetype"):
        # The key tus-js-client's examples and tus-android-client send: the file's MIME type.
        fields["type"] = values["filetype"]
    if "/" in fields.get("type", ""):
        # A MIME type (what Uppy and browsers put in `type`): its family is the media's type.
        fields["type"] = fields["type"].split("/", 1)[0]
    serializer = MediaCreateSerializer(data=fields)
    if not serializer.is_valid():
        errors = {
            key: [str(message) for message in value] for key, value in serializer.errors.items()
        }
        first = next(iter(errors.values()))[0]
        raise ApplicationError(f"Upload-Metadata: {first}", code="invalid", field_errors=errors)
    metadata = {
        key: str(value) if isinstance(value, uuid.UUID) else value
        for key, value in serializer.validated_data.items()
        if value is not None and key in METADATA_FIELDS
    }
    if "collection" in metadata and not selectors.collection_find(
        user_id=user_id, collection_id=metadata["collection"]
    ):
        raise services.not_your_collection(field="collection")
    now = timezone.now()
    open_uploads = Upload.objects.filter(
        user=user_id, media_id__isnull=True, expires_at__gt=now
    ).count()
    if open_uploads >= settings.RESUMABLE_UPLOAD_MAX_OPEN:
        raise ApplicationError(
            f"You have {open_uploads} unfinished uploads; finish or cancel one first.",
            code="too_many_uploads",
            status=HTTPStatus.TOO_MANY_REQUESTS,
        )
    upload = Upload(
        user=user_id,
        sha256_state=RunningSha256().state(),
        length=length,
        metadata=metadata,
        raw_metadata=raw_metadata,
        expires_at=now + timedelta(seconds=settings.RESUMABLE_UPLOAD_EXPIRY_SECONDS),
    )
    if keeps_uploads_in_bucket():
        upload.chunks = []  # no object until bytes arrive
        upload.save(force_insert=True)
        return upload
    path = part_path(upload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    try:
        upload.save(force_insert=True)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return upload


def upload_get(*, user_id: int, upload_id: uuid.UUID | str) -> Upload:
    """One of the owner's uploads. Raises ApplicationError: 404 for any other id, 410 once an
    unfinished upload has expired."""
    try:
        upload = Upload.objects.filter(user=user_id, pk=upload_id).first()
    except (ValueError, TypeError):
        upload = None
    if upload is None:
        raise upload_not_found()
    if not upload.is_complete and upload.expires_at <= timezone.now():
        raise upload_expired()
    return upload


def upload_expired() -> ApplicationError:
    return ApplicationError(
        "This upload has expired; start a new one.",
        code="upload_expired",
        status=HTTPStatus.GONE,
    )


class Readable(Protocol):
    """A request body (Django's HttpRequest reads like a file)."""

    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes


def checksum_parse(header: str) -> Checksum:
    """Upload-Checksum: `<algorithm> <base64 digest>`. Raises ApplicationError (400) for an
    algorithm this server does not offer, or a malformed value."""
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise ApplicationError(
            f"Upload-Checksum algorithm '{algorithm}' is not supported; use one of "
            f"{', '.join(CHECKSUM_ALGORITHMS)}.",
            code="checksum_algorithm_unsupported",
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise ApplicationError(
            "Upload-Checksum is not `<algorithm> <base64 digest>`.", code="invalid"
        ) from exc
    return Checksum(algorithm=algorithm, digest=digest)


def upload_append(
    *,
    user_id: int,
    upload_id: uuid.UUID | str,
    offset: int,
    body: Readable,
    body_length: int,
    checksum: Checksum | None = None,
) -> Upload:
    """Write `body_length` bytes of `body` at `offset` of the owner's upload `upload_id` (the
    offset must be the server's) and move the offset on; the last byte finishes the upload
    (upload_finish). A body cut short keeps the bytes that arrived (unless a checksum was
    given: then none).

    Raises ApplicationError: 404 for an upload that is not the caller's (or was terminated
    meanwhile), 410 once it has expired, 409 when `offset` is not the server's or another PATCH
    holds the upload, 413 for more bytes than the upload has left, 460 when the checksum does
    not match (the bytes are discarded), 503 when the bucket fails (the chunk is not counted,
    even the last: the upload stays as it was); and what services.media_create raises for a
    finished file it refuses (the upload is gone then).
    """
    upload, claimed_at = _claim(user_id=user_id, upload_id=upload_id, offset=offset)
    if body_length > upload.length - offset:
        _release(upload, claimed_at=claimed_at)
        raise ApplicationError(
            "The chunk goes past the upload's length.",
            code="upload_too_large",
            status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        )
    # The state read with `upload` is the one at `offset`: offsets only grow, and the claim
    # found the offset unchanged.
    sha256 = RunningSha256(bytes(upload.sha256_state))
    digest = CHECKSUM_ALGORITHMS[checksum.algorithm]() if checksum else None

    def receive(part: IO[bytes]) -> tuple[int, bool]:
        """Write the body to `part`: how many bytes, and whether their checksum matches."""
        nonlocal claimed_at
        written, claimed_at = _receive(
            part,
            upload=upload,
            claimed_at=claimed_at,
            body=body,
            body_length=body_length,
            sha256=sha256,
            digest=digest,
        )
        return written, _checksum_matches(checksum, digest, written=written, expected=body_length)

    chunk = ""  # in the bucket: the object this PATCH sent
    try:
        if upload.chunks is None:
            written = _append_to_file(upload, offset, receive)
        else:
            written, chunk = _append_to_bucket(upload, offset, receive)
    except FileNotFoundError as exc:
        # Terminated (the file deleted) while this PATCH held it, or a node that cannot see the
        # resumable-upload directory: either way the hold goes at once.
        _release(upload, claimed_at=claimed_at)
        raise upload_not_found() from exc
    except OSError as exc:
        _release(upload, claimed_at=claimed_at, offset=offset)
        if is_out_of_space(exc):
            raise InsufficientStorage() from exc
        raise
    except BaseException:
        _release(upload, claimed_at=claimed_at, offset=offset)
        raise
    complete = offset + written == upload.length
    state = sha256.state()
    if chunk:
        upload.chunks = [*(upload.chunks or []), chunk]
    if complete:
        # The offset moves with the media (upload_finish), not before: a HEAD meanwhile must not
        # say the upload is whole, or a client that lost this PATCH's answer would take it for
        # done though the file may yet be refused. The hold stays until then; this checks it is
        # still this PATCH's.
        changes: dict[str, Any] = {"writing_since": claimed_at}
    else:
        changes = {
            "offset": offset + written,
            "sha256_state": state,
            "writing_since": None,
        }
        if chunk:
            changes["chunks"] = upload.chunks
    moved = Upload.objects.filter(Unflushed(), pk=upload.pk, writing_since=claimed_at).update(
        **changes
    )
    if not moved:
        if chunk:
            _forget_chunks([chunk])  # never counted, so never deleted with the others
        if Upload.objects.filter(pk=upload.pk).exists():
            # Its hold went stale and another PATCH took the upload over (this one took longer
            # than RESUMABLE_UPLOAD_WRITE_TIMEOUT_SECONDS without renewing): the bytes are theirs.
            raise upload_taken_over()
        if upload.chunks is None:
            part_path(upload).unlink(missing_ok=True)  # terminated meanwhile
        raise upload_not_found()
    upload.offset = offset + written
    upload.sha256_state = state
    if complete:
        try:
            return upload_finish(upload=upload, claimed_at=claimed_at, sha256=sha256.hexdigest())
        except (StorageUnavailable, InsufficientStorage):
            # The store failed, not the file: the upload stays at this chunk's offset, so the
            # client's retry of it (tus clients retry a 5xx) finishes it once the store answers.
            _release(upload, claimed_at=claimed_at)
            if chunk:  # this PATCH's own object (its name is unique), never counted by the row
                _forget_chunks([chunk])
            raise
    return upload


def _append_to_file(
    upload: Upload, offset: int, receive: Callable[[IO[bytes]], tuple[int, bool]]
) -> int:
    """Write the chunk into the upload's file at `offset`; how many bytes. Raises
    ApplicationError (460) when its checksum does not match: nothing of it is kept."""
    with open(part_path(upload), "r+b") as part:
        part.seek(offset)
        if os.fstat(part.fileno()).st_size > offset:
            # Bytes past the offset: a writer that died part-way. Only then: here (ext4) a
            # truncate, even to the file's own size, made the close write the file back to
            # disk; 8 MiB written at the end of a large file cost 16-25 ms instead of 3 ms.
            part.truncate()
        written, matches = receive(part)
        if not matches:
            part.truncate(offset)
            raise checksum_mismatch()
    return written


def _append_to_bucket(
    upload: Upload, offset: int, receive: Callable[[IO[bytes]], tuple[int, bool]]
) -> tuple[int, str]:
    """Spool the chunk to a temporary file, then send it as an object of its own: how many
    bytes, and the object's name ("" when none arrived). Raises ApplicationError (460) when
    its checksum does not match (nothing is sent), StorageUnavailable when the bucket fails."""
    with temporary_file(suffix=".chunk") as spooled:
        with open(spooled, "wb") as part:
            written, matches = receive(part)
        if not matches:
            raise checksum_mismatch()
        if not written:
            return 0, ""
        bucket = _bucket()
        name = bucket.chunk_name(upload.pk, offset)
        bucket.chunk_store(spooled, name)
    return written, name


def _bucket() -> ModuleType:
    """uploads.bucket, imported when first needed: it loads boto3, which a process on a local
    store never pays for."""
    from media_handler.uploads import bucket

    return bucket


def _receive(
    part: IO[bytes],
    *,
    upload: Upload,
    claimed_at: datetime,
    body: Readable,
    body_length: int,
    sha256: RunningSha256,
    digest: Any,
) -> tuple[int, datetime]:
    """Write the body's bytes to `part` (hashing them into `sha256`, and `digest` when a
    checksum was given) until `body_length` or the body's end; returns how many were written
    and the hold's time (renewed while the body arrives)."""

    # Each chunk is hashed on this thread, then written on a writer thread while this one reads
    # and hashes the next (one write in flight: the bytes stay in order, memory at two reads).
    # The hash goes beside the write, not after it on the writer: the write into the page cache
    # is the slowest step, and both uploads ran 4-8 % faster so (docs/performance.md, phone
    # backup, fourteenth session). Both release the GIL.
    in_flight: Future[int] | None = None
    renewed = time.monotonic()
    written = 0
    try:
        for chunk in received_chunks(body, body_length):
            if time.monotonic() - renewed >= _renewal_seconds():
                # A slow body keeps its hold: only a dead writer's goes stale.
                claimed_at = _renew(upload, claimed_at=claimed_at)
                renewed = time.monotonic()
            sha256.update(chunk)
            if digest is not None:
                digest.update(chunk)
            if in_flight is not None:
                in_flight.result()
            in_flight = _writers().submit(part.write, chunk)
            written += len(chunk)
    finally:
        if in_flight is not None:
            in_flight.result()
    return written, claimed_at


def _checksum_matches(
    checksum: Checksum | None, digest: Any, *, written: int, expected: int
) -> bool:
    """No checksum asked for, or the whole chunk arrived and has the one given."""
    if checksum is None:
        return True
    return written == expected and digest is not None and digest.digest() == checksum.digest


def checksum_mismatch() -> ApplicationError:
    return ApplicationError(
        "The chunk's checksum does not match its bytes; it was discarded.",
        code="checksum_mismatch",
        status=CHECKSUM_MISMATCH,
    )


class Unflushed(Expression):
    """A condition that is always true and, on PostgreSQL, lets the statement's own commit skip
    waiting for the log to reach the disk (`set_config('synchronous_commit', 'off', true)`, for
    that statement's transaction alone): a PATCH's two small updates would otherwise wait for
    the disk twice per chunk, and a `SET LOCAL` in a transaction of its own costs three round
    trips more. A crash may lose such an update, harmlessly: a lost claim holds nothing, and a
    lost offset (with its hash state) is an older one whose bytes the next PATCH writes again
    (each write starts at the offset kept). The media a finished upload makes is committed as
    any other write is. The setting lasts until the end of the transaction: inside one that
    holds other writes (an atomic block) it is left alone, so theirs are flushed as always."""

    conditional = True
    output_field = BooleanField()

    def as_sql(self, compiler, connection):
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            return "set_config('synchronous_commit', 'off', true) = 'off'", []
        return "1 = 1", []


def received_chunks(body: Readable, length: int) -> Iterator[bytes]:
    """The body's reads, until `length` bytes, or until the client goes away: what arrived
    before is kept (tus asks a server to keep as much as it received)."""
    received = 0
    while received < length:
        try:
            chunk = body.read(min(READ_BYTES, length - received))
        except OSError:
            return
        if not chunk:
            return
        received += len(chunk)
        yield chunk


@functools.cache
def _writers() -> ThreadPoolExecutor:
    """Threads that write chunks (their request's thread hashes them), shared by a worker
    process's requests (each has one chunk in flight); started when first needed."""
    return ThreadPoolExecutor(max_workers=WRITER_THREADS, thread_name_prefix="tus-writer")


def _claim(*, user_id: int, upload_id: uuid.UUID | str, offset: int) -> tuple[Upload, datetime]:
    """Hold the owner's upload `upload_id` for one PATCH at `offset`: the upload as it is, and
    the claim's time. A claim older than RESUMABLE_UPLOAD_WRITE_TIMEOUT_SECONDS belonged to a
    request that died.

    One statement finds, checks and claims the row (UPDATE … RETURNING, which the ORM cannot
    write): a PATCH's fixed cost is most of what separates a chunked upload from one stream, and
    a read before the claim doubled its queries. Only when nothing was claimed is the row read,
    to say why (404, 410 or 409)."""
    try:
        pk = uuid.UUID(str(upload_id))
    except ValueError:
        raise upload_not_found() from None
    now = timezone.now()
    stale = now - timedelta(seconds=settings.RESUMABLE_UPLOAD_WRITE_TIMEOUT_SECONDS)
    claimed = list(Upload.objects.raw(*_claim_sql(pk, user_id, offset, now, stale)))
    if claimed:
        return claimed[0], now
    current = Upload.objects.filter(user=user_id, pk=pk).first()
    if current is None:
        raise upload_not_found()
    if not current.is_complete and current.expires_at <= now:
        raise upload_expired()
    if current.is_complete:
        raise ApplicationError(
            "This upload is finished; its media exists.",
            code="upload_finished",
            status=HTTPStatus.CONFLICT,
        )
    if current.offset != offset:
        raise offset_mismatch(offset, current.offset)
    raise ApplicationError(
        "Another request is writing this upload.",
        code="upload_busy",
        status=HTTPStatus.CONFLICT,
    )


def _claim_sql(
    pk: uuid.UUID, user_id: int, offset: int, now: datetime, stale: datetime
) -> tuple[str, list[Any]]:
    """The claim's statement (UPDATE … RETURNING: SQLite 3.35 or newer, checks.py) and its
    values as the database takes them (a raw query's UUID is not converted: SQLite keeps UUIDs
    as hex text)."""
    meta = Upload._meta
    column = {field.attname: connection.ops.quote_name(str(field.column)) for field in meta.fields}
    unflushed, _ = Unflushed().as_sql(None, connection)
    # Only names from the model's own metadata are put in the text; every value is a parameter.
    sql = (
        f"UPDATE {connection.ops.quote_name(meta.db_table)} SET {column['writing_since']} = %s"  # noqa: S608
        f" WHERE {column['id']} = %s AND {column['user']} = %s AND {column['offset']} = %s"
        f" AND {column['media_id']} IS NULL AND {column['expires_at']} > %s"
        f" AND ({column['writing_since']} IS NULL OR {column['writing_since']} < %s)"
        f" AND {unflushed} RETURNING *"
    )
    moment = meta.get_field("writing_since").get_db_prep_value
    parameters = [
        moment(now, connection),
        meta.get_field("id").get_db_prep_value(pk, connection),
        user_id,
        offset,
        moment(now, connection),
        moment(stale, connection),
    ]
    return sql, parameters


def _renewal_seconds() -> float:
    """How often a PATCH renews its hold: well within the time after which it is stale."""
    return settings.RESUMABLE_UPLOAD_WRITE_TIMEOUT_SECONDS / 4


def _renew(upload: Upload, *, claimed_at: datetime) -> datetime:
    """Move this PATCH's hold on `upload` to now; its new time. Raises ApplicationError (409)
    when the hold is no longer this PATCH's (it went stale and another took the upload over)."""
    now = timezone.now()
    renewed = Upload.objects.filter(Unflushed(), pk=upload.pk, writing_since=claimed_at).update(
        writing_since=now
    )
    if not renewed:
        raise upload_taken_over()
    return now


def upload_taken_over() -> ApplicationError:
    return ApplicationError(
        "Another request took this upload over; ask HEAD for its offset.",
        code="upload_busy",
        status=HTTPStatus.CONFLICT,
    )


def offset_mismatch(offset: int, server_offset: int) -> ApplicationError:
    return ApplicationError(
        f"Upload-Offset is {offset} but the server has {server_offset}; ask HEAD.",
        code="offset_mismatch",
        status=HTTPStatus.CONFLICT,
    )


def _release(upload: Upload, *, claimed_at, offset: int | None = None) -> None:
    changes: dict[str, Any] = {"writing_since": None}
    if offset is not None:
        changes["offset"] = offset
    Upload.objects.filter(Unflushed(), pk=upload.pk, writing_since=claimed_at).update(**changes)


class _PartFile(UploadedFile):
    """The finished upload's file, as services.media_create takes an upload: with a
    `temporary_file_path()`, so the local storage links it into place instead of copying it."""

    def __init__(self, path: Path, *, size: int, name: str, sha256: str) -> None:
        super().__init__(
            open(path, "rb"),  # noqa: SIM115 -- closed by media_create's caller, below
            name=name,
            content_type="application/octet-stream",
            size=size,
        )
        self.path = path
        # Read by inspection.upload_checksum, as a multipart upload's streamed hash is.
        self.sha256_hexdigest = sha256
        # Read by storage.store_upload: the objects in the bucket that, joined, are this file.
        self.bucket_objects: list[str] | None = None

    def temporary_file_path(self) -> str:
        return str(self.path)


def upload_finish(*, upload: Upload, claimed_at, sha256: str) -> Upload:
    """Make the media of a complete upload with services.media_create, the multipart upload's
    path; the upload's own bytes then go. A file that path refuses takes the upload with it
    (nothing is left behind) and its ApplicationError is raised. StorageUnavailable and
    InsufficientStorage (the store failed, not the file) leave the upload as it is, for the
    caller to take the last chunk back."""
    data = {**upload.metadata}
    try:
        with received_file(upload) as path:
            name = data.get("name", "upload")
            with _PartFile(path, size=upload.length, name=name, sha256=sha256) as part:
                if upload.chunks:
                    # Stored by joining the chunks in the bucket, not by sending the file again.
                    part.bucket_objects = _bucket().joinable_keys(
                        upload.chunks, length=upload.length
                    )
                media = services.media_create(
                    user_id=upload.user,
                    data=data,
                    upload=part,
                    along=functools.partial(_finished, upload, claimed_at=claimed_at),
                )
    except _HoldLost:
        # Its file went with the undone create; the bytes are the new holder's.
        raise upload_taken_over() from None
    except (StorageUnavailable, InsufficientStorage):
        raise
    except BaseException:
        upload_discard(upload=upload)
        raise
    upload.media_id = media.pk
    try:
        _forget_bytes(upload)
    except StorageUnavailable:
        # The media exists; the sweep of expired uploads deletes the bytes later.
        logger.warning("could not delete the bytes of finished upload %s", upload.pk)
    return upload


class _HoldLost(Exception):
    """The finishing PATCH's hold went stale and another PATCH took the upload over."""


def _finished(upload: Upload, media, *, claimed_at) -> None:
    """The upload has made `media`: its offset reaches its length and it names the media, in
    the media's own transaction (services.media_create's `along`), so that the two commit
    together. Apart, a crash between them left a media whose upload still waited for its last
    chunk: sent again, it made a second media (and on disk, rewrote the part file the first
    one's stored file is a link of). Raises _HoldLost, undoing the media, when this PATCH no
    longer holds the upload."""
    finished = Upload.objects.filter(pk=upload.pk, writing_since=claimed_at).update(
        offset=upload.length,
        sha256_state=upload.sha256_state,
        chunks=upload.chunks,
        media_id=media.pk,
        writing_since=None,
    )
    if not finished:
        raise _HoldLost()


@contextlib.contextmanager
def received_file(upload: Upload) -> Iterator[Path]:
    """A local file of the bytes `upload` has received: its own file on disk, or one joined
    from its objects in the bucket (a temporary file, deleted afterwards). Raises
    StorageUnavailable when the bucket fails."""
    if upload.chunks is None:
        yield part_path(upload)
        return
    with temporary_file(suffix=".part") as joined:
        try:
            with open(joined, "wb") as into:
                _bucket().chunks_join(upload.chunks, into)
        except OSError as exc:
            if is_out_of_space(exc):
                raise InsufficientStorage() from exc
            raise
        yield Path(joined)


def upload_terminate(*, upload: Upload) -> None:
    """Delete the upload and the bytes received (its media, if it has one, stays). Raises
    StorageUnavailable (503) when the bucket fails: the upload stays, expired, for the sweep.

    The row is fenced first (expired, unheld): no PATCH can claim it any more, and one writing
    now fails its last update and deletes the object it sent itself; so every object counted
    exists before the listing below, and none is left once the row is gone."""
    Upload.objects.filter(pk=upload.pk).update(expires_at=timezone.now(), writing_since=None)
    _forget_bytes(upload)
    Upload.objects.filter(pk=upload.pk).delete()


def uploads_sweep() -> int:
    """Delete the uploads past their expiry, finished or not, with their bytes; returns how
    many (one the bucket fails to empty stays for the next sweep). One a PATCH holds (claimed
    just before its expiry, its last chunk still arriving or making the media) is left for the
    next sweep: its hold goes stale once its writer is gone."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.RESUMABLE_UPLOAD_WRITE_TIMEOUT_SECONDS)
    expired = list(
        Upload.objects.filter(expires_at__lte=now).filter(
            Q(writing_since__isnull=True) | Q(writing_since__lt=stale)
        )
    )
    swept = 0
    for upload in expired:
        try:
            upload_terminate(upload=upload)
        except Exception:
            # One upload's trouble (the bucket down, or a MEDIA_STORAGE switched back to local
            # under uploads kept in the bucket) stops no other's sweep.
            logger.exception("could not delete the bytes of expired upload %s", upload.pk)
            continue
        swept += 1
    return swept


def upload_discard(*, upload: Upload) -> None:
    """upload_terminate for an upload that failed, never raising for the bucket: when the
    bucket fails, the upload is left expired for the sweep (so its bytes never outlive a row
    that leads to them)."""
    with contextlib.suppress(StorageUnavailable):
        upload_terminate(upload=upload)


def _forget_bytes(upload: Upload) -> None:
    """Delete every byte kept for `upload` (not its row): its file, or every object under its
    prefix and any unfinished multipart upload there (a dead writer's too). Raises
    StorageUnavailable when the bucket fails."""
    if upload.chunks is None:
        part_path(upload).unlink(missing_ok=True)
        return
    bucket = _bucket()
    bucket.chunks_abort_unfinished(upload.pk)
    bucket.chunks_delete(bucket.chunks_listed(upload.pk))


def _forget_chunks(names: list[str]) -> None:
    """Delete the objects `names` that no row counts, logging (not raising) a bucket failure:
    the caller is already answering with an error of its own."""
    try:
        _bucket().chunks_delete(names)
    except StorageUnavailable:
        logger.warning("could not delete the uncounted objects %s", names)
