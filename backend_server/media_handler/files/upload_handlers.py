"""Django's upload handlers for media (FILE_UPLOAD_HANDLERS): an upload is streamed to a
temporary file on disk, never held whole in memory, refused past MAX_UPLOAD_SIZE and hashed as
it arrives. With MEDIA_STORAGE=s3 its bytes also go to the bucket while they arrive, as the
parts of a multipart upload (s3.StreamedUpload) that the upload's service completes once
the file is checked, and that is aborted otherwise: the temporary file is only the inspection's
working copy (ffprobe and mutagen seek), gone with the request."""

import contextlib
import functools
import hashlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import magic
from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler

from common.exceptions import ApplicationError
from media_handler.files.inspection import SNIFF_BYTES, extension_for
from media_handler.files.storage import (
    InsufficientStorage,
    StorageUnavailable,
    is_object_store,
    is_out_of_space,
    object_store_errors,
)

if TYPE_CHECKING:
    from botocore.httpchecksum import Crc32Checksum

    from media_handler.files.s3 import StreamedUpload

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
    """The threads that write upload chunks (the request's thread hashes them), shared by a
    worker process's requests (each upload has one chunk in flight at most). File writes and
    hashlib release the GIL, so a chunk is stored on another core while the request's thread
    reads, parses and hashes the next (measured against writing on the request's thread:
    docs/performance.md)."""
    return ThreadPoolExecutor(max_workers=UPLOAD_WRITER_THREADS, thread_name_prefix="upload-writer")


def _new_crc32() -> "Crc32Checksum":
    """botocore's running CRC32 (what it would send), imported when first needed: a process on
    a local store never loads botocore."""
    from botocore.httpchecksum import Crc32Checksum

    return Crc32Checksum()


@functools.cache
def _part_senders() -> ThreadPoolExecutor:
    """The threads that send upload parts to the bucket, shared by a worker process's uploads
    (each has at most S3_UPLOAD_PARTS_IN_FLIGHT on their way while it gathers the next)."""
    return ThreadPoolExecutor(max_workers=UPLOAD_WRITER_THREADS, thread_name_prefix="upload-part")


@contextlib.contextmanager
def _partial_file_removed_on_error(handler: TemporaryFileUploadHandler) -> Iterator[None]:
    """A write error while streaming removes the partial temporary file at once (the multipart
    parser leaves it open, holding its space, until the garbage collector finds it) and drops
    the parts sent to the bucket; a full disk is a 507, a store that fails a 503, not a 500."""
    try:
        yield
    except OSError as exc:
        with contextlib.suppress(OSError):
            handler.file.close()  # a NamedTemporaryFile: closing deletes it (and aborts)
        if is_out_of_space(exc):
            raise InsufficientStorage() from exc
        raise
    except object_store_errors() as exc:
        with contextlib.suppress(OSError):
            handler.file.close()
        raise StorageUnavailable() from exc


class StreamedTemporaryUploadedFile(TemporaryUploadedFile):
    """Django's temporary upload file, with the multipart upload its bytes were streamed to
    (storage.store_upload completes it); closing the file (Django closes a request's files when
    its answer is done) aborts one that was never completed: a refused or failed upload leaves
    no object."""

    streamed_upload: "StreamedUpload | None" = None

    def close(self) -> None:
        try:
            if self.streamed_upload is not None:
                self.streamed_upload.abort()
        finally:
            super().close()


class HashingTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Django's handler that streams the file to a temporary file, in UPLOAD_CHUNK_BYTES reads
    (the parser reads in the smallest chunk size of all the handlers), and hashes it (SHA-256)
    meanwhile, so storing it needs no second pass over the bytes.

    Each chunk is hashed on the request's thread and written on a writer thread while the
    request's thread reads and hashes the next one: one chunk in flight, waited for before the
    next is handed over (so the bytes stay in order and memory stays at two chunks), and before
    anything else touches the file. A writer's error surfaces on the request's thread at that
    wait, with the partial file removed. The hash is not the writer's: its write into the page
    cache is the slowest step, and hashing beside it made uploads 4-8 % faster
    (docs/performance.md, phone backup, fourteenth session).
    """

    chunk_size = UPLOAD_CHUNK_BYTES
    chunk_in_flight: Future[None] | None = None
    parts_in_flight: "deque[Future[None]]"

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        FileUploadHandler.new_file(self, *args, **kwargs)
        self.file: StreamedTemporaryUploadedFile = StreamedTemporaryUploadedFile(
            self.file_name or "", self.content_type, 0, self.charset, self.content_type_extra
        )
        self.digest = hashlib.sha256()
        self.chunk_in_flight = None
        self.parts_in_flight = deque()
        self.written = 0  # bytes of the temporary file written, and sent as parts
        self.sent = 0
        # The CRC32 of the bytes written since the last part, when parts carry one.
        self.unsent_crc32: Crc32Checksum | None = None
        if is_object_store():
            from media_handler.files.s3 import StreamedUpload, checksum_algorithm

            self.file.streamed_upload = StreamedUpload()
            if checksum_algorithm():
                self.unsent_crc32 = _new_crc32()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.digest.update(raw_data)  # hashlib releases the GIL: the writer goes on meanwhile
        self._wait_for_chunk_in_flight()
        self.chunk_in_flight = _upload_writers().submit(self._write, raw_data, start)
        # None: the chunk is consumed here, as Django's own handler consumes it.

    def _write(self, raw_data: bytes, start: int) -> None:
        """On a writer thread: the chunk into the temporary file, and into the bucket's next
        part once a part's worth is written."""
        super().receive_data_chunk(raw_data, start)
        self.written += len(raw_data)
        if self.unsent_crc32 is not None:
            # The part's checksum as its bytes go by: no second read of them (zlib, under it,
            # releases the GIL, as hashlib does).
            self.unsent_crc32.update(raw_data)
        if (
            self.file.streamed_upload is not None
            and self.written - self.sent >= settings.S3_UPLOAD_PART_BYTES
        ):
            self._send_part()

    def _send_part(self) -> None:
        """Hand the bytes written since the last part to a part sender, once fewer than
        S3_UPLOAD_PARTS_IN_FLIGHT parts are on their way. A part is read back from the
        temporary file as it is sent (s3.FileRegion), so parts in flight cost no memory of
        their size (they did, gathered in memory: docs/performance.md)."""
        from media_handler.files.s3 import FileRegion

        streamed = self.file.streamed_upload
        assert streamed is not None
        while len(self.parts_in_flight) >= settings.S3_UPLOAD_PARTS_IN_FLIGHT:
            self._wait_for_oldest_part()
        self.file.flush()  # the senders read the file through descriptors of their own
        path = self.file.temporary_file_path()
        if not streamed.is_started:
            # The object's name ends in the sniffed type's extension, as inspection's would.
            with open(path, "rb") as written:
                head = written.read(SNIFF_BYTES)
            streamed.start(extension=extension_for(magic.from_buffer(head, mime=True)))
        part = FileRegion(path, start=self.sent, length=self.written - self.sent)
        number = streamed.next_part_number()  # in the file's order, whichever thread sends it
        try:
            crc32 = self.unsent_crc32.b64digest() if self.unsent_crc32 is not None else None
            sending = _part_senders().submit(streamed.send_part, part, number=number, crc32=crc32)
        except BaseException:
            part.close()  # else send_part closes it, sent or not
            raise
        self.sent = self.written
        if self.unsent_crc32 is not None:
            self.unsent_crc32 = _new_crc32()
        self.parts_in_flight.append(sending)

    def file_complete(self, file_size: int) -> UploadedFile | None:
        self._wait_for_chunk_in_flight()
        streamed = self.file.streamed_upload
        if streamed is not None and streamed.is_started:
            # The last part (S3 allows it to be small); a file smaller than one part is sent
            # whole by storage.store_upload once checked, as on local disk.
            if self.written > self.sent:
                with _partial_file_removed_on_error(self):
                    self._send_part()
            self._wait_for_part_in_flight()
        with _partial_file_removed_on_error(self):  # flushes the last buffered bytes
            upload = super().file_complete(file_size)
        if upload is not None:
            # Read by inspection.upload_checksum.
            upload.sha256_hexdigest = self.digest.hexdigest()  # type: ignore[attr-defined]
        return upload

    def upload_interrupted(self) -> None:
        # The writers must be done with the file before it is closed and removed; their errors,
        # if any, no longer matter. Closing the file aborts the multipart upload.
        with contextlib.suppress(Exception):
            self._wait_for_chunk_in_flight()
        with contextlib.suppress(Exception):
            self._wait_for_part_in_flight()
        super().upload_interrupted()

    def _wait_for_chunk_in_flight(self) -> None:
        chunk_in_flight, self.chunk_in_flight = self.chunk_in_flight, None
        if chunk_in_flight is not None:
            with _partial_file_removed_on_error(self):
                chunk_in_flight.result()

    def _wait_for_part_in_flight(self) -> None:
        """Wait for every part on its way (its error, if any, raised here)."""
        while self.parts_in_flight:
            self._wait_for_oldest_part()

    def _wait_for_oldest_part(self) -> None:
        part_in_flight = self.parts_in_flight.popleft()
        with _partial_file_removed_on_error(self):
            part_in_flight.result()
