"""MEDIA_STORAGE=s3 against moto's S3 server (a real HTTP server on loopback, `object_store`):
what only a bucket has (multipart uploads fed while the body arrives, abandoned ones, presigned
URLs) and the start-up check of its settings. The rest of the suite runs on a bucket too with
`make test-media-s3`."""

import base64
import contextlib
import hashlib
import io
import logging
import random
import runpy
import threading
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
import pytest
import requests
import s3transfer.upload
from botocore.exceptions import ClientError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from devstack import REPO
from media_handler.checks import storage_settings_check
from media_handler.files import derivatives, inspection, s3, storage
from media_handler.models import Media

from .conftest import PART
from .factories import MediaFactory
from .helpers import (
    ALICE,
    assert_status,
    png_bytes,
    put_stored,
    stored_bytes,
    stored_object_names,
    wav_bytes,
)


def s3_client():
    return s3.s3_storage().connection.meta.client


def upload(client, content: bytes, *, media_type="audio", filename="song.wav"):
    form = {"name": "n", "type": media_type, "file": SimpleUploadedFile(filename, content)}
    return client.post("/api/media/", form, format="multipart")


def big_wav(parts: float = 2.5) -> bytes:
    """A WAV of `parts` times S3_UPLOAD_PART_BYTES (16 kB a second)."""
    return wav_bytes(seconds=parts * PART / 16_000)


def test_an_upload_larger_than_a_part_reaches_the_bucket_in_parts(alice, bucket):
    content = big_wav(2.5)

    response = upload(alice, content)

    assert_status(response, 201)
    body = response.json()
    assert body["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    assert stored_object_names() == [body["storage_path"]]
    assert stored_bytes(body["storage_path"]) == content
    head = s3_client().head_object(Bucket=bucket.S3_BUCKET, Key=s3.s3_key(body["storage_path"]))
    # A multipart object's ETag ends in its number of parts: sent while the body arrived.
    assert head["ETag"].strip('"').endswith("-3")
    assert body["storage_path"].endswith(".wav")


def test_a_small_upload_is_one_object_under_the_prefix(alice, bucket):
    response = upload(alice, png_bytes(), media_type="image", filename="p.png")

    assert_status(response, 201)
    key = s3.s3_key(response.json()["storage_path"])
    assert key.startswith(f"{bucket.S3_PREFIX}/uploads/")
    listed = s3_client().list_objects_v2(Bucket=bucket.S3_BUCKET, Prefix=bucket.S3_PREFIX)
    assert [entry["Key"] for entry in listed["Contents"]] == [key]


def test_a_refused_upload_larger_than_a_part_leaves_no_object_nor_open_multipart_upload(
    alice, bucket
):
    response = upload(alice, big_wav(2.5), media_type="image")

    assert_status(response, 400)
    assert stored_object_names() == []
    assert not Media.objects.exists()


def test_an_upload_past_the_limit_aborts_the_parts_already_sent(alice, bucket):
    bucket.MAX_UPLOAD_SIZE = int(1.5 * PART)

    response = upload(alice, big_wav(2.5))

    assert_status(response, 413)
    assert stored_object_names() == []
    assert not Media.objects.exists()


@pytest.mark.parametrize("parts", [0.1, 2.5], ids=["one-request", "multipart"])
def test_a_store_that_cannot_be_reached_is_503_and_nothing_is_recorded(alice, bucket, parts):
    bucket.S3_ENDPOINT_URL = "http://127.0.0.1:1"  # nothing listens there

    response = upload(alice, big_wav(parts))

    assert_status(response, 503)
    assert response.json()["code"] == "storage_unavailable"
    assert not Media.objects.exists()


@pytest.fixture
def store_refuses_puts(monkeypatch):
    """The store answers every PutObject with a 500 (boto3's own task, not our code): a
    refusal, not an endpoint that cannot be reached."""

    def refused(self, client, fileobj, bucket, key, extra_args):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "refused"}}, "PutObject")

    monkeypatch.setattr(s3transfer.upload.PutObjectTask, "_main", refused)


def test_a_store_that_refuses_the_file_is_503_and_nothing_is_recorded(
    alice, bucket, store_refuses_puts
):
    response = upload(alice, wav_bytes(seconds=1))  # smaller than a part: one PUT

    assert_status(response, 503)
    assert response.json()["code"] == "storage_unavailable"
    assert not Media.objects.exists()
    assert stored_object_names() == []


