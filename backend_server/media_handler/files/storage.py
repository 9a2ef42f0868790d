"""Where the bytes of uploaded media are kept, through Django's Storage API.

Every read, write, delete and listing of stored files goes through the functions here, so the
backend is chosen in one place (`media_storage()`, by MEDIA_STORAGE): the local filesystem under
MEDIA_ROOT, or a private bucket of an S3-compatible store (django-storages' S3Storage, keys
under S3_PREFIX). Names are relative to the storage's root: `uploads/YYYY/MM/DD/<uuid>.<ext>`,
never the client's file name, and the same on both backends (`migrate_storage` moves files
between them without touching a row).

What other code needs: `store_upload` (a request's upload), `store_file` (a file or stream from
anywhere: resumable uploads, migrations), `store_bytes` (derivatives), `open_stored`,
`local_copy`, `stored_size`, `delete_stored_file`, `stored_files`. The bucket's own code
(media_handler.files.s3: a multipart upload fed while the body arrives, presigned URLs, abandoned
multipart uploads) is imported only with MEDIA_STORAGE=s3, so a local store never loads boto3.
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
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.core.files.uploadedfile import UploadedFile
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone

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


def object_store_errors() -> tuple[type[Exception], ...]:
    """What boto3 raises when the store refuses or cannot be reached (s3.OBJECT_STORE_ERRORS):
    nothing until the bucket's module is loaded (MEDIA_STORAGE=s3 loads it, and boto3 with it;
    a local store never pays for it: some 25 MB a process)."""
    if "media_handler.files.s3" not in sys.modules:
        return ()
    from media_handler.files.s3 import OBJECT_STORE_ERRORS

    return OBJECT_STORE_ERRORS


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


@functools.cache
def media_storage() -> Storage:
    """The storage of uploaded media (MEDIA_STORAGE). The local one reads MEDIA_ROOT and
    FILE_UPLOAD_PERMISSIONS when used; both are made anew after a settings change (tests)."""
    if is_object_store():
        from media_handler.files.s3 import S3MediaStorage

        return S3MediaStorage()
    return LocalMediaStorage()


def warm_up() -> None:
    """Load now what the process's first request to the storage would otherwise wait for: with
    the files in a bucket, boto3, its service model and the process's client (0.25-0.3 s on
    the bench's machine; docs/performance.md). A media worker calls it as it starts (gunicorn's
    post_worker_init), before it takes a request; a local store has nothing to load."""
    storage = media_storage()
    if is_in_bucket(storage):
        storage.client  # type: ignore[attr-defined]  # noqa: B018 -- made on first use


def is_object_store() -> bool:
    return settings.MEDIA_STORAGE == "s3"


def import_object_store_code() -> None:
    """With the media in a bucket, import its code (boto3, botocore, django-storages) now: in
    gunicorn's master, as common.wsgi.import_every_view does for the views, so no worker loads
    it again. Only the modules: a client is made in each worker on first use, never shared
    across the fork. A local store still never loads boto3."""
    if is_object_store():
        import media_handler.files.s3  # noqa: F401


def is_in_bucket(storage: Storage) -> bool:
    """Whether `storage` is a bucket (files.s3.S3MediaStorage)."""
    return getattr(storage, "is_bucket", False)


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

    An upload with `bucket_objects` (the keys of objects in the bucket whose bytes, joined, are
    its own) is joined there by the store (s3.objects_joined), or sent if the store refuses.

    Raises InsufficientStorage (507) when the storage is full, StorageUnavailable (503) when
    the bucket fails. On any failure nothing is left in the storage.
    """
    streamed = getattr(upload, "streamed_upload", None)
    if streamed is not None and streamed.is_started:
        # Already in the bucket but for the last step (upload_handlers): made visible now.
        return streamed.complete(extension=extension)
    in_bucket = getattr(upload, "bucket_objects", None)
    if in_bucket:
        # Already in the bucket as objects that, joined, are its bytes (a resumable upload's
        # chunks): joined there by the store, not sent again. A store that refuses to join
        # them gets the file sent, as any other.
        from media_handler.files.s3 import JoinRefused, objects_joined

        try:
            return objects_joined(in_bucket, extension=extension)
        except JoinRefused as exc:
            logger.warning("the store refused to join an upload's chunks: %s", exc.__cause__)
    name = new_upload_name(extension)
    upload.seek(0)
    with nothing_left_on_error(name):
        return media_storage().save(name, upload)


