"""Django's upload handlers for media (FILE_UPLOAD_HANDLERS): an upload is streamed to a
temporary file on disk, never held whole in memory, refused past MAX_UPLOAD_SIZE and hashed as
it arrives."""

import contextlib
import functools
import hashlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler

from common.exceptions import ApplicationError
from media_handler.files.storage import InsufficientStorage, is_out_of_space

# How much of an upload's body Django asks for at a time (its default is 64 KiB): gunicorn
# copies its whole read-ahead buffer on every read, so small reads copy each byte many times.
UPLOAD_CHUNK_BYTES = 1024 * 1024
# Threads per worker process writing and hashing upload chunks: as many as the uploads a worker
# serves at once (GUNICORN_THREADS, 4 by default), so no upload waits for another's chunk. They
# start only when needed.
UPLOAD_WRITER_THREADS = 8
# Multipart framing and the small form fields around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class UploadTooLarge(ApplicationError):
    def __init__(self) -> None:
        super().__init__(
            f"The upload is larger than the limit of {settings.MAX_UPLOAD_SIZE} bytes.",
            code="upload_too_large",
            status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        )


class MaxSizeUploadHandler(FileUploadHandler):
    """Refuses an upload past MAX_UPLOAD_SIZE: at once when the Content-Length says so, else as
    soon as the streamed file crosses the limit, removing the partial temporary file."""

    chunk_size = UPLOAD_CHUNK_BYTES

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > settings.MAX_UPLOAD_SIZE + MULTIPART_OVERHEAD_BYTES:
            raise UploadTooLarge()

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_SIZE:
            # The parser only closes finished files; the one being written is ours to remove.
            handlers = self.request.upload_handlers if self.request is not None else []
            for handler in handlers:
                if handler is not self:
                    handler.upload_interrupted()
            raise UploadTooLarge()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@functools.cache
def _upload_writers() -> ThreadPoolExecutor:
    """The threads that write and hash upload chunks, shared by a worker process's requests
    (each upload has one chunk in flight at most). File writes and hashlib release the GIL, so
    a chunk is stored on another core while the request's thread reads and parses the next
    (measured against writing on the request's thread: docs/performance.md)."""
    return ThreadPoolExecutor(max_workers=UPLOAD_WRITER_THREADS, thread_name_prefix="upload-writer")


@contextlib.contextmanager
def _partial_file_removed_on_error(handler: TemporaryFileUploadHandler) -> Iterator[None]:
    """A write error while streaming removes the partial temporary file at once (the multipart
    parser leaves it open, holding its space, until the garbage collector finds it); a full disk
    is a 507, not a 500."""
    try:
        yield
    except OSError as exc:
        with contextlib.suppress(OSError):
            handler.file.close()  # a NamedTemporaryFile: closing deletes it
        if is_out_of_space(exc):
            raise InsufficientStorage() from exc
        raise


class HashingTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Django's handler that streams the file to a temporary file, in UPLOAD_CHUNK_BYTES reads
    (the parser reads in the smallest chunk size of all the handlers), and hashes it (SHA-256)
    meanwhile, so storing it needs no second pass over the bytes.

    Each chunk is written and hashed on a writer thread while the request's thread reads the
    next one: one chunk in flight, waited for before the next is handed over (so the bytes stay
    in order and memory stays at two chunks), and before anything else touches the file. A
    writer's error surfaces on the request's thread at that wait, with the partial file removed.
    """

    chunk_size = UPLOAD_CHUNK_BYTES
    chunk_in_flight: Future[None] | None = None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.digest = hashlib.sha256()
        self.chunk_in_flight = None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._wait_for_chunk_in_flight()
        self.chunk_in_flight = _upload_writers().submit(self._write_and_hash, raw_data, start)
        # None: the chunk is consumed here, as Django's own handler consumes it.

    def _write_and_hash(self, raw_data: bytes, start: int) -> None:
        super().receive_data_chunk(raw_data, start)
        self.digest.update(raw_data)

    def file_complete(self, file_size: int) -> UploadedFile | None:
        self._wait_for_chunk_in_flight()
        with _partial_file_removed_on_error(self):  # flushes the last buffered bytes
            upload = super().file_complete(file_size)
        if upload is not None:
            # Read by inspection.upload_checksum.
            upload.sha256_hexdigest = self.digest.hexdigest()  # type: ignore[attr-defined]
        return upload

    def upload_interrupted(self) -> None:
        # The writer must be done with the file before it is closed and removed; its error, if
        # any, no longer matters.
        with contextlib.suppress(Exception):
            self._wait_for_chunk_in_flight()
        super().upload_interrupted()

    def _wait_for_chunk_in_flight(self) -> None:
        chunk_in_flight, self.chunk_in_flight = self.chunk_in_flight, None
        if chunk_in_flight is not None:
            with _partial_file_removed_on_error(self):
                chunk_in_flight.result()
