"""Where the bytes of uploaded media are kept, through Django's Storage API.

Every read, write, delete and listing of stored files goes through the functions here, so the
backend is chosen in one place (`media_storage()`, by MEDIA_STORAGE): the local filesystem under
MEDIA_ROOT, or a private bucket of an S3-compatible store (django-storages' S3Storage, keys
under S3_PREFIX). Names are relative to the storage's root: `uploads/YYYY/MM/DD/<uuid>.<ext>`,
never the client's file name, and the same on both backends (`migrate_storage` moves files
between them without touching a row).

What other code needs: `store_upload` (a request's upload), `store_file` (a file or stream from
anywhere: resumable uploads, migrations), `store_bytes` (derivatives), `open_stored`,
`local_copy`, `stored_size`, `delete_stored_file`, `stored_files`. The S3 specifics the generic
Storage API has no word for (a multipart upload fed while the body arrives, presigned URLs,
abandoned multipart uploads) are the `StreamedUpload` class and the `s3_*` functions.
"""

import contextlib
import errno
import functools
import hashlib
import io
import logging
import os
import posixpath
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.core.files.uploadedfile import UploadedFile
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from storages.backends.s3 import S3Storage

from common.exceptions import ApplicationError

logger = logging.getLogger(__name__)

UPLOADS_DIR = "uploads"


class InsufficientStorage(ApplicationError):
    def __init__(self) -> None:
        super().__init__(
            "There is no space left to store the upload; try again later.",
            code="insufficient_storage",
            status=HTTPStatus.INSUFFICIENT_STORAGE,
        )


class StorageUnavailable(ApplicationError):
    def __init__(self) -> None:
        super().__init__(
            "The file store cannot be reached; try again later.",
            code="storage_unavailable",
            status=HTTPStatus.SERVICE_UNAVAILABLE,
        )


# What boto3 raises when the store refuses or cannot be reached.
OBJECT_STORE_ERRORS = (BotoCoreError, ClientError)


