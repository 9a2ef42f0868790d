"""The bucket (MEDIA_STORAGE=s3), loaded only when it is in use: django-storages' S3 storage
configured from the S3_* settings, and what its Storage API has no word for: reading an object
as a stream with ranged GETs, a multipart upload fed part by part while a request's body arrives
(StreamedUpload), presigned URLs with response headers, listings with times, abandoned multipart
uploads. Here boto3 is called directly (django-storages covers whole-file saves, deletes and
presigned GETs only)."""

import functools
import io
import logging
import os
import posixpath
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.httpchecksum import Crc32Checksum
from django.conf import settings
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from media_handler.files.botocore_data import lean_botocore_session
from media_handler.files.storage import (
    UPLOADS_DIR,
    StorageUnavailable,
    delete_stored_file,
    media_storage,
    new_upload_name,
    nothing_left_on_error,
    upload_name,
)

logger = logging.getLogger(__name__)

# The largest read of a FileRegion. botocore hashes a part's payload (where it signs it: over
# plain HTTP) in reads of a MiB, each a new buffer, on the part senders' threads; glibc serves
# buffers that size from the thread's malloc arena once its mmap threshold has risen (after
# the first such free), and the arena keeps the memory. Capped, they are small blocks used
# again and again (docs/performance.md, worker memory).
FILE_REGION_READ_BYTES = 64 * 1024

# The connections one process keeps to the store: more than its threads can use at once (8
# part senders, a worker's request threads: 4 by default, and a finishing resumable upload's
# part copiers: 4 each), so none waits for another's.
CLIENT_POOL_CONNECTIONS = 32

# boto3's transfers (upload_file) wrap a refusal (a ClientError) in S3UploadFailedError.
OBJECT_STORE_ERRORS = (BotoCoreError, ClientError, S3UploadFailedError)


