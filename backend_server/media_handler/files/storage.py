"""Where the bytes of uploaded media are kept, through Django's Storage API.

Every read, write, delete and listing of stored files goes through the functions here, so the
backend is chosen in one place (`media_storage()`): today the local filesystem under
MEDIA_ROOT; an object store (django-storages' S3Boto3Storage) slots in behind the same calls.
Names are relative to the storage's root: `uploads/YYYY/MM/DD/<uuid>.<extension>`, never the
client's file name.
"""

import contextlib
import errno
import functools
import logging
import os
import posixpath
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.core.files.uploadedfile import UploadedFile
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
    """The storage of uploaded media. It reads MEDIA_ROOT and FILE_UPLOAD_PERMISSIONS when
    used (and again after a settings change), so one instance serves the process."""
    return LocalMediaStorage()


def store_upload(upload: UploadedFile, *, extension: str) -> str:
    """Store `upload` under uploads/YYYY/MM/DD/ with a new unique name ending in `extension`;
    returns that name (the media's `storage_path`).

    Raises InsufficientStorage (507) when the storage is full. On any failure nothing is left
    in the storage.
    """
    name = new_upload_name(extension)
    upload.seek(0)
    try:
        stored_name = media_storage().save(name, upload)
    except OSError as exc:
        delete_stored_file(name)
        if is_out_of_space(exc):
            raise InsufficientStorage() from exc
        raise
    except BaseException:
        delete_stored_file(name)
        raise
    return stored_name


def new_upload_name(extension: str) -> str:
    day = timezone.now().strftime("%Y/%m/%d")
    return f"{UPLOADS_DIR}/{day}/{uuid.uuid4().hex}.{extension}"


def open_stored(storage_path: str) -> File:
    """The stored file, open for binary reading. Raises FileNotFoundError when it is gone."""
    return media_storage().open(_upload_name(storage_path), "rb")


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
    try:
        return media_storage().save(_upload_name(name), ContentFile(content))
    except BaseException:
        delete_stored_file(name)
        raise


def stored_size(storage_path: str) -> int:
    """The stored file's size in bytes. Raises FileNotFoundError when it is gone."""
    return media_storage().size(_upload_name(storage_path))


def delete_stored_file(storage_path: str) -> None:
    """Delete a stored file; a missing file, or a path that names no stored upload, is logged
    and left alone (the caller's work has already succeeded or failed)."""
    try:
        media_storage().delete(_upload_name(storage_path))
    except (OSError, ValueError):
        logger.warning("could not delete stored file %s", storage_path, exc_info=True)


def stored_files(*, modified_before: datetime) -> Iterator[str]:
    """The names of the stored uploads last modified before `modified_before`."""
    storage = media_storage()
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


def _upload_name(storage_path: str) -> str:
    """`storage_path` when it names a stored upload; ValueError for anything else, so a record's
    free-text path never reaches the storage."""
    if posixpath.normpath(storage_path) != storage_path or not storage_path.startswith(
        f"{UPLOADS_DIR}/"
    ):
        raise ValueError(f"not a stored upload path: {storage_path!r}")
    return storage_path