def test_a_database_failure_after_the_parts_were_sent_leaves_no_object(alice, bucket, monkeypatch):
    def failing_create(**fields):
        assert stored_object_names() == [fields["storage_path"]]  # completed first
        raise storage.StorageUnavailable()

    monkeypatch.setattr(Media.objects, "create", failing_create)
    response = upload(alice, big_wav(1.5))
    assert_status(response, 503)
    assert stored_object_names() == []


@pytest.mark.parametrize("as_stream", [False, True], ids=["path", "stream"])
def test_store_file_streams_a_file_to_the_bucket_and_reports_its_facts(bucket, tmp_path, as_stream):
    content = big_wav(1.2)
    source = tmp_path / "assembled.bin"
    source.write_bytes(content)

    stored = storage.store_file(io.BytesIO(content) if as_stream else source, extension="wav")

    assert stored.size == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.name.startswith("uploads/")
    assert stored.name.endswith(".wav")
    assert stored_bytes(stored.name) == content


def started_upload_of(content: bytes, tmp_path) -> tuple[Path, s3.StreamedUpload]:
    """`content` in a file (a request's temporary file), and a streamed upload started for it."""
    source = tmp_path / "body.tmp"
    source.write_bytes(content)
    streamed = s3.StreamedUpload()
    streamed.start(extension="bin")
    return source, streamed


def test_a_part_sent_from_a_file_region_is_exactly_that_regions_bytes(bucket, tmp_path):
    # Parts are read back from the request's temporary file as they are sent (FileRegion):
    # botocore must see the region's length, not the file's, and read it twice (the payload's
    # signature, then the send) from the region's start.
    content = random.Random(3).randbytes(PART + 4321)
    source, streamed = started_upload_of(content, tmp_path)

    streamed.send_part(s3.FileRegion(str(source), start=0, length=PART))
    streamed.send_part(s3.FileRegion(str(source), start=PART, length=4321))
    name = streamed.complete(extension="bin")

    assert stored_bytes(name) == content


def test_a_file_region_reads_seeks_and_closes_within_its_bounds(tmp_path):
    source = tmp_path / "body.tmp"
    source.write_bytes(bytes(range(100)))

    with s3.FileRegion(str(source), start=10, length=20) as region:
        assert len(region) == 20
        assert region.read(5) == bytes(range(10, 15))
        assert region.read() == bytes(range(15, 30))
        assert region.read() == b""
        region.seek(-3, io.SEEK_END)
        assert region.read() == bytes(range(27, 30))
        region.seek(0)
        assert region.read(100) == bytes(range(10, 30))
    assert region.closed


def test_a_file_region_hands_out_a_big_read_in_small_blocks(tmp_path):
    # botocore hashes a part in reads of a MiB, each a new buffer on a part sender's thread:
    # a region answers at most FILE_REGION_READ_BYTES at a time (read() alone reads the rest).
    content = random.Random(5).randbytes(3 * s3.FILE_REGION_READ_BYTES + 123)
    source = tmp_path / "body.tmp"
    source.write_bytes(content)

    with s3.FileRegion(str(source), start=0, length=len(content)) as region:
        blocks = list(iter(lambda: region.read(1024 * 1024), b""))
        region.seek(0)
        whole = region.read()

    assert [len(block) for block in blocks] == [s3.FILE_REGION_READ_BYTES] * 3 + [123]
    assert b"".join(blocks) == content
    assert whole == content


def test_a_file_region_refuses_reads_after_close_and_past_the_files_end(tmp_path):
    source = tmp_path / "body.tmp"
    source.write_bytes(bytes(range(100)))

    short = s3.FileRegion(str(source), start=90, length=20)  # 10 bytes exist
    assert short.read(10) == bytes(range(90, 100))
    with pytest.raises(OSError, match="ended 10 bytes before"):
        short.read(10)
    short.close()
    with pytest.raises(ValueError, match="closed"):
        short.read(1)
    with (
        s3.FileRegion(str(source), start=0, length=10) as region,
        pytest.raises(ValueError, match="negative"),
    ):
        region.seek(-1)


