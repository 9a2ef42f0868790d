"""The derivatives around the job: queued by an upload, served by signed URL, deleted with
their media, swept when orphaned, queued again by generate_derivatives, and a job held to the
worker's memory limit."""

import base64
import io
import json
import os
import subprocess
import sys
import time
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from PIL import Image

from media_handler.files.derivatives import make_derivatives as make_derivatives_of_file
from media_handler.models import Media
from media_handler.services import media_purge
from media_handler.tasks import make_derivatives

from . import samples
from .factories import MediaFactory
from .helpers import ALICE, assert_status, stored_files
from .test_file_serving import body_of, with_query


def upload(client, content: bytes | None = None, *, kind: str = "image") -> dict:
    content = content or samples.picture_bytes("PNG")
    form = {"name": "Holiday", "type": kind, "file": SimpleUploadedFile("x", content)}
    response = client.post("/api/media/", form, format="multipart")
    assert_status(response, 201)
    return response.json()


def processed(client, media: dict) -> dict:
    make_derivatives.run(media_id=media["id"])
    return client.get(f"/api/media/{media['id']}/").json()


def queued_jobs() -> list[tuple[str, dict]]:
    """(task name, keyword arguments) of each message waiting in the test run's job queue."""
    folder = Path(django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    jobs = []
    for message_file in sorted(folder.glob("*.msg")) if folder.is_dir() else []:
        message = json.loads(message_file.read_text())
        _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        jobs.append((message["headers"]["task"], kwargs))
    return jobs


@pytest.fixture(autouse=True)
def _empty_job_queue():
    folder = Path(django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    for message_file in folder.glob("*.msg") if folder.is_dir() else []:
        message_file.unlink()


def stored_names(media_root) -> set[str]:
    return {path.relative_to(media_root).as_posix() for path in stored_files(media_root)}


@pytest.mark.django_db
def test_an_upload_answers_pending_and_queues_its_derivatives_once_committed(
    alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        media = upload(alice)

    assert media["processing"] == "pending"
    assert (media["thumbnail"], media["preview"], media["placeholder"]) == (None, None, None)
    assert queued_jobs() == [("media.make_derivatives", {"media_id": media["id"], "force": False})]


@pytest.mark.django_db
def test_a_record_without_a_file_is_ready_and_queues_nothing(
    alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post("/api/media/", {"name": "n", "type": "image"}, format="json")

    assert_status(response, 201)
    assert response.json()["processing"] == "ready"
    assert response.json()["thumbnail"] is None
    assert queued_jobs() == []


@pytest.mark.django_db
def test_an_upload_succeeds_while_the_job_queue_is_unreachable(
    alice, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    from common import messages

    messages._publisher.cache_clear()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            media = upload(alice)
    finally:
        messages._publisher.cache_clear()

    assert media["processing"] == "pending"  # for generate_derivatives --missing
    assert Media.objects.filter(pk=media["id"]).exists()


@pytest.mark.django_db
def test_derivative_urls_serve_their_bytes_without_authorization(alice, anonymous):
    media = processed(alice, upload(alice))

    for kind, content_type, extension in (
        ("thumbnail", "image/webp", "webp"),
        ("preview", "image/jpeg", "jpg"),
    ):
        response = anonymous.get(media[kind])
        assert_status(response, 200)
        assert response["Content-Type"] == content_type
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"] == f'inline; filename="Holiday.{kind}.{extension}"'
        assert response["Cache-Control"].startswith("private, max-age=")
        assert Image.open(io.BytesIO(body_of(response))).format in ("WEBP", "JPEG")


@pytest.mark.django_db
def test_derivative_urls_are_signed_like_the_file(alice, anonymous):
    media = processed(alice, upload(alice))
    thumbnail = media["thumbnail"]
    assert thumbnail.startswith(f"http://testserver/api/media/files/{media['id']}/thumbnail/?")

    tampered = anonymous.get(with_query(thumbnail, signature="0" * 64))
    expired = anonymous.get(with_query(thumbnail, expires=str(int(time.time()) - 1)))
    # The file's signature opens the file only, not its derivatives.
    file_signature = with_query(media["file"]).split("?", 1)[1]
    swapped = anonymous.get(f"/api/media/files/{media['id']}/preview/?{file_signature}")

    for response in (tampered, expired, swapped):
        assert_status(response, 403)
        assert response.json()["code"] == "bad_signature"


@pytest.mark.django_db
@pytest.mark.local_storage  # nginx reads MEDIA_ROOT (the bucket: test_object_storage)
def test_derivatives_are_sent_by_nginx_through_the_gateway(alice, anonymous, settings):
    settings.USE_X_ACCEL_REDIRECT = True
    media = processed(alice, upload(alice))
    stored = Media.objects.get(pk=media["id"])

    response = anonymous.get(media["thumbnail"], HTTP_X_SENDFILE_TYPE="X-Accel-Redirect")

    assert_status(response, 200)
    assert response["X-Accel-Redirect"] == f"/_protected_media/{stored.thumbnail_path}"
    assert response["Content-Type"] == "image/webp"
    assert response.content == b""


@pytest.mark.django_db
def test_a_trashed_media_serves_no_derivative(alice, anonymous):
    media = processed(alice, upload(alice))
    assert_status(alice.delete(f"/api/media/{media['id']}/"), 204)

    assert_status(anonymous.get(media["thumbnail"]), 404)


@pytest.mark.django_db
def test_another_users_list_never_shows_my_derivatives(alice, bob):
    processed(alice, upload(alice))

    assert bob.get("/api/media/").json()["count"] == 0


@pytest.mark.django_db
def test_purge_deletes_the_derivatives_with_the_file(
    alice, bob, settings, django_capture_on_commit_callbacks
):
    mine = processed(alice, upload(alice))
    bobs = processed(bob, upload(bob))

    with django_capture_on_commit_callbacks(execute=True):
        media_purge(media_items=Media.objects.filter(pk=mine["id"]))

    bob_media = Media.objects.get(pk=bobs["id"])
    assert stored_names(settings.MEDIA_ROOT) == {
        bob_media.storage_path,
        bob_media.thumbnail_path,
        bob_media.preview_path,
    }


@pytest.mark.django_db
def test_a_deleted_account_takes_its_derivatives_along(
    alice, settings, django_capture_on_commit_callbacks
):
    from media_handler.tasks import purge_user

    processed(alice, upload(alice))

    with django_capture_on_commit_callbacks(execute=True):
        purge_user.run(user_id=ALICE)

    assert stored_names(settings.MEDIA_ROOT) == set()


def age(path: Path, seconds: int) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.django_db
@pytest.mark.local_storage  # ages files by their mtime (the bucket: test_object_storage)
def test_the_sweep_removes_orphaned_derivatives_and_keeps_current_ones(alice, settings):
    media = Media.objects.get(pk=processed(alice, upload(alice))["id"])
    root = settings.MEDIA_ROOT
    # A derivative replaced by a newer one (its row points elsewhere), and one whose media is gone.
    replaced = root / f"{media.storage_path}.thumbnail-{'0' * 12}.webp"
    of_a_gone_media = root / f"uploads/2020/01/01/{'9' * 32}.png.preview-{'1' * 12}.jpg"
    of_a_gone_media.parent.mkdir(parents=True)
    for path in (replaced, of_a_gone_media):
        path.write_bytes(b"old")
    for path in stored_files(root):
        age(path, settings.ORPHAN_GRACE_SECONDS + 60)

    output = StringIO()
    call_command("sweep_orphan_files", stdout=output)

    assert "2 orphan file(s)" in output.getvalue()
    assert stored_names(root) == {media.storage_path, media.thumbnail_path, media.preview_path}


@pytest.mark.django_db
def test_generate_derivatives_queues_every_stored_media_again(alice, bob):
    ready = processed(alice, upload(alice))
    pending = upload(bob)
    MediaFactory(user=ALICE)  # without a file: nothing to make

    output = StringIO()
    call_command("generate_derivatives", stdout=output, stderr=StringIO())

    assert "2 media queued" in output.getvalue()
    assert sorted(queued_jobs(), key=lambda job: job[1]["media_id"]) == sorted(
        [
            ("media.make_derivatives", {"media_id": ready["id"], "force": True}),
            ("media.make_derivatives", {"media_id": pending["id"], "force": True}),
        ],
        key=lambda job: job[1]["media_id"],
    )


@pytest.mark.django_db
def test_generate_derivatives_missing_queues_only_pending_and_failed(alice):
    processed(alice, upload(alice))
    pending = upload(alice, samples.picture_bytes("JPEG"))  # not the same bytes: not shared
    failed = processed(alice, upload(alice, samples.corrupt_mp4(), kind="video"))
    assert failed["processing"] == "failed"

    progress = StringIO()
    call_command("generate_derivatives", "--missing", stdout=StringIO(), stderr=progress)

    assert {job[1]["media_id"] for job in queued_jobs()} == {pending["id"], failed["id"]}
    assert {job[1]["force"] for job in queued_jobs()} == {False}
    assert "2/2" in progress.getvalue()  # the progress bar's last state


@pytest.mark.django_db
def test_generate_derivatives_for_given_media(alice):
    chosen = upload(alice)
    upload(alice)

    call_command(
        "generate_derivatives", "--media-id", chosen["id"], stdout=StringIO(), stderr=StringIO()
    )

    assert [job[1]["media_id"] for job in queued_jobs()] == [chosen["id"]]


@pytest.mark.django_db
@pytest.mark.parametrize("media_id", ["not-a-uuid", str(uuid.uuid4())])
def test_generate_derivatives_refuses_an_unknown_media(db, media_id):
    with pytest.raises(CommandError):
        call_command("generate_derivatives", "--media-id", media_id, stdout=StringIO())
    assert queued_jobs() == []


@pytest.mark.django_db
def test_generate_derivatives_dry_run_queues_nothing(alice):
    upload(alice)

    output = StringIO()
    call_command("generate_derivatives", "--dry-run", stdout=output)

    assert "1 media would be queued" in output.getvalue()
    assert queued_jobs() == []


# A worker process as the job worker starts one: Django set up, then the worker's memory limit
# (its worker_process_init hook, set a little above what the process uses once started), then
# the derivatives of the file named on the command line. A fresh interpreter, so that no memory
# freed by earlier tests is there to be reused under the limit.
UNDER_THE_WORKER_LIMIT = """
import sys
import django

django.setup()
from django.conf import settings
from backend_server.celery import _limit_memory
from media_handler.files.derivatives import DerivativeError, make_derivatives

status = open("/proc/self/status").read().splitlines()
used_kib = next(int(line.split()[1]) for line in status if line.startswith("VmSize"))
settings.JOB_WORKER_MEMORY_LIMIT_MB = used_kib // 1024 + 24
_limit_memory()
try:
    make_derivatives(sys.argv[1], mime_type="image/png", max_pixels=10**9)
    print("made")
except DerivativeError as exc:
    print(exc)
print("alive")
"""


def run_script(script: str, path: Path) -> subprocess.CompletedProcess:
    """`script` run by this interpreter in a fresh process with the test settings, given `path`."""
    return subprocess.run(  # noqa: S603 -- this interpreter, a script of the test's own
        [sys.executable, "-c", script, str(path)],
        cwd=Path(django_settings.BASE_DIR),
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "backend_server.test_settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_picture_too_big_for_the_workers_memory_limit_fails_instead_of_growing(tmp_path):
    big = tmp_path / "big.png"
    # 64 MB once decoded, more than the limit leaves; written without ever being decoded here.
    big.write_bytes(samples.png_bomb(8000))

    result = run_script(UNDER_THE_WORKER_LIMIT, big)

    assert result.returncode == 0, result.stderr
    # The job fails; the process lives on, for its next job.
    assert result.stdout.splitlines() == ["ran out of memory (the worker's limit)", "alive"]


def test_the_same_picture_is_made_without_the_limit(tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(samples.png_bomb(8000))

    made = make_derivatives_of_file(str(big), mime_type="image/png", max_pixels=10**9)

    assert made.pictures is not None
    assert (made.width, made.height) == (8000, 8000)


# A worker whose memory limit is under the tools' (an operator raised DERIVATIVES_TOOL_MEMORY_MB
# past JOB_WORKER_MEMORY_LIMIT_MB): the tool runs under the worker's limit, never fails to start.
UNDER_A_LOWER_WORKER_LIMIT = """
import resource
import sys
import django

django.setup()
from django.conf import settings
from media_handler.files import ffmpeg

limit = 1536 * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
settings.DERIVATIVES_TOOL_MEMORY_MB = 4096
print(ffmpeg.probe(sys.argv[1], mime_type="audio/x-wav").duration)
"""


def test_tools_run_when_their_memory_limit_is_set_above_the_workers(tmp_path):
    song = tmp_path / "song.wav"
    song.write_bytes(samples.audio_without_cover(".wav"))

    result = run_script(UNDER_A_LOWER_WORKER_LIMIT, song)

    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip()) == pytest.approx(2.0, abs=0.1)
