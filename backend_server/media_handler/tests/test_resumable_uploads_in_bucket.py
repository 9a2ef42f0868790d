"""Resumable uploads with the media in a bucket and no RESUMABLE_UPLOAD_DIR: the bytes received
so far are objects of the bucket (uploads.bucket), so any media node takes the next PATCH.
Against moto's S3 server (the `bucket` fixture), whatever TEST_MEDIA_STORAGE says."""

import base64
import errno
import hashlib
import random
import shutil
import uuid
import zlib
from datetime import timedelta

import pytest
import s3transfer.upload
from botocore.exceptions import ClientError
from django.core.management import call_command
from django.utils import timezone

from common.exceptions import ApplicationError
from media_handler.files.s3 import bucket_root, s3_key, s3_storage
from media_handler.models import Media, Upload
from media_handler.uploads import bucket as upload_bucket

from . import samples
from .conftest import PART
from .helpers import assert_status, stored_object_names, wav_bytes
from .test_resumable_uploads import (
    SlowBody,
    anything_kept,
    append_first_chunk,
    create,
    head,
    kept_bytes,
    location,
    metadata,
    patch,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_bucket(bucket):
    bucket.RESUMABLE_UPLOAD_DIR = ""
    return bucket


def move_to_another_node(settings, tmp_path, name: str) -> None:
    """This process now plays a node with a disk of its own; the last one's disk is gone."""
    shutil.rmtree(settings.MEDIA_ROOT)
    settings.MEDIA_ROOT = tmp_path / name
    settings.FILE_UPLOAD_TEMP_DIR = str(settings.MEDIA_ROOT / ".incoming")


def test_an_upload_goes_on_at_a_node_whose_disk_never_saw_it(alice, in_bucket, tmp_path):
    content = samples.picture_bytes("PNG")
    third = len(content) // 3
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:third]), 204)

    move_to_another_node(in_bucket, tmp_path, "node-b")
    assert head(alice, url)["Upload-Offset"] == str(third)
    assert_status(patch(alice, url, third, content[third : 2 * third]), 204)
    move_to_another_node(in_bucket, tmp_path, "node-c")
    last = patch(alice, url, 2 * third, content[2 * third :])

    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert alice.get(media["file"]).getvalue() == content
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    assert (media["width"], media["height"]) == (640, 480)
    assert not anything_kept(Upload.objects.get()), "the chunks went with the finish"
    assert [p for p in in_bucket.MEDIA_ROOT.rglob("*") if p.is_file()] == []


def test_each_patch_is_one_object_named_in_the_upload_in_order(alice, in_bucket):
    url = location(create(alice, 15))
    for offset, piece in ((0, b"12345"), (5, b"678"), (8, b"9a")):
        assert_status(patch(alice, url, offset, piece), 204)

    upload = Upload.objects.get()
    assert len(upload.chunks) == 3
    assert sorted(upload_bucket.chunks_listed(upload.pk)) == upload.chunks
    assert kept_bytes(upload) == b"123456789a"
    assert not (in_bucket.MEDIA_ROOT / ".resumable").exists(), "nothing on this node's disk"


def test_a_chunk_bigger_than_a_part_is_kept_whole(alice, in_bucket):
    # Sent as a multipart upload of its own (past two parts of S3_UPLOAD_PART_BYTES, 5 MiB
    # here), its parts read from the spooled chunk.
    content = random.Random(7).randbytes(2 * PART + 123)
    url = location(create(alice, len(content) + 10))

    assert_status(patch(alice, url, 0, content), 204)

    upload = Upload.objects.get()
    assert len(upload.chunks) == 1
    assert kept_bytes(upload) == content
    assert etag_of_chunk(upload).endswith("-3")  # a multipart object's ETag counts its parts


def test_a_chunk_up_to_two_parts_is_one_put(alice, in_bucket):
    # One request, not a multipart upload of one or two parts (three or four requests).
    content = random.Random(8).randbytes(PART + 123)
    url = location(create(alice, len(content) + 10))

    assert_status(patch(alice, url, 0, content), 204)

    upload = Upload.objects.get()
    assert kept_bytes(upload) == content
    assert "-" not in etag_of_chunk(upload)


def etag_of_chunk(upload: Upload) -> str:
    assert upload.chunks
    return etag_of(f"{bucket_root(s3_storage())}{upload.chunks[0]}")


def etag_of(key: str) -> str:
    """The ETag of the object `key` (a multipart object's ends in `-<its parts>`)."""
    return head_of(key)["ETag"].strip('"')