def test_every_thread_of_the_process_sends_through_one_client(bucket):
    """Part senders and request threads share the bucket's client (and its connections)
    rather than each making its own."""
    with ThreadPoolExecutor(max_workers=4) as threads:
        clients = set(threads.map(lambda _: id(s3.s3_storage().client), range(8)))

    assert clients == {id(s3.s3_storage().client)}


@contextlib.contextmanager
def recorded(events, event: str, what: Callable[..., list]) -> Iterator[list]:
    """What `what(**event's kwargs)` gives for each `event` that `events` (a botocore session's
    or client's emitter) emits meanwhile."""
    seen: list = []

    def record(**kwargs) -> None:
        seen.extend(what(**kwargs))

    events.register(event, record)
    try:
        yield seen
    finally:
        events.unregister(event, record)


@pytest.fixture
def clients_made(bucket) -> Iterator[list[str]]:
    """The bucket clients made from now on (botocore announces each new client's class), by
    the name of the thread that made it."""
    with recorded(
        s3.s3_storage()._create_session().events,
        "creating-client-class.s3",
        lambda **_: [threading.current_thread().name],
    ) as made:
        yield made


def test_the_part_senders_make_no_client_of_their_own(alice, clients_made):
    response = upload(alice, big_wav(2.5))  # three parts, sent from the part senders' threads

    assert_status(response, 201)
    assert not any(name.startswith("upload-part") for name in clients_made), clients_made
    assert len(clients_made) <= 1  # the request's own thread's, if it had none yet


def worker_started(monkeypatch) -> None:
    """What gunicorn does for a media worker once it has the app (gateway/gunicorn.conf.py's
    post_worker_init), in this process."""
    monkeypatch.setenv("GUNICORN_SERVICE", "media")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")  # else loading it limits this process's arenas
    hooks = runpy.run_path(str(REPO / "gateway" / "gunicorn.conf.py"))
    hooks["post_worker_init"](SimpleNamespace(log=logging.getLogger("gunicorn.error")))


def test_a_media_worker_makes_its_bucket_client_before_its_first_request(monkeypatch, clients_made):
    worker_started(monkeypatch)

    assert clients_made == [threading.current_thread().name]


def test_a_request_threads_presigned_url_uses_the_workers_client(monkeypatch, clients_made):
    worker_started(monkeypatch)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="request") as request_thread:
        url = request_thread.submit(
            s3.s3_presigned_url,
            f"{storage.UPLOADS_DIR}/song.wav",
            response_headers={"ResponseContentType": "audio/wav"},
        ).result()

    assert clients_made == [threading.current_thread().name]  # the worker's, none of its own
    assert urlsplit(url).path.endswith(f"/{storage.UPLOADS_DIR}/song.wav")
    assert "response-content-type=audio%2Fwav" in urlsplit(url).query


def crc32_base64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def bucket_client_events():
    """The events of the bucket's client as the storage is now (changing an S3_* setting makes
    a new storage, and a new client)."""
    return s3.s3_storage().client.meta.events


def part_checksums_sent() -> contextlib.AbstractContextManager[list]:
    """(part number, ChecksumCRC32) of each UploadPart sent meanwhile."""
    return recorded(
        bucket_client_events(),
        "before-parameter-build.s3.UploadPart",
        lambda params, **_: [(params["PartNumber"], params.get("ChecksumCRC32"))],
    )


def checksum_headers_sent() -> contextlib.AbstractContextManager[list]:
    """(the request's method and query, its checksum headers: x-amz-checksum-*,
    x-amz-sdk-checksum-algorithm) of each request sent meanwhile."""
    return recorded(
        bucket_client_events(),
        "before-send.s3",
        lambda request, **_: [
            (
                f"{request.method} ?{urlsplit(request.url).query}",
                [name.lower() for name in request.headers if "checksum" in name.lower()],
            )
        ],
    )


def stored_parts(bucket, storage_path: str, content: bytes) -> list[bytes]:
    """`content` cut where the store says the parts of its multipart object were cut."""
    key = s3.s3_key(storage_path)
    head = s3_client().head_object(Bucket=bucket.S3_BUCKET, Key=key)
    count = int(head["ETag"].strip('"').rsplit("-", 1)[1])
    parts, start = [], 0
    for number in range(1, count + 1):
        part = s3_client().head_object(Bucket=bucket.S3_BUCKET, Key=key, PartNumber=number)
        parts.append(content[start : start + part["ContentLength"]])
        start += part["ContentLength"]
    assert start == len(content)
    return parts