class S3MediaStorage(S3Storage):
    """django-storages' S3 storage configured from the S3_* settings: a private bucket (no ACL,
    every read through a presigned URL), keys under S3_PREFIX, new names never overwritten (so
    no HEAD before each write to find a free one)."""

    is_bucket = True

    def __init__(self) -> None:
        super().__init__(
            bucket_name=settings.S3_BUCKET,
            endpoint_url=settings.S3_ENDPOINT_URL or None,
            region_name=settings.S3_REGION or None,
            access_key=settings.S3_ACCESS_KEY_ID or None,
            secret_key=settings.S3_SECRET_ACCESS_KEY or None,
            location=settings.S3_PREFIX,
            default_acl=None,
            # Whole-file saves name the checksum the store checks (S3_CHECKSUM_ALGORITHM).
            object_parameters=checksum_algorithm(),
            file_overwrite=True,
            querystring_auth=True,
            querystring_expire=settings.S3_PRESIGNED_URL_SECONDS,
            client_config=Config(
                signature_version="s3v4",
                s3={"addressing_style": settings.S3_ADDRESSING_STYLE},
                retries={"max_attempts": 3, "mode": "standard"},
                # No checksum of botocore's own choosing: uploads carry the one
                # S3_CHECKSUM_ALGORITHM names (checksum_algorithm()), or none. Streamed parts
                # send it as a header; whole-file saves let boto3 compute it, which over HTTPS
                # it sends after the body (aws-chunked), as boto3's transfers do by default.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                # One client serves the process's threads (`client`): the part senders and the
                # request threads. A pool's connections are opened only when needed.
                max_pool_connections=CLIENT_POOL_CONNECTIONS,
            ),
            # Whole-file saves: S3_UPLOAD_PARTS_IN_FLIGHT parts of S3_UPLOAD_PART_BYTES at
            # once (boto3's default is ten), and one PUT up to two parts' size (fewer requests
            # than a multipart upload of one or two parts).
            transfer_config=TransferConfig(
                multipart_threshold=2 * settings.S3_UPLOAD_PART_BYTES,
                multipart_chunksize=settings.S3_UPLOAD_PART_BYTES,
                max_concurrency=settings.S3_UPLOAD_PARTS_IN_FLIGHT,
            ),
        )

    def _save(self, name: str, content: Any) -> str:
        """A file with a path on disk (a request's temporary file, a finished resumable upload)
        is sent from that path: boto3 then reads each part from the file as it sends it, where
        from a file object (django-storages' way) it reads each part into memory first."""
        temporary_file_path = getattr(content, "temporary_file_path", None)
        if temporary_file_path is None:
            return super()._save(name, content)
        return self.send_file(temporary_file_path(), name)

    def send_file(self, path: str, name: str) -> str:
        """Send the file at `path` as the object `name`, read from the file as it is sent, with
        the write parameters (content type) of its name; returns `name` as stored."""
        cleaned = clean_name(name)
        key = self._normalize_name(cleaned)
        self.client.upload_file(
            path,
            self.bucket_name,
            key,
            ExtraArgs=self._get_write_parameters(key),
            Config=self.transfer_config,
        )
        return cleaned

    def get_object_parameters(self, name: str) -> dict[str, Any]:
        """The parameters of every write (django-storages' hook; a multipart upload's start
        uses them too), with the content type of the name's extension, which is the sniffed
        format's: never the type the client declared (django-storages' default for an
        upload), and the same however the object was sent."""
        from media_handler.files.inspection import mime_type_of  # needs the apps loaded

        return {**super().get_object_parameters(name), "ContentType": mime_type_of(name)}

    # One boto3 session per configuration for the process: a session loads the service model
    # (a few hundred milliseconds) once, then makes each thread's connection cheaply. Sessions
    # are not thread-safe, so connections are made under a lock.
    _sessions: dict[tuple[str | None, ...], boto3.Session] = {}
    _sessions_lock = threading.Lock()

    def _create_session(self) -> boto3.Session:
        """django-storages' session (its keys, or its profile: it refuses both), on a botocore
        session that loads its data files lean (files/botocore_data.py)."""
        key = (self.access_key, self.secret_key, self.security_token, self.session_profile)
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = boto3.Session(
                botocore_session=lean_botocore_session(),
                aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
                aws_session_token=self.security_token,
                profile_name=self.session_profile or None,
            )
            session.events.register("before-call.s3.UploadPart", declare_part_checksum)
        return session

    @property
    def connection(self) -> Any:
        connection = getattr(self._connections, "connection", None)
        if connection is None:
            with self._sessions_lock:
                connection = super().connection
        return connection

    def url(
        self,
        name: str,
        parameters: dict[str, str] | None = None,
        expire: int | None = None,
        http_method: str | None = None,
    ) -> str:
        """A presigned GET of `name` (with `parameters`: S3's response-* overrides), or a HEAD
        with `http_method="HEAD"` (the store checks the signed method), signed by the process's
        one client. django-storages signs with the calling thread's own boto3 resource
        (`connection`), which every request thread then made on its first download: 10-25 ms,
        and a client of 0.4 MiB each. (Its custom-domain URLs are not used here.)"""
        return self.client.generate_presigned_url(
            "head_object" if http_method == "HEAD" else "get_object",
            Params={
                **(parameters or {}),
                "Bucket": self.bucket_name,
                "Key": self._normalize_name(clean_name(name)),
            },
            ExpiresIn=self.querystring_expire if expire is None else expire,
            HttpMethod=http_method,
        )

    @functools.cached_property
    def client(self) -> Any:
        """The bucket's low-level client, one for all of the process's threads. django-storages
        keeps a boto3 resource per thread (`connection`: resources are not thread-safe), each
        with a client of its own, about 0.4 MiB and a connection pool, made again on every
        thread that touched the bucket (a worker's part senders and request threads); botocore's
        clients are thread-safe. What this module and uploads.bucket call goes through it."""
        return self.connection.meta.client


class _Reader(io.RawIOBase):
    """A read-only stream of `size` bytes that keeps its own position."""

    size = 0
    _position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def _seek_target(self, offset: int, whence: int) -> int:
        if whence not in (io.SEEK_SET, io.SEEK_CUR, io.SEEK_END):
            raise ValueError(f"invalid whence ({whence})")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        return base + offset