def head_of(key: str) -> dict:
    storage = s3_storage()
    return storage.client.head_object(Bucket=storage.bucket_name, Key=key)


def test_a_store_that_refuses_the_finished_file_is_503_and_its_retry_finishes(
    alice, in_bucket, monkeypatch
):
    content = samples.picture_bytes("PNG")
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:100]), 204)

    def refused(self, client, fileobj, bucket, key, extra_args):
        if "/uploads/" in key:  # the finished file; its chunks still go in
            raise ClientError({"Error": {"Code": "InternalError"}}, "PutObject")
        return original(self, client, fileobj, bucket, key, extra_args)

    original = s3transfer.upload.PutObjectTask._main
    with monkeypatch.context() as store:
        store.setattr(s3transfer.upload.PutObjectTask, "_main", refused)
        refused_patch = patch(alice, url, 100, content[100:])

    assert_status(refused_patch, 503)
    assert Upload.objects.get().offset == 100  # kept, not discarded
    last = patch(alice, url, 100, content[100:])
    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert alice.get(media["file"]).getvalue() == content


def test_a_full_disk_at_the_last_chunk_is_507_and_its_retry_finishes(alice, in_bucket, monkeypatch):
    content = samples.picture_bytes("PNG")
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:100]), 204)

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    # The node's temporary disk fills while the chunks are joined into one file.
    with monkeypatch.context() as full:
        full.setattr(upload_bucket.shutil, "copyfileobj", no_space)
        refused = patch(alice, url, 100, content[100:])

    assert_status(refused, 507)
    assert refused.json()["code"] == "insufficient_storage"
    upload = Upload.objects.get()
    assert (upload.offset, len(upload.chunks), upload.writing_since) == (100, 1, None)
    last = patch(alice, url, 100, content[100:])
    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert alice.get(media["file"]).getvalue() == content


def test_one_upload_the_sweep_cannot_delete_stops_no_other(alice, in_bucket):
    location(create(alice, 10))  # its bytes in the bucket
    in_bucket.MEDIA_STORAGE = "local"  # switched back: the bucket's uploads cannot be reached
    location(create(alice, 10))  # its bytes on disk
    Upload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    call_command("sweep_expired", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert [upload.chunks for upload in Upload.objects.all()] == [[]], "the disk one is swept"


def test_termination_aborts_a_big_chunk_a_killed_process_left_unfinished(alice, in_bucket):
    url = location(create(alice, 10))
    upload = Upload.objects.get()
    storage = s3_storage()
    client = storage.connection.meta.client
    key = f"{bucket_root(storage)}{upload_bucket.chunk_name(upload.pk, 0)}"
    started = client.create_multipart_upload(Bucket=storage.bucket_name, Key=key)
    client.upload_part(
        Bucket=storage.bucket_name,
        Key=key,
        UploadId=started["UploadId"],
        PartNumber=1,
        Body=b"x" * PART,
    )

    assert_status(alice.delete(url, HTTP_TUS_RESUMABLE="1.0.0"), 204)

    left = client.list_multipart_uploads(Bucket=storage.bucket_name, Prefix=key)
    assert left.get("Uploads", []) == []


def test_a_chunk_with_a_wrong_checksum_sends_nothing_to_the_bucket(alice, in_bucket):
    import base64

    url = location(create(alice, 10))
    assert_status(patch(alice, url, 0, b"12345"), 204)
    wrong = "sha256 " + base64.b64encode(hashlib.sha256(b"other").digest()).decode()

    response = patch(alice, url, 5, b"67890", HTTP_UPLOAD_CHECKSUM=wrong)

    assert response.status_code == 460
    upload = Upload.objects.get()
    assert upload.offset == 5
    assert len(upload_bucket.chunks_listed(upload.pk)) == 1


def test_an_object_a_dead_writer_left_is_never_joined_and_goes_with_the_upload(alice, in_bucket):
    content = samples.picture_bytes("PNG")
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:100]), 204)
    upload = Upload.objects.get()
    # A PATCH at offset 100 that sent its object and died before it moved the offset on.
    stray = in_bucket.FILE_UPLOAD_TEMP_DIR + "/stray"
    with open(stray, "wb") as file:
        file.write(b"never counted" * 100)
    upload_bucket.chunk_store(stray, upload_bucket.chunk_name(upload.pk, 100))

    last = patch(alice, url, 100, content[100:])

    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert alice.get(media["file"]).getvalue() == content
    assert upload_bucket.chunks_listed(upload.pk) == []