def parts_crc32(bucket, storage_path: str, content: bytes) -> list[tuple[int, str]]:
    """(part number, CRC32 of its bytes) of a stored multipart object of `content`."""
    parts = stored_parts(bucket, storage_path, content)
    return [(number, crc32_base64(part)) for number, part in enumerate(parts, start=1)]


def test_an_upload_in_parts_sends_each_parts_crc32_gathered_as_it_arrived(alice, bucket):
    content = big_wav(2.5)  # three parts, the last a short one

    with part_checksums_sent() as sent:
        response = upload(alice, content)

    assert_status(response, 201)
    path = response.json()["storage_path"]
    assert sorted(sent) == parts_crc32(bucket, path, content)
    assert stored_bytes(path) == content


def test_a_part_sent_without_its_crc32_has_it_computed_from_its_bytes(bucket, tmp_path):
    content = random.Random(5).randbytes(PART + 999)
    source, streamed = started_upload_of(content, tmp_path)

    with part_checksums_sent() as sent:
        streamed.send_part(s3.FileRegion(str(source), start=0, length=PART))
        streamed.send_part(content[PART:])
    name = streamed.complete(extension="bin")

    assert sent == parts_crc32(bucket, name, content)
    assert stored_bytes(name) == content


def test_an_upload_sent_in_parts_has_the_content_type_of_one_sent_whole(alice, bucket):
    in_parts = upload(alice, big_wav(2.5))
    whole = upload(alice, wav_bytes(seconds=1))

    assert_status(in_parts, 201)
    assert_status(whole, 201)
    types = [
        s3_client().head_object(Bucket=bucket.S3_BUCKET, Key=s3.s3_key(path))["ContentType"]
        for path in (in_parts.json()["storage_path"], whole.json()["storage_path"])
    ]
    # The sniffed type, not the client's (the test client declares text/plain).
    assert types == [in_parts.json()["mime_type"], whole.json()["mime_type"]] == ["audio/x-wav"] * 2


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("uploads/2026/01/01/a.heic", "image/heic"),
        ("uploads/2026/01/01/a.weba", "audio/webm"),
        ("uploads/2026/01/01/a.m4a", "audio/mp4"),  # webp, m4a: not in Python's own table
        ("uploads/2026/01/01/a.wav", "audio/x-wav"),  # the first sniffed type with it
        ("uploads/2026/01/01/a.tar.v2/none", "application/octet-stream"),
    ],
)
def test_a_stored_name_has_the_type_of_its_extension_on_every_host(name, content_type):
    assert inspection.mime_type_of(name) == content_type


@pytest.mark.parametrize(
    ("extension", "content_type"), [("webp", "image/webp"), ("jpg", "image/jpeg")]
)
def test_a_derivative_has_the_type_of_its_picture(extension, content_type):
    name = derivatives.derivative_name(
        "uploads/2026/01/01/" + "d" * 32 + ".mov", kind="thumbnail", extension=extension
    )

    assert inspection.mime_type_of(name) == content_type


def test_a_whole_file_save_carries_its_crc32(bucket):
    content = png_bytes(40, 30)

    stored = storage.store_file(io.BytesIO(content), extension="png")

    head = s3_client().head_object(
        Bucket=bucket.S3_BUCKET, Key=s3.s3_key(stored.name), ChecksumMode="ENABLED"
    )
    assert head["ChecksumCRC32"] == crc32_base64(content)


def test_without_a_checksum_algorithm_no_upload_request_carries_a_checksum(alice, bucket):
    bucket.S3_CHECKSUM_ALGORITHM = ""
    big, small = big_wav(2.5), png_bytes()

    with checksum_headers_sent() as sent:
        streamed = upload(alice, big)
        whole = upload(alice, small, media_type="image", filename="p.png")

    assert_status(streamed, 201)
    assert_status(whole, 201)
    assert stored_bytes(streamed.json()["storage_path"]) == big
    assert stored_bytes(whole.json()["storage_path"]) == small
    sent_parts = [query for query, _ in sent if "partNumber=" in query]
    assert len(sent_parts) == 3, sent  # the recorder saw the upload's own requests
    assert [headers for _, headers in sent if headers] == []