class ObjectReader(_Reader):
    """A stored object read through ranged GETs: one GET streams from the current position
    until a seek elsewhere starts another."""

    def __init__(self, storage: S3Storage, name: str) -> None:
        super().__init__()
        self._client = storage.client
        self._bucket = storage.bucket_name
        self._key = f"{bucket_root(storage)}{name}"
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=self._key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(name) from exc
            raise
        self.size = head["ContentLength"]
        self._body: Any = None

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._seek_target(offset, whence)
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


class FileRegion(_Reader):
    """Bytes `start` to `start + length` of the file at `path`, read with pread from a descriptor
    of its own: a part sent from a file on disk (the page cache, just written) rather than
    gathered in memory. botocore reads it in blocks, twice where it signs the payload (over
    plain HTTP: its SHA-256, then the send), seeking back to its start between (and on a
    retry); so a part in flight costs a block, not its size.
    """

    def __init__(self, path: str, *, start: int, length: int) -> None:
        super().__init__()
        self._fd = os.open(path, os.O_RDONLY)
        self._start = start
        self.size = length

    def __len__(self) -> int:
        # botocore's Content-Length (a descriptor's own fstat would give the whole file's).
        return self.size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._position = min(self._seek_target(offset, whence), self.size)
        return self._position

    def read(self, size: int = -1, /) -> bytes:
        return super().read(min(size, FILE_REGION_READ_BYTES) if size >= 0 else size)

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("read of a closed FileRegion")
        wanted = min(len(buffer), self.size - self._position)
        if wanted <= 0:
            return 0
        got = os.preadv(self._fd, [memoryview(buffer)[:wanted]], self._start + self._position)
        if got == 0:
            # The file is shorter than the region: sending less than the Content-Length
            # promised would leave the store waiting for the rest.
            raise OSError(f"the file ended {self.size - self._position} bytes before the region")
        self._position += got
        return got

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def bucket_listing(storage: S3Storage, prefix: str) -> Iterator[tuple[str, datetime]]:
    root = bucket_root(storage)
    paginator = storage.client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=f"{root}{prefix}"):
        for entry in page.get("Contents", []):
            yield entry["Key"][len(root) :], entry["LastModified"]


def checksum_algorithm() -> dict[str, str]:
    """The ChecksumAlgorithm parameter of an upload (S3_CHECKSUM_ALGORITHM), or none.

    With one, the store checks each part's bytes against the checksum sent with them, and keeps
    a checksum of the whole object (CRC32 of the parts' CRC32s); boto3's transfers ask for one
    by default. Without one, moto (the test store) computes a CRC64 of the whole object itself,
    copying the joined parts twice more in memory to do so: completing 1 GiB took it 15 s
    instead of 3 (docs/performance.md)."""
    algorithm = settings.S3_CHECKSUM_ALGORITHM
    return {"ChecksumAlgorithm": algorithm} if algorithm else {}


PART_CHECKSUM_HEADER = "x-amz-checksum-crc32"