def test_a_patch_whose_hold_was_taken_over_deletes_the_object_it_sent(alice, in_bucket):
    content = samples.picture_bytes("PNG")
    url = location(create(alice, len(content) + 1))
    upload = Upload.objects.get()

    def on_read(sent: int) -> None:
        if sent + 100 >= len(content):  # before the last read: no renewal sees it
            Upload.objects.update(writing_since=timezone.now() + timedelta(hours=1))

    with pytest.raises(ApplicationError) as refused:
        append_first_chunk(upload, SlowBody(content, on_read), len(content))

    assert refused.value.status == 409
    assert upload_bucket.chunks_listed(upload.pk) == []
    assert Upload.objects.get().chunks == []
    Upload.objects.update(writing_since=None)
    assert head(alice, url)["Upload-Offset"] == "0"


def test_a_bucket_that_cannot_be_reached_is_503_and_the_upload_goes_on_after(alice, in_bucket):
    content = samples.picture_bytes("PNG")
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:100]), 204)
    reachable = in_bucket.S3_ENDPOINT_URL
    in_bucket.S3_ENDPOINT_URL = "http://127.0.0.1:1"  # nothing listens there

    refused = patch(alice, url, 100, content[100:200])

    assert_status(refused, 503)
    assert refused.json()["code"] == "storage_unavailable"
    in_bucket.S3_ENDPOINT_URL = reachable
    assert head(alice, url)["Upload-Offset"] == "100"
    last = patch(alice, url, 100, content[100:])
    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert alice.get(media["file"]).getvalue() == content


def test_a_last_chunk_the_bucket_fails_to_finish_is_503_and_its_retry_finishes(alice, in_bucket):
    content = samples.picture_bytes("PNG")
    url = location(create(alice, len(content)))
    assert_status(patch(alice, url, 0, content[:100]), 204)
    # The first chunk's object goes missing: joining the upload fails as a store that does not
    # answer would.
    (first,) = Upload.objects.get().chunks
    kept = in_bucket.FILE_UPLOAD_TEMP_DIR + "/first"
    with open(kept, "wb") as file:
        file.write(content[:100])
    upload_bucket.chunks_delete([first])

    refused = patch(alice, url, 100, content[100:])

    assert_status(refused, 503)
    assert refused.json()["code"] == "storage_unavailable"
    upload = Upload.objects.get()
    assert (upload.offset, upload.chunks, upload.writing_since) == (100, [first], None)
    assert upload_bucket.chunks_listed(upload.pk) == [], "the last chunk's object went too"
    upload_bucket.chunk_store(kept, first)  # the store answers again
    last = patch(alice, url, 100, content[100:])
    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert alice.get(media["file"]).getvalue() == content
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()