def payload_hashes_sent() -> contextlib.AbstractContextManager[list]:
    """The x-amz-content-sha256 (the body's hash in the signature, or UNSIGNED-PAYLOAD) of each
    UploadPart sent meanwhile."""
    return recorded(
        bucket_client_events(),
        "before-send.s3.UploadPart",
        lambda request, **_: [request.headers["x-amz-content-sha256"].decode()],
    )


def test_parts_sent_over_plain_http_sign_their_bytes(alice, bucket):
    content = big_wav(2.5)

    with payload_hashes_sent() as sent:
        response = upload(alice, content)

    assert_status(response, 201)
    parts = stored_parts(bucket, response.json()["storage_path"], content)
    assert len(parts) == 3
    # Parts go several at once, in any order.
    assert sorted(sent) == sorted(hashlib.sha256(part).hexdigest() for part in parts)


class Sent(Exception):
    """Raised instead of sending a request (before-send): its headers, to look at."""


@pytest.mark.parametrize(
    ("endpoint", "checksum", "signs"),
    [
        ("https://s3.example.net", "CRC32", False),  # TLS and the checksum guard the bytes
        ("http://s3.example.net", "CRC32", True),
        ("https://s3.example.net", "", True),  # no checksum: only the signature guards them
    ],
)
def test_a_part_signs_its_bytes_unless_tls_and_its_checksum_guard_them(
    bucket, endpoint, checksum, signs
):
    bucket.S3_ENDPOINT_URL = endpoint  # never reached: the request stops before it is sent
    bucket.S3_CHECKSUM_ALGORITHM = checksum
    part = big_wav(1)
    streamed = s3.StreamedUpload()
    streamed.name, streamed.upload_id = "uploads/2026/01/01/" + "c" * 32 + ".wav", "an-upload"

    def stop(request, **_):
        raise Sent(request.headers)

    bucket_client_events().register("before-send.s3.UploadPart", stop)
    with pytest.raises(Sent) as sent:
        streamed.send_part(part)

    headers = sent.value.args[0]
    payload_hash = headers["x-amz-content-sha256"].decode()
    assert payload_hash == (hashlib.sha256(part).hexdigest() if signs else "UNSIGNED-PAYLOAD")
    # The checksum stays a header of ours: no trailer, no chunked body, no second checksum.
    sent_names = {name.lower() for name in headers}
    assert not {"x-amz-trailer", "content-encoding", "x-amz-sdk-checksum-algorithm"} & sent_names


def test_parts_sent_unsigned_are_kept_whole_by_the_store(alice, bucket):
    # What botocore sends over HTTPS, forced here (moto speaks plain HTTP): an explicit choice
    # in the client's config wins over its rule.
    signer_config = s3.s3_storage().client.meta.config.s3
    signer_config["payload_signing_enabled"] = False
    content = big_wav(2.5)
    try:
        with payload_hashes_sent() as sent:
            response = upload(alice, content)
    finally:
        del signer_config["payload_signing_enabled"]

    assert_status(response, 201)
    assert sent == ["UNSIGNED-PAYLOAD"] * 3
    assert stored_bytes(response.json()["storage_path"]) == content


def test_a_ranged_read_of_an_object_streams_only_that_range(bucket):
    content = bytes(range(256)) * 1000
    put_stored("uploads/2026/01/01/" + "a" * 32 + ".bin", content)

    with storage.open_stored("uploads/2026/01/01/" + "a" * 32 + ".bin") as stored:
        assert stored.size == len(content)
        stored.seek(1000)
        assert stored.read(10) == content[1000:1010]
        stored.seek(-5, io.SEEK_END)
        assert stored.read() == content[-5:]


def test_a_missing_object_is_file_not_found(bucket):
    with pytest.raises(FileNotFoundError):
        storage.open_stored("uploads/2026/01/01/" + "b" * 32 + ".png")


def sweep(*arguments: str) -> str:
    output = StringIO()
    call_command("sweep_orphan_files", *arguments, stdout=output)
    return output.getvalue()