def declare_part_checksum(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Tell botocore that the CRC32 header of a part (StreamedUpload.send_part, computed as the
    bytes arrived) is the request's checksum, as if botocore had computed it. Its signer then
    follows its own rule: over HTTPS a streamed body with a checksum is not signed (TLS and the
    checksum guard the bytes, as in boto3's own transfers), over plain HTTP it is (the signature
    is what guards them there). Told nothing, it signed every part's SHA-256 over HTTPS too: a
    second SHA-256 of every uploaded byte, and a second read of each part from its file."""
    if PART_CHECKSUM_HEADER in params["headers"]:
        context.setdefault("checksum", {}).setdefault(
            "request_algorithm",
            {"algorithm": "crc32", "in": "header", "name": PART_CHECKSUM_HEADER},
        )


def bucket_root(storage: S3Storage) -> str:
    return f"{storage.location}/" if storage.location else ""


def s3_storage() -> S3MediaStorage:
    storage = media_storage()
    if not isinstance(storage, S3MediaStorage):
        raise RuntimeError("MEDIA_STORAGE is not s3")
    return storage


def s3_key(storage_path: str) -> str:
    """The bucket key of a stored upload (S3_PREFIX/<storage_path>)."""
    return f"{bucket_root(s3_storage())}{upload_name(storage_path)}"


def s3_presigned_url(
    storage_path: str, *, response_headers: dict[str, str], method: str = "GET"
) -> str:
    """A presigned `method` (GET or HEAD: the method a request for the file came with, which
    the gateway and a redirected client pass on) of the stored file, valid
    S3_PRESIGNED_URL_SECONDS, whose answer carries `response_headers` (S3's response-*
    overrides: ResponseContentType, ResponseContentDisposition, ResponseCacheControl)."""
    http_method = "HEAD" if method.upper() == "HEAD" else "GET"
    return s3_storage().url(
        upload_name(storage_path), parameters=response_headers, http_method=http_method
    )


class StreamedUpload:
    """An S3 multipart upload fed part by part while a request's body arrives
    (upload_handlers), made visible by `complete()` only once the upload has been checked, and
    aborted otherwise: until then the object does not exist, and an abandoned one (a killed
    process) is found by `abandoned_multipart_uploads()` for sweep_orphan_files.

    Parts are numbered by the thread that gathers them and may be sent by several at once.
    """

    def __init__(self) -> None:
        self.name = ""
        self.upload_id = ""
        self.parts: list[dict[str, Any]] = []
        self._last_part_number = 0
        self.is_finished = False

    @property
    def is_started(self) -> bool:
        return bool(self.upload_id)

    def start(self, *, extension: str) -> None:
        storage = s3_storage()
        self.name = new_upload_name(extension)
        key = s3_key(self.name)
        # The parameters of a whole-file save of the same name (its checksum algorithm, the
        # content type of its extension): an object reads the same however it was sent.
        created = storage.client.create_multipart_upload(
            Bucket=storage.bucket_name, Key=key, **storage.get_object_parameters(key)
        )
        self.upload_id = created["UploadId"]

    def next_part_number(self) -> int:
        self._last_part_number += 1
        return self._last_part_number

    def send_part(
        self, data: "bytes | FileRegion", *, number: int = 0, crc32: str | None = None
    ) -> None:
        """Send part `number` (the next one when 0); parts may be sent from several threads.
        `crc32` is the CRC32 of its bytes as S3 writes it (base64), when gathered as they
        arrived; else it is computed here, if S3_CHECKSUM_ALGORITHM asks for one. A FileRegion
        is closed once sent."""
        storage = s3_storage()
        number = number or self.next_part_number()
        part: dict[str, Any] = {"PartNumber": number}
        try:
            if checksum_algorithm():
                # Sent as a header, computed before: botocore would compute it itself, and over
                # HTTPS send it after the body (aws-chunked), which fewer stores understand.
                part["ChecksumCRC32"] = crc32 or Crc32Checksum().handle(data)
            sent = storage.client.upload_part(
                Bucket=storage.bucket_name,
                Key=s3_key(self.name),
                UploadId=self.upload_id,
                Body=data,
                **part,
            )
        finally:
            if isinstance(data, FileRegion):
                data.close()
        self.parts.append({**part, "ETag": sent["ETag"]})  # atomic in CPython

    def copy_part(self, key: str, *, number: int) -> None:
        """Make part `number` the store's own copy of the object `key` (UploadPartCopy): its
        bytes never pass through this node."""
        storage = s3_storage()
        copied = storage.client.upload_part_copy(
            Bucket=storage.bucket_name,
            Key=s3_key(self.name),
            UploadId=self.upload_id,
            PartNumber=number,
            CopySource={"Bucket": storage.bucket_name, "Key": key},
        )["CopyPartResult"]
        part = {"PartNumber": number, "ETag": copied["ETag"]}
        if "ChecksumCRC32" in copied:  # a store that keeps checksums gives the part's
            part["ChecksumCRC32"] = copied["ChecksumCRC32"]
        self.parts.append(part)  # atomic in CPython

    def complete(self, *, extension: str) -> str:
        """Make the object visible; returns its storage name. A name whose extension is not
        `extension` (the inspection's, from the same sniffed bytes: it does not happen) is
        corrected by a copy. Aborts, and raises StorageUnavailable, when the store fails."""
        storage = s3_storage()
        client = storage.client
        try:
            client.complete_multipart_upload(
                Bucket=storage.bucket_name,
                Key=s3_key(self.name),
                UploadId=self.upload_id,
                MultipartUpload={"Parts": sorted(self.parts, key=lambda p: p["PartNumber"])},
            )
        except OBJECT_STORE_ERRORS as exc:
            self.abort()
            raise StorageUnavailable() from exc
        self.is_finished = True
        if posixpath.splitext(self.name)[1] == f".{extension}":
            return self.name
        renamed = new_upload_name(extension)
        with nothing_left_on_error(renamed):
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
            storage.client.abort_multipart_upload(
                Bucket=storage.bucket_name, Key=s3_key(self.name), UploadId=self.upload_id
            )
        except OBJECT_STORE_ERRORS:
            logger.warning("could not abort the multipart upload of %s", self.name, exc_info=True)


class JoinRefused(Exception):
    """The store refused to join objects into one (objects_joined): an answer, not an outage."""


def objects_joined(keys: list[str], *, extension: str) -> str:
    """A new upload (its storage name, ending in `extension`) whose bytes are those of the
    objects `keys`, in order, joined by the store: a multipart upload whose parts are copies
    of them (S3 takes every part but the last only from 5 MiB, and at most 10,000 parts: the
    caller checks), S3_UPLOAD_PARTS_IN_FLIGHT copies at once. On any failure nothing is left
    (the multipart upload is aborted). Raises JoinRefused when the store answers a refusal
    (a 4xx: a store that takes no copied parts, or wants checksums of them it did not give),
    StorageUnavailable when it fails otherwise."""
    streamed = StreamedUpload()
    try:
        streamed.start(extension=extension)
        _copy_parts(streamed, keys)
    except OBJECT_STORE_ERRORS as exc:
        streamed.abort()
        if _is_refusal(exc):
            raise JoinRefused() from exc
        raise StorageUnavailable() from exc
    except BaseException:
        streamed.abort()
        raise
    try:
        return streamed.complete(extension=extension)  # aborts on failure
    except StorageUnavailable as exc:
        if _is_refusal(exc.__cause__):
            raise JoinRefused() from exc.__cause__
        raise


def _copy_parts(streamed: StreamedUpload, keys: list[str]) -> None:
    """Copy the objects `keys` in as parts 1, 2, …, S3_UPLOAD_PARTS_IN_FLIGHT at once, on
    threads of this join's own (a join waits for no other upload's). The first failure is
    raised once no copy is on its way any more (the ones not started are dropped): the
    multipart upload can be aborted then."""
    with ThreadPoolExecutor(
        max_workers=settings.S3_UPLOAD_PARTS_IN_FLIGHT, thread_name_prefix="part-copier"
    ) as copiers:
        copies = [
            copiers.submit(streamed.copy_part, key, number=number)
            for number, key in enumerate(keys, start=1)
        ]
        _, waiting = wait(copies, return_when=FIRST_EXCEPTION)
        for copy in waiting:
            copy.cancel()
    for copy in copies:
        error = None if copy.cancelled() else copy.exception()
        if error is not None:
            raise error


def _is_refusal(error: BaseException | None) -> bool:
    """An answer of the store's in the 4xx range (not a 5xx, a timeout, a lost connection)."""
    if not isinstance(error, ClientError):
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return 400 <= status < 500


def abandoned_multipart_uploads(
    *, started_before: datetime, directory: str = UPLOADS_DIR
) -> Iterator[tuple[str, str]]:
    """(key, upload id) of the multipart uploads under `directory`/ (uploads/ by default)
    started before `started_before`: left by a process killed mid-upload (a bucket lifecycle
    rule AbortIncompleteMultipartUpload does the same for AWS; docs/scaling.md)."""
    storage = s3_storage()
    client = storage.client
    paginator = client.get_paginator("list_multipart_uploads")
    prefix = f"{bucket_root(storage)}{directory}/"
    for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=prefix):
        for upload in page.get("Uploads", []):
            if upload["Initiated"] < started_before:
                yield upload["Key"], upload["UploadId"]


def abort_multipart_upload(key: str, upload_id: str) -> None:
    storage = s3_storage()
    storage.client.abort_multipart_upload(Bucket=storage.bucket_name, Key=key, UploadId=upload_id)