def discard_upload(upload: UploadedFile) -> None:
    """Drop what a refused upload already sent to the bucket (its multipart upload); nothing to
    do for a file only on local disk (its temporary file goes with the request)."""
    streamed = getattr(upload, "streamed_upload", None)
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
        with nothing_left_on_error(name):
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
def nothing_left_on_error(name: str) -> Iterator[None]:
    """A failed write removes what it may have left; a full disk is a 507, a store that cannot
    be reached a 503."""
    try:
        yield
    except OSError as exc:
        delete_stored_file(name)
        if is_out_of_space(exc):
            raise InsufficientStorage() from exc
        raise
    except object_store_errors() as exc:
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
    is gone."""
    return open_in(media_storage(), storage_path)


@contextlib.contextmanager
def local_copy(storage_path: str) -> Iterator[str]:
    """A path on this machine's disk with the stored file's bytes, for the tools that read only
    paths (ffmpeg): the stored file itself when the storage keeps it on this machine (Django's
    `Storage.path()`), else a temporary copy, deleted afterwards. Raises FileNotFoundError when
    the file is gone."""
    storage = media_storage()
    name = upload_name(storage_path)
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
        open_in(storage, name) as source,
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
    with nothing_left_on_error(name):
        return media_storage().save(upload_name(name), ContentFile(content))


def stored_size(storage_path: str) -> int:
    """The stored file's size in bytes. Raises FileNotFoundError when it is gone."""
    storage = media_storage()
    if is_in_bucket(storage):
        with open_stored(storage_path) as stored:  # one HEAD
            return stored.size
    return storage.size(upload_name(storage_path))


def delete_stored_file(storage_path: str) -> None:
    """Delete a stored file; a missing file, or a path that names no stored upload, is logged
    and left alone (the caller's work has already succeeded or failed)."""
    try:
        media_storage().delete(upload_name(storage_path))
    except (OSError, ValueError, *object_store_errors()):  # type: ignore[misc]
        logger.warning("could not delete stored file %s", storage_path, exc_info=True)


def stored_files(*, modified_before: datetime) -> Iterator[str]:
    """The names of the stored uploads last modified before `modified_before`."""
    storage = media_storage()
    if is_in_bucket(storage):
        from media_handler.files.s3 import bucket_listing

        # One listing call per thousand keys, their times included (no request per key).
        for name, modified in bucket_listing(storage, f"{UPLOADS_DIR}/"):
            if modified < modified_before:
                yield name
        return
    for name in _walk(storage, UPLOADS_DIR):
        if storage.get_modified_time(name) < modified_before:
            yield name


def _walk(storage: Storage, directory: str) -> Iterator[str]:
    try:
        directories, files = storage.listdir(directory)
    except FileNotFoundError:
        return
    for file_name in files:
        yield f"{directory}/{file_name}"
    for subdirectory in directories:
        yield from _walk(storage, f"{directory}/{subdirectory}")


def upload_name(storage_path: str) -> str:
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
    if backend == "local":
        return LocalMediaStorage()
    from media_handler.files.s3 import S3MediaStorage

    return S3MediaStorage()


def open_in(storage: Storage, storage_path: str) -> File:
    """`open_stored` in the given storage."""
    name = upload_name(storage_path)
    if is_in_bucket(storage):
        from media_handler.files.s3 import ObjectReader

        # Streamed as read (django-storages' own file downloads the whole object first).
        return File(ObjectReader(storage, name), name=name)  # type: ignore[arg-type]
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
    name = upload_name(storage_path)
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