def test_the_sweep_removes_old_orphan_objects_and_abandoned_multipart_uploads(
    alice, bucket, monkeypatch
):
    kept = upload(alice, png_bytes(), media_type="image", filename="p.png").json()
    orphan = "uploads/2026/01/01/" + "0" * 32 + ".png"
    put_stored(orphan, b"orphan")
    abandoned = s3.StreamedUpload()
    abandoned.start(extension="wav")  # a process killed mid-upload
    abandoned.send_part(b"x" * PART)
    assert sorted(stored_object_names()) == sorted(
        [kept["storage_path"], orphan, f"{abandoned.name}.multipart"]
    )

    # The orphan is younger than the grace period: it stays. (moto dates every multipart
    # upload in 2010, so the abandoned one is already old enough to go.)
    sweep()
    assert orphan in stored_object_names()
    assert f"{abandoned.name}.multipart" not in stored_object_names()
    # An hour and more later.
    later = timezone.now() + timedelta(seconds=bucket.ORPHAN_GRACE_SECONDS + 60)
    monkeypatch.setattr(timezone, "now", lambda: later)
    output = sweep()

    assert f"removed {orphan}" in output
    assert stored_object_names() == [kept["storage_path"]]
    assert Media.objects.filter(storage_path=kept["storage_path"]).exists()


def test_the_sweep_leaves_a_multipart_upload_still_arriving_hours_after_its_start(
    db, bucket, monkeypatch
):
    # A 1 GiB video from a slow phone: its first part went three hours ago, the rest is still
    # arriving. Aborted, the upload would fail at its next part after all that time.
    arriving = s3.StreamedUpload()
    arriving.start(extension="wav")
    arriving.send_part(b"x" * PART)
    (listed,) = s3.s3_storage().client.list_multipart_uploads(Bucket=bucket.S3_BUCKET)["Uploads"]
    three_hours_on = listed["Initiated"] + timedelta(hours=3)  # moto's date for every upload
    monkeypatch.setattr(timezone, "now", lambda: three_hours_on)

    sweep()

    arriving.send_part(b"y" * PART)
    key = arriving.complete(extension="wav")
    assert stored_bytes(key) == b"x" * PART + b"y" * PART


def test_the_sweep_dry_run_removes_nothing_from_the_bucket(db, bucket):
    orphan = "uploads/2026/01/01/" + "3" * 32 + ".png"
    put_stored(orphan, b"x")
    assert "would remove" in sweep("--grace-seconds", "0", "--dry-run")
    assert stored_object_names() == [orphan]


def test_purge_deletes_the_objects_of_purged_media(
    alice, bucket, django_capture_on_commit_callbacks
):
    created = upload(alice, png_bytes(), media_type="image", filename="p.png").json()
    Media.objects.filter(pk=created["id"]).update(
        is_deleted=True, deleted_at=timezone.now() - timedelta(days=40)
    )
    MediaFactory(user=ALICE)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_deleted_media", "--older-than", "30", stdout=StringIO())

    assert stored_object_names() == []


@pytest.mark.parametrize(
    ("changes", "error_ids"),
    [
        ({}, []),
        ({"S3_BUCKET": ""}, ["media_handler.E002"]),
        ({"S3_ENDPOINT_URL": "", "S3_REGION": ""}, ["media_handler.E003"]),
        ({"S3_ENDPOINT_URL": "", "S3_REGION": "eu-west-1"}, []),
        ({"S3_SECRET_ACCESS_KEY": ""}, ["media_handler.E004"]),
        ({"S3_ACCESS_KEY_ID": "", "S3_SECRET_ACCESS_KEY": ""}, []),
        ({"S3_ENDPOINT_URL": "minio:9000"}, ["media_handler.E005"]),
        ({"S3_ADDRESSING_STYLE": "sideways"}, ["media_handler.E006"]),
        ({"S3_UPLOAD_PART_BYTES": 1024}, ["media_handler.E007"]),
        ({"S3_UPLOAD_PARTS_IN_FLIGHT": 0}, ["media_handler.E008"]),
        ({"S3_CHECKSUM_ALGORITHM": ""}, []),
        ({"S3_CHECKSUM_ALGORITHM": "MD5"}, ["media_handler.E010"]),
        ({"MEDIA_STORAGE": "ftp"}, ["media_handler.E001"]),
        ({"MEDIA_STORAGE": "local", "S3_BUCKET": ""}, []),
    ],
)
def test_incomplete_s3_settings_stop_the_start(settings, changes, error_ids):
    settings.MEDIA_STORAGE = "s3"
    settings.S3_BUCKET = "media"
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:9000"
    settings.S3_REGION = ""
    settings.S3_ACCESS_KEY_ID = "key"
    settings.S3_SECRET_ACCESS_KEY = "secret"
    settings.S3_ADDRESSING_STYLE = "path"
    settings.S3_UPLOAD_PART_BYTES = PART
    settings.S3_UPLOAD_PARTS_IN_FLIGHT = 2
    settings.S3_CHECKSUM_ALGORITHM = "CRC32"
    for name, value in changes.items():
        setattr(settings, name, value)

    assert [error.id for error in storage_settings_check(None)] == error_ids