def test_a_termination_the_bucket_refuses_is_503_and_the_sweep_finishes_it(alice, in_bucket):
    url = location(create(alice, 10))
    assert_status(patch(alice, url, 0, b"12345"), 204)
    upload = Upload.objects.get()
    reachable = in_bucket.S3_ENDPOINT_URL
    in_bucket.S3_ENDPOINT_URL = "http://127.0.0.1:1"

    assert_status(alice.delete(url, HTTP_TUS_RESUMABLE="1.0.0"), 503)

    in_bucket.S3_ENDPOINT_URL = reachable
    assert anything_kept(upload), "the bytes stay with their row"
    assert_status(head(alice, url), 410)  # the row is expired: no PATCH goes on with it
    call_command("sweep_expired", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not Upload.objects.exists()
    assert not anything_kept(upload)


def test_the_orphan_sweep_deletes_chunks_whose_upload_is_gone_and_keeps_the_others(
    alice, in_bucket
):
    url = location(create(alice, 10))
    assert_status(patch(alice, url, 0, b"12345"), 204)
    # What a process killed while its upload was being terminated leaves: an object, and a big
    # chunk's multipart upload, under the prefix of an upload that has no row any more.
    gone = uuid.uuid4()
    stray = in_bucket.FILE_UPLOAD_TEMP_DIR + "/stray"
    with open(stray, "wb") as file:
        file.write(b"left behind")
    upload_bucket.chunk_store(stray, upload_bucket.chunk_name(gone, 0))
    storage = s3_storage()
    client = storage.connection.meta.client
    key = f"{bucket_root(storage)}{upload_bucket.chunk_name(gone, 11)}"
    client.create_multipart_upload(Bucket=storage.bucket_name, Key=key)

    call_command("sweep_orphan_files", "--grace-seconds", "0", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert upload_bucket.chunks_listed(gone) == []
    assert (
        client.list_multipart_uploads(Bucket=storage.bucket_name, Prefix=key).get("Uploads", [])
        == []
    )
    assert kept_bytes(Upload.objects.get()) == b"12345", "a live upload's chunk stays"


def long_wav() -> bytes:
    """A minute of sound: 5.5 MiB, one part (5 MiB here, S3's smallest) and a bit."""
    return wav_bytes(60.0, rate=48_000)


def upload_in_chunks(client, content: bytes, sizes: list[int]):
    """Create an upload of `content` and send it in chunks of `sizes` (the rest in the last);
    the last PATCH's answer."""
    meta = metadata(name="Long", type="audio", filename="long.wav")
    url = location(create(client, len(content), meta=meta))
    offset = 0
    for size in sizes:
        assert_status(patch(client, url, offset, content[offset : offset + size]), 204)
        offset += size
    return patch(client, url, offset, content[offset:])


def stored_etag(media_id: str) -> str:
    return etag_of(s3_key(Media.objects.get(pk=media_id).storage_path))


def stored_content_type(media_id: str) -> str:
    return head_of(s3_key(Media.objects.get(pk=media_id).storage_path))["ContentType"]


@pytest.fixture
def part_copies(monkeypatch) -> list[int]:
    """The part numbers of every UploadPartCopy the bucket's client sends (passed on to it)."""
    client = s3_storage().client
    copy = client.upload_part_copy
    copied: list[int] = []

    def counted(**kwargs):
        copied.append(kwargs["PartNumber"])
        return copy(**kwargs)

    monkeypatch.setattr(client, "upload_part_copy", counted)
    return copied


def test_chunks_of_a_part_or_more_are_joined_in_the_bucket_not_sent_again(alice, in_bucket):
    content = long_wav()

    last = upload_in_chunks(alice, content, [PART])

    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert alice.get(media["file"]).getvalue() == content
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    # A multipart object's ETag counts its parts: the two chunks, copied by the store. The file
    # sent again from the node would be one PUT (under two parts' size).
    assert stored_etag(last["Media-Id"]).endswith("-2")
    # As if sent whole (the test below): the sniffed type.
    assert stored_content_type(last["Media-Id"]) == media["mime_type"] == "audio/x-wav"
    assert not anything_kept(Upload.objects.get())
    assert [name for name in stored_object_names() if not name.startswith("uploads/")] == []


def test_chunks_smaller_than_a_part_are_sent_again_as_one_file(alice, in_bucket, part_copies):
    content = long_wav()

    last = upload_in_chunks(alice, content, [PART // 2, PART // 2])

    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert alice.get(media["file"]).getvalue() == content
    assert "-" not in stored_etag(last["Media-Id"])  # one PUT: S3 would refuse such parts
    assert stored_content_type(last["Media-Id"]) == media["mime_type"] == "audio/x-wav"
    # Not even tried (a store's refusal of the join would also end in one PUT).
    assert part_copies == []


def test_a_join_the_bucket_refuses_is_503_leaves_nothing_and_its_retry_finishes(
    alice, in_bucket, monkeypatch
):
    content = long_wav()
    meta = metadata(name="Long", type="audio", filename="long.wav")
    url = location(create(alice, len(content), meta=meta))
    assert_status(patch(alice, url, 0, content[:PART]), 204)
    client = s3_storage().client
    copied = client.upload_part_copy

    def refuse_the_second(**kwargs):
        if kwargs["PartNumber"] == 2:
            raise ClientError({"Error": {"Code": "InternalError"}}, "UploadPartCopy")
        return copied(**kwargs)

    with monkeypatch.context() as store:
        store.setattr(client, "upload_part_copy", refuse_the_second)
        refused = patch(alice, url, PART, content[PART:])

    assert_status(refused, 503)
    assert refused.json()["code"] == "storage_unavailable"
    upload = Upload.objects.get()
    assert (upload.offset, len(upload.chunks), upload.writing_since) == (PART, 1, None)
    assert [name for name in stored_object_names() if name.startswith("uploads/")] == [], (
        "no object, no multipart upload left open"
    )
    last = patch(alice, url, PART, content[PART:])
    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert alice.get(media["file"]).getvalue() == content
    assert stored_etag(last["Media-Id"]).endswith("-2")


@pytest.mark.parametrize(
    ("offsets", "length", "joinable"),
    [
        ([0], 10, True),  # one chunk: a single part may be of any size
        ([0, PART], PART + 1, True),  # the last may be small
        ([0, PART, 2 * PART], 3 * PART, True),
        ([0, PART - 1], PART + 10, False),  # a part but the last under 5 MiB
        ([0, PART, PART + 1], 3 * PART, False),
        ([], 0, False),
    ],
)
def test_chunks_are_joined_in_the_bucket_only_as_s3_takes_parts(
    in_bucket, offsets, length, joinable
):
    upload_id = uuid.uuid4()
    names = [upload_bucket.chunk_name(upload_id, offset) for offset in offsets]

    keys = upload_bucket.joinable_keys(names, length=length)

    if joinable:
        assert keys == [f"{bucket_root(s3_storage())}{name}" for name in names]  # in order
    else:
        assert keys is None


def test_a_chunk_past_s3s_largest_part_is_not_joined_in_the_bucket(in_bucket):
    names = [upload_bucket.chunk_name(uuid.uuid4(), 0)]

    assert upload_bucket.joinable_keys(names, length=5 * 1024**3) is not None
    assert upload_bucket.joinable_keys(names, length=5 * 1024**3 + 1) is None


def test_more_chunks_than_s3_takes_parts_are_not_joined_in_the_bucket(in_bucket):
    upload_id = uuid.uuid4()
    names = [upload_bucket.chunk_name(upload_id, n * PART) for n in range(10_001)]

    assert upload_bucket.joinable_keys(names, length=10_001 * PART) is None
    assert upload_bucket.joinable_keys(names[:10_000], length=10_000 * PART) is not None


def refusal(operation: str) -> ClientError:
    """What S3 answers a CompleteMultipartUpload whose parts lack the checksums it was created
    with (a store that gives none for copied parts would end there)."""
    return ClientError(
        {
            "Error": {"Code": "InvalidRequest", "Message": "The upload was created using a crc32"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


def test_a_store_that_refuses_to_join_the_chunks_gets_the_file_sent(alice, in_bucket, monkeypatch):
    content = long_wav()
    client = s3_storage().client

    def refuse(**kwargs):
        raise refusal("CompleteMultipartUpload")

    with monkeypatch.context() as store:
        store.setattr(client, "complete_multipart_upload", refuse)
        last = upload_in_chunks(alice, content, [PART])

    assert_status(last, 204)
    media = alice.get(f"/api/media/{last['Media-Id']}/").json()
    assert alice.get(media["file"]).getvalue() == content
    assert "-" not in stored_etag(last["Media-Id"]), "sent as one PUT after the refusal"
    assert [name for name in stored_object_names() if name.endswith(".multipart")] == []


def test_the_checksums_the_store_gives_for_copied_parts_go_with_the_join(
    alice, in_bucket, monkeypatch
):
    content = long_wav()
    client = s3_storage().client
    copy, complete = client.upload_part_copy, client.complete_multipart_upload
    completed: list[dict] = []

    def copy_with_checksum(**kwargs):
        # What S3 gives for a part copied into an upload created with CRC32 (moto gives none).
        answer = copy(**kwargs)
        start = (kwargs["PartNumber"] - 1) * PART
        part = content[start : start + PART]
        crc32 = base64.b64encode(zlib.crc32(part).to_bytes(4, "big")).decode()
        answer["CopyPartResult"]["ChecksumCRC32"] = crc32
        return answer

    def recorded(**kwargs):
        completed.append(kwargs)
        return complete(**kwargs)

    with monkeypatch.context() as store:
        store.setattr(client, "upload_part_copy", copy_with_checksum)
        store.setattr(client, "complete_multipart_upload", recorded)
        last = upload_in_chunks(alice, content, [PART])

    assert_status(last, 204)
    (join,) = completed
    assert [part.get("ChecksumCRC32") for part in join["MultipartUpload"]["Parts"]] == [
        base64.b64encode(zlib.crc32(piece).to_bytes(4, "big")).decode()
        for piece in (content[:PART], content[PART:])
    ]


def test_bytes_the_user_already_stores_are_not_joined_again(alice, in_bucket, part_copies):
    content = long_wav()
    first = upload_in_chunks(alice, content, [PART])
    assert_status(first, 204)
    assert part_copies == [1, 2] or part_copies == [2, 1]  # the first upload's join
    part_copies.clear()

    second = upload_in_chunks(alice, content, [PART])

    assert_status(second, 204)
    assert part_copies == [], "the new record points at the stored file"
    stored = Media.objects.filter(pk__in=[first["Media-Id"], second["Media-Id"]])
    assert len({media.storage_path for media in stored}) == 1
    assert [name for name in stored_object_names() if name.endswith(".multipart")] == []