def is_out_of_space(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


class LocalMediaStorage(FileSystemStorage):
    """Django's FileSystemStorage under MEDIA_ROOT (with FILE_UPLOAD_PERMISSIONS), which
    hard-links an upload's temporary file into place instead of moving it: the temporary
    directory is on the same filesystem, and the request keeps its file until it ends."""

    # Django's documented hook for a custom storage, which django-stubs leaves out.
    def _save(self, name: str, content: Any) -> str:
        temporary_file_path = getattr(content, "temporary_file_path", None)
        if temporary_file_path is None:
            return super()._save(name, content)  # type: ignore[misc]
        full_path = self.path(name)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        try:
            os.link(temporary_file_path(), full_path)
        except OSError as exc:
            if is_out_of_space(exc):
                raise
            # Another filesystem, or links not allowed: Django moves or copies it.
            return super()._save(name, content)  # type: ignore[misc]
        if self.file_permissions_mode is not None:
            os.chmod(full_path, self.file_permissions_mode)
        return name


class S3MediaStorage(S3Storage):
    """django-storages' S3 storage configured from the S3_* settings: a private bucket (no ACL,
    every read through a presigned URL), keys under S3_PREFIX, new names never overwritten (so
    no HEAD before each write to find a free one)."""

    def __init__(self) -> None:
        super().__init__(
            bucket_name=settings.S3_BUCKET,
            endpoint_url=settings.S3_ENDPOINT_URL or None,
            region_name=settings.S3_REGION or None,
            access_key=settings.S3_ACCESS_KEY_ID or None,
            secret_key=settings.S3_SECRET_ACCESS_KEY or None,
            location=settings.S3_PREFIX,
            default_acl=None,
            file_overwrite=True,
            querystring_auth=True,
            querystring_expire=settings.S3_PRESIGNED_URL_SECONDS,
            client_config=Config(
                signature_version="s3v4",
                s3={"addressing_style": settings.S3_ADDRESSING_STYLE},
                retries={"max_attempts": 3, "mode": "standard"},
                # The object stores that do not know AWS's newer integrity headers (older
                # MinIO, Ceph) refuse them: only when the operation requires one.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    # One boto3 session per configuration for the process: a session loads the service model
    # (a few hundred milliseconds) once, then makes each thread's connection cheaply. Sessions
    # are not thread-safe, so connections are made under a lock.
    _sessions: dict[tuple[str | None, ...], boto3.Session] = {}
    _sessions_lock = threading.Lock()

    def _create_session(self) -> boto3.Session:
        key = (self.access_key, self.secret_key, self.security_token, self.session_profile)
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = super()._create_session()
        return session

    @property
    def connection(self) -> Any:
        connection = getattr(self._connections, "connection", None)
        if connection is None:
            with self._sessions_lock:
                connection = super().connection
        return connection


@functools.cache
def media_storage() -> Storage:
    """The storage of uploaded media (MEDIA_STORAGE). The local one reads MEDIA_ROOT and
    FILE_UPLOAD_PERMISSIONS when used; both are made anew after a settings change (tests)."""
    if is_object_store():
        return S3MediaStorage()
    return LocalMediaStorage()


def is_object_store() -> bool:
    return settings.MEDIA_STORAGE == "s3"


@receiver(setting_changed)
def _storage_settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "MEDIA_STORAGE" or setting.startswith("S3_"):
        media_storage.cache_clear()


@dataclass(frozen=True)
class StoredFile:
    """A file just stored: its storage name (a media's `storage_path`), size and SHA-256."""

    name: str
    size: int
    sha256: str


def store_upload(upload: UploadedFile, *, extension: str) -> str:
    """Store `upload` under uploads/YYYY/MM/DD/ with a new unique name ending in `extension`;
    returns that name (the media's `storage_path`).

    Raises InsufficientStorage (507) when the storage is full. On any failure nothing is left
    in the storage.
    """
    streamed: StreamedUpload | None = getattr(upload, "streamed_upload", None)
    if streamed is not None and streamed.is_started:
        # Already in the bucket but for the last step (upload_handlers): made visible now.
        return streamed.complete(extension=extension)
    name = new_upload_name(extension)
    upload.seek(0)
    with _nothing_left_on_error(name):
        return media_storage().save(name, upload)


def discard_upload(upload: UploadedFile) -> None:
    """Drop what a refused upload already sent to the bucket (its multipart upload); nothing to
    do for a file only on local disk (its temporary file goes with the request)."""
    streamed: StreamedUpload | None = getattr(upload, "streamed_upload", None)
    if streamed is not None:
        streamed.abort()


def store_file(source: str | Path | IO[bytes], *, extension: str) -> StoredFile:
    """Store a file (a local path, or a binary stream read once to its end) under a new upload
    name ending in `extension`, hashing it on the way; returns its name, size and SHA-256.
    The bytes are streamed (to the bucket as a multipart upload), never held whole in memory.

    Raises InsufficientStorage (507) or StorageUnavailable (503); nothing is left behind on any
    failure.
    """
    name = new_upload_name(extension)
    with contextlib.ExitStack() as stack:
        stream = (
            stack.enter_context(open(source, "rb")) if isinstance(source, (str, Path)) else source
        )
        reader = _HashingReader(stream)
        with _nothing_left_on_error(name):
            stored_name = media_storage().save(name, File(reader, name=name))  # type: ignore[arg-type]
    return StoredFile(name=stored_name, size=reader.size, sha256=reader.digest.hexdigest())


class _HashingReader(io.RawIOBase):
    """A read-once view of a stream that hashes (SHA-256) and counts what is read through it;
    closing it leaves the stream open (the caller's to close)."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        self.digest.update(data)
        self.size += len(data)
        return len(data)


@contextlib.contextmanager
def _nothing_left_on_error(name: str) -> Iterator[None]:
    """A failed write removes what it may have left; a full disk is a 507, a store that cannot
    be reached a 503."""
    try:
        yield
    except OSError as exc:
        delete_stored_file(name)
        if is_out_of_space(exc):
            raise InsufficientStorage() from exc
        raise
    except OBJECT_STORE_ERRORS as exc:
        delete_stored_file(name)
        logger.error("the object store refused or failed a write of %s: %s", name, exc)
        raise StorageUnavailable() from exc
    except BaseException:
        delete_stored_file(name)
        raise


def new_upload_name(extension: str) -> str:
    day = timezone.now().strftime("%Y/%m/%d")
    return f"{UPLOADS_DIR}/{day}/{uuid.uuid4().hex}.{extension}"


def open_stored(storage_path: str) -> File:
    """The stored file, open for binary reading (and seeking). Raises FileNotFoundError when it
    is gone. From a bucket the bytes are streamed as they are read (django-storages' own file
    would download the whole object to a temporary file first)."""
    name = _upload_name(storage_path)
    storage = media_storage()
    if isinstance(storage, S3Storage):
        return File(_S3ObjectReader(storage, name), name=name)  # type: ignore[arg-type]
    return storage.open(name, "rb")


class _S3ObjectReader(io.RawIOBase):
    """A stored object read through ranged GETs: one GET streams from the current position
    until a seek elsewhere starts another."""

    def __init__(self, storage: S3Storage, name: str) -> None:
        super().__init__()
        self._client = storage.connection.meta.client
        self._bucket = storage.bucket_name
        self._key = f"{_s3_root(storage)}{name}"
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=self._key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(name) from exc
            raise
        self.size: int = head["ContentLength"]
        self._position = 0
        self._body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        position = max(base + offset, 0)
        if position != self._position:
            self._close_body()
            self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        if self._position >= self.size or len(buffer) == 0:
            return 0
        if self._body is None:
            self._body = self._client.get_object(
                Bucket=self._bucket, Key=self._key, Range=f"bytes={self._position}-"
            )["Body"]
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        self._close_body()
        super().close()

    def _close_body(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close()


@contextlib.contextmanager
def local_copy(storage_path: str) -> Iterator[str]:
    """A path on this machine's disk with the stored file's bytes, for the tools that read only
    paths (ffmpeg): the stored file itself when the storage keeps it on this machine (Django's
    `Storage.path()`), else a temporary copy, deleted afterwards. Raises FileNotFoundError when
    the file is gone."""
    storage = media_storage()
    name = _upload_name(storage_path)
    try:
        path = storage.path(name)
    except NotImplementedError:
        path = None
    if path is not None:
        if not os.path.isfile(path):
            raise FileNotFoundError(storage_path)
        yield path
        return
    with (
        temporary_file(suffix=posixpath.splitext(name)[1]) as copy_path,
        storage.open(name, "rb") as source,
        open(copy_path, "wb") as copy,
    ):
        shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.close()
        yield copy_path


@contextlib.contextmanager
def temporary_file(*, suffix: str = "") -> Iterator[str]:
    """The path of a new empty file in the service's temporary directory (local, swept by
    sweep_orphan_files if a killed process leaves it), deleted afterwards."""
    os.makedirs(settings.FILE_UPLOAD_TEMP_DIR, exist_ok=True)
    handle, path = tempfile.mkstemp(dir=settings.FILE_UPLOAD_TEMP_DIR, suffix=suffix)
    os.close(handle)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def store_bytes(name: str, content: bytes) -> str:
    """Store `content` under `name` (a new name under uploads/: derivatives); returns the name
    the storage kept. On failure nothing is left in the storage."""
    with _nothing_left_on_error(name):
        return media_storage().save(_upload_name(name), ContentFile(content))


def stored_size(storage_path: str) -> int:
    """The stored file's size in bytes. Raises FileNotFoundError when it is gone."""
    storage = media_storage()
    if isinstance(storage, S3Storage):
        with open_stored(storage_path) as stored:
            return stored.size
    return storage.size(_upload_name(storage_path))


def delete_stored_file(storage_path: str) -> None:
    """Delete a stored file; a missing file, or a path that names no stored upload, is logged
    and left alone (the caller's work has already succeeded or failed)."""
    try:
        media_storage().delete(_upload_name(storage_path))
    except (OSError, ValueError, *OBJECT_STORE_ERRORS):
        logger.warning("could not delete stored file %s", storage_path, exc_info=True)


def stored_files(*, modified_before: datetime) -> Iterator[str]:
    """The names of the stored uploads last modified before `modified_before`."""
    storage = media_storage()
    if isinstance(storage, S3Storage):
        # One listing call per thousand keys, their times included (no request per key).
        for name, modified in _s3_listing(storage, f"{UPLOADS_DIR}/"):
            if modified < modified_before:
                yield name
        return
    for name in _walk(storage, UPLOADS_DIR):
        if storage.get_modified_time(name) < modified_before:
            yield name


def _s3_listing(storage: S3Storage, prefix: str) -> Iterator[tuple[str, datetime]]:
    root = _s3_root(storage)
    paginator = storage.connection.meta.client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=f"{root}{prefix}"):
        for entry in page.get("Contents", []):
            yield entry["Key"][len(root) :], entry["LastModified"]


def _s3_root(storage: S3Storage) -> str:
    return f"{storage.location}/" if storage.location else ""


def _walk(storage: Storage, directory: str) -> Iterator[str]:
    try:
        directories, files = storage.listdir(directory)
    except FileNotFoundError:
        return
    for file_name in files:
        yield f"{directory}/{file_name}"
    for subdirectory in directories:
        yield from _walk(storage, f"{directory}/{subdirectory}")


def _upload_name(storage_path: str) -> str:
    """`storage_path` when it names a stored upload; ValueError for anything else, so a record's
    free-text path never reaches the storage."""
    if posixpath.normpath(storage_path) != storage_path or not storage_path.startswith(
        f"{UPLOADS_DIR}/"
    ):
        raise ValueError(f"not a stored upload path: {storage_path!r}")
    return storage_path


# Both backends at once (migrate_storage), whatever MEDIA_STORAGE says.

BACKENDS = ("local", "s3")


def storage_of(backend: str) -> Storage:
    """A storage of `backend` (`local`: MEDIA_ROOT, `s3`: the S3_* bucket)."""
    if backend not in BACKENDS:
        raise ValueError(f"no storage backend {backend!r}")
    return S3MediaStorage() if backend == "s3" else LocalMediaStorage()


def open_in(storage: Storage, storage_path: str) -> File:
    """`open_stored` in the given storage."""
    name = _upload_name(storage_path)
    if isinstance(storage, S3Storage):
        return File(_S3ObjectReader(storage, name), name=name)  # type: ignore[arg-type]
    return storage.open(name, "rb")


def checksum_in(storage: Storage, storage_path: str) -> str | None:
    """The SHA-256 of a file as the storage gives its bytes back; None when it is not there."""
    digest = hashlib.sha256()
    try:
        with open_in(storage, storage_path) as stored:
            while chunk := stored.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def copy_between(source: Storage, destination: Storage, storage_path: str) -> str:
    """Copy a file to the same name in `destination` (replacing what is there), streamed;
    returns the SHA-256 of the bytes read from `source`. Raises FileNotFoundError when the
    source has no such file."""
    name = _upload_name(storage_path)
    with open_in(source, name) as stored:
        reader = _HashingReader(stored)
        if destination.exists(name):
            destination.delete(name)
        saved = destination.save(name, File(reader, name=name))  # type: ignore[arg-type]
    if saved != name:
        destination.delete(saved)
        raise RuntimeError(f"{destination} stored {name} as {saved}")
    return reader.digest.hexdigest()


HASH_CHUNK_BYTES = 1024 * 1024


# S3 only: what django-storages' Storage API has no word for.


def s3_storage() -> S3MediaStorage:
    storage = media_storage()
    if not isinstance(storage, S3MediaStorage):
        raise RuntimeError("MEDIA_STORAGE is not s3")
    return storage


def s3_key(storage_path: str) -> str:
    """The bucket key of a stored upload (S3_PREFIX/<storage_path>)."""
    return f"{_s3_root(s3_storage())}{_upload_name(storage_path)}"


def s3_presigned_url(storage_path: str, *, response_headers: dict[str, str]) -> str:
    """A presigned GET of the stored file, valid S3_PRESIGNED_URL_SECONDS, whose answer carries
    `response_headers` (S3's response-* overrides: ResponseContentType,
    ResponseContentDisposition, ResponseCacheControl)."""
    return s3_storage().url(_upload_name(storage_path), parameters=response_headers)


class StreamedUpload:
    """An S3 multipart upload fed part by part while a request's body arrives
    (upload_handlers), made visible by `complete()` only once the upload has been checked, and
    aborted otherwise: until then the object does not exist, and an abandoned one (a killed
    process) is found by `abandoned_multipart_uploads()` for sweep_orphan_files.

    Not thread-safe: one thread at a time (the handler waits for each part before the next).
    """

    def __init__(self) -> None:
        self.name = ""
        self.upload_id = ""
        self.parts: list[dict[str, Any]] = []
        self.is_finished = False

    @property
    def is_started(self) -> bool:
        return bool(self.upload_id)

    def start(self, *, extension: str) -> None:
        storage = s3_storage()
        self.name = new_upload_name(extension)
        created = storage.connection.meta.client.create_multipart_upload(
            Bucket=storage.bucket_name, Key=s3_key(self.name)
        )
        self.upload_id = created["UploadId"]

    def send_part(self, data: bytes | bytearray | memoryview) -> None:
        storage = s3_storage()
        number = len(self.parts) + 1
        sent = storage.connection.meta.client.upload_part(
            Bucket=storage.bucket_name,
            Key=s3_key(self.name),
            UploadId=self.upload_id,
            PartNumber=number,
            Body=bytes(data),
        )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def complete(self, *, extension: str) -> str:
        """Make the object visible; returns its storage name. A name whose extension is not
        `extension` (the inspection's, from the same sniffed bytes: it does not happen) is
        corrected by a copy. Aborts, and raises StorageUnavailable, when the store fails."""
        storage = s3_storage()
        client = storage.connection.meta.client
        try:
            client.complete_multipart_upload(
                Bucket=storage.bucket_name,
                Key=s3_key(self.name),
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts},
            )
        except OBJECT_STORE_ERRORS as exc:
            self.abort()
            raise StorageUnavailable() from exc
        self.is_finished = True
        if posixpath.splitext(self.name)[1] == f".{extension}":
            return self.name
        renamed = new_upload_name(extension)
        with _nothing_left_on_error(renamed):
            client.copy(
                {"Bucket": storage.bucket_name, "Key": s3_key(self.name)},
                storage.bucket_name,
                s3_key(renamed),
            )
        delete_stored_file(self.name)
        return renamed

    def abort(self) -> None:
        """Drop the parts sent so far (once; logged, never raised: the caller is failing)."""
        if not self.is_started or self.is_finished:
            return
        self.is_finished = True
        storage = s3_storage()
        try:
            storage.connection.meta.client.abort_multipart_upload(
                Bucket=storage.bucket_name, Key=s3_key(self.name), UploadId=self.upload_id
            )
        except OBJECT_STORE_ERRORS:
            logger.warning("could not abort the multipart upload of %s", self.name, exc_info=True)


def abandoned_multipart_uploads(*, started_before: datetime) -> Iterator[tuple[str, str]]:
    """(key, upload id) of the multipart uploads under uploads/ started before
    `started_before`: left by a process killed mid-upload (a bucket lifecycle rule
    AbortIncompleteMultipartUpload does the same for AWS; docs/scaling.md)."""
    storage = s3_storage()
    client = storage.connection.meta.client
    paginator = client.get_paginator("list_multipart_uploads")
    prefix = f"{_s3_root(storage)}{UPLOADS_DIR}/"
    for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=prefix):
        for upload in page.get("Uploads", []):
            if upload["Initiated"] < started_before:
                yield upload["Key"], upload["UploadId"]


def abort_multipart_upload(key: str, upload_id: str) -> None:
    storage = s3_storage()
    storage.connection.meta.client.abort_multipart_upload(
        Bucket=storage.bucket_name, Key=key, UploadId=upload_id
    )