def test_store_file_works_the_same_on_local_disk(db, settings, tmp_path):
    settings.MEDIA_STORAGE = "local"
    content = png_bytes(40, 30)

    stored = storage.store_file(io.BytesIO(content), extension="png")

    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.size == len(content)
    assert (settings.MEDIA_ROOT / stored.name).read_bytes() == content


def presigned_from_gateway_location(location: str) -> str:
    """The presigned URL the gateway's internal location fetches (its regex, in Python)."""
    prefix = "/_protected_s3/"
    assert location.startswith(prefix)
    scheme, rest = location[len(prefix) :].split("/", 1)
    return f"{scheme}://{rest}"


def test_through_the_gateway_nginx_fetches_a_presigned_url_of_the_store(alice, anonymous, bucket):
    bucket.USE_X_ACCEL_REDIRECT = True
    content = wav_bytes(2)
    media = upload(alice, content).json()

    response = anonymous.get(media["file"], HTTP_X_SENDFILE_TYPE="X-Accel-Redirect")

    assert_status(response, 200)
    assert response.content == b""
    assert response["X-Content-Type-Options"] == "nosniff"
    location = response["X-Accel-Redirect"]
    endpoint = bucket.S3_ENDPOINT_URL.split("://", 1)[1]
    assert location.startswith(f"/_protected_s3/http/{endpoint}/{bucket.S3_BUCKET}/")
    assert s3.s3_key(media["storage_path"]) in location
    # What nginx then does: a GET of the presigned URL, the client's Range passed on.
    fetched = requests.get(
        presigned_from_gateway_location(location),
        headers={"Range": "bytes=10-19"},
        timeout=10,
    )
    assert fetched.status_code == 206
    assert fetched.content == content[10:20]
    assert fetched.headers["Content-Type"] == "audio/x-wav"
    # The store sends the headers signed for it, on its bytes only; nginx would keep the
    # service's own on any answer, a store's error too.
    assert fetched.headers["Cache-Control"].startswith("private, max-age=")
    assert fetched.headers["Content-Disposition"].startswith("inline; filename=")
    assert "Cache-Control" not in response
    assert "Content-Disposition" not in response
    # The bucket itself stays private: the same object without the signature is refused.
    unsigned = presigned_from_gateway_location(location).split("?", 1)[0]
    assert requests.get(unsigned, timeout=10).status_code == 403


@pytest.mark.parametrize(
    ("headers", "store_range"),
    [
        ({"HTTP_RANGE": "bytes=10-19"}, "bytes=10-19"),
        ({"HTTP_RANGE": "Bytes=-4"}, "bytes={size_less_4}-{last}"),
        ({"HTTP_RANGE": "bytes=2-5, 999999999-"}, "bytes=2-5"),
        ({"HTTP_RANGE": "bytes=0-1,4-5"}, None),
        ({"HTTP_RANGE": "items=0-3"}, None),
        ({"HTTP_RANGE": "bytes=0-3", "HTTP_IF_RANGE": '"an-etag"'}, None),
        ({}, None),
    ],
)
def test_through_the_gateway_the_store_is_asked_for_the_range_the_service_would_send(
    alice, anonymous, bucket, headers, store_range
):
    """The store reads a Range its own way (several ranges, a unit's case) and ignores If-Range:
    nginx asks it for the one range the service and nginx from MEDIA_ROOT would send."""
    bucket.USE_X_ACCEL_REDIRECT = True
    content = wav_bytes(1)
    media = upload(alice, content).json()

    response = anonymous.get(media["file"], HTTP_X_SENDFILE_TYPE="X-Accel-Redirect", **headers)

    assert_status(response, 200)
    size = len(content)
    expected = store_range and store_range.format(size_less_4=size - 4, last=size - 1)
    assert response.get("X-Media-Handler-Range") == expected


@pytest.fixture
def frozen_signing_time(monkeypatch) -> datetime:
    """botocore signs as of this instant: two presigned URLs of one request are comparable."""
    instant = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: instant)
    return instant


def presigned_by_botocore(url: str, operation: str, method: str) -> str:
    """`url` presigned again by botocore itself: `operation` of its object with its response-*
    parameters, for `method`, from the test's client."""
    parts = urlsplit(url)
    bucket_name, key = parts.path.lstrip("/").split("/", 1)
    query = dict(parse_qsl(parts.query))
    overrides = {
        "ResponseContentType": query["response-content-type"],
        "ResponseContentDisposition": query["response-content-disposition"],
        "ResponseCacheControl": query["response-cache-control"],
    }
    return s3.s3_storage().client.generate_presigned_url(
        operation,
        Params={"Bucket": bucket_name, "Key": key, **overrides},
        ExpiresIn=int(query["X-Amz-Expires"]),
        HttpMethod=method,
    )


@pytest.mark.parametrize("mode", ["gateway", "redirect"])
def test_a_head_of_a_file_is_presigned_for_head(
    alice, anonymous, bucket, frozen_signing_time, mode
):
    """The store checks the signed method (AWS, MinIO; moto does not): nginx passes a HEAD on as
    a HEAD, and a client follows a redirect with its HEAD."""
    if mode == "gateway":
        bucket.USE_X_ACCEL_REDIRECT = True
        extra = {"HTTP_X_SENDFILE_TYPE": "X-Accel-Redirect"}
    else:
        bucket.S3_REDIRECT_DOWNLOADS = True
        extra = {}
    media = upload(alice, wav_bytes(1)).json()

    def presigned(response) -> str:
        assert_status(response, 302 if mode == "redirect" else 200)
        if mode == "redirect":
            return response["Location"]
        return presigned_from_gateway_location(response["X-Accel-Redirect"])

    for_head = presigned(anonymous.head(media["file"], **extra))
    for_get = presigned(anonymous.get(media["file"], **extra))

    assert for_head == presigned_by_botocore(for_head, "head_object", "HEAD")
    assert for_get == presigned_by_botocore(for_get, "get_object", "GET")
    assert for_head != presigned_by_botocore(for_head, "get_object", "GET")
    assert requests.head(for_head, timeout=10).status_code == 200


def test_a_signed_url_redirects_to_the_store_when_asked_to(alice, anonymous, bucket):
    bucket.S3_REDIRECT_DOWNLOADS = True
    content = wav_bytes(1)
    media = upload(alice, content).json()

    response = anonymous.get(media["file"])

    assert_status(response, 302)
    # Kept no longer than half the presigned URL's life (300 s), not the signed URL's hour.
    assert response["Cache-Control"] == "private, max-age=150"
    fetched = requests.get(response["Location"], headers={"Range": "bytes=-4"}, timeout=10)
    assert fetched.status_code == 206
    assert fetched.content == content[-4:]
    assert fetched.headers["Content-Type"] == "audio/x-wav"
    # The signature is still checked first.
    assert_status(anonymous.get(media["file"].replace("signature=", "signature=0")), 403)


def test_without_the_gateway_the_service_streams_the_objects_bytes_with_range(
    alice, anonymous, bucket
):
    bucket.USE_X_ACCEL_REDIRECT = True
    content = big_wav(1.5)
    media = upload(alice, content).json()

    response = anonymous.get(media["file"], HTTP_RANGE=f"bytes={PART - 5}-{PART + 4}")

    assert_status(response, 206)
    assert "X-Accel-Redirect" not in response
    assert b"".join(response.streaming_content) == content[PART - 5 : PART + 5]
    assert response["Content-Range"] == f"bytes {PART - 5}-{PART + 4}/{len(content)}"
