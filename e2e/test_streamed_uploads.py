"""Uploads are streamed through the gateway: the media create endpoints pass a body on as it
arrives instead of writing it to disk first, and a refused token or a body over the limit is
answered before the client has sent everything. A slow upload holds one of the media workers'
threads, and past a few at once the gateway buffers the next ones first, so slow clients never
hold up everyone else."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devstack import processes
from devstack.client import RawUpload, bearer, multipart, register
from devstack.samples import wav_bytes

CREATE_PATHS = ["/api/media", "/api/media/", "/api/media/media", "/api/media/media/"]
# Longer than any answer the stack gives, far shorter than nginx's client_body_timeout (120 s),
# which is how long a buffering gateway would wait for the rest of the body.
ANSWER_TIMEOUT = 10


@pytest.fixture(scope="module")
def uploader(stack) -> dict:
    with requests.Session() as session:
        return register(session, stack.gateway, "e2e-streamed-uploads@example.com")


def streamed(stack, path: str, token: str, content: bytes, **options) -> RawUpload:
    return RawUpload(stack.gateway, path, token, content, name="streamed", **options)


@pytest.mark.parametrize("path", CREATE_PATHS)
def test_upload_with_a_bad_token_is_answered_before_its_body_is_sent(stack, path):
    with streamed(stack, path, "not-a-token", wav_bytes(seconds=60.0)) as upload:
        upload.send(64 * 1024)  # of about 960 kB
        response = upload.answer(ANSWER_TIMEOUT)
        assert response.status == 401, response.body
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["X-Request-ID"] == upload.request_id
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert b'"code":"token_not_valid"' in response.body  # the media service's own answer
        assert upload.sent < len(upload.body)
    # The gateway asked the media service about the token and sent none of the body on.
    assert "upstream_status=- " in stack.access_log_line(upload.request_id)


def test_upload_declaring_more_than_the_limit_is_refused_at_once(stack, uploader):
    """Past MAX_UPLOAD_SIZE by more than the multipart framing's room: the gateway, whose limit
    is the media service's, refuses it from its Content-Length, before a byte of the file has
    arrived, and sends nothing on."""
    declared_size = stack.max_upload_size + 512 * 1024
    with streamed(
        stack, "/api/media/", uploader["access"], b"\0" * 1024, declared_size=declared_size
    ) as upload:
        response = upload.answer(ANSWER_TIMEOUT)
        assert response.status == 413, response.body
        assert b'"code":"upload_too_large"' in response.body
    assert "upstream_status=- " in stack.access_log_line(upload.request_id)


def test_chunked_upload_is_stored_whole(http, stack, uploader):
    """A body of unknown length (chunked) is still gathered by the gateway, then passed on
    with its length, which the media service needs to read it."""
    content = wav_bytes(seconds=2.0)
    body, body_type = multipart(content, name="chunked")
    parts = (body[start : start + 10_000] for start in range(0, len(body), 10_000))
    response = http.post(
        f"{stack.gateway}/api/media/",
        headers=bearer(uploader) | {"Content-Type": body_type},
        data=parts,  # a generator: requests sends it chunked
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(content)


def test_slow_uploads_do_not_hold_up_other_clients(http, stack, uploader):
    """Forty uploads stalled half-way: the first few are streamed and hold media threads, the
    gateway buffers the rest (MEDIA_STREAMED_UPLOADS, fewer than the service's threads). A list
    asked meanwhile is answered at once, and every upload is stored once its client sends the
    rest, with the gateway's headers whichever way it went."""
    content = wav_bytes(seconds=10.0)
    uploads = [streamed(stack, "/api/media/", uploader["access"], content) for _ in range(40)]
    try:
        for upload in uploads:
            upload.send(len(upload.body) // 2)
        time.sleep(1)  # the streamed ones have reached the media service
        for _ in range(30):
            page = http.get(
                f"{stack.gateway}/api/media/?page_size=1",
                headers=bearer(uploader),
                timeout=ANSWER_TIMEOUT,
            )
            assert page.status_code == 200, page.text
        for upload in uploads:
            upload.send()
        answers = [upload.answer(ANSWER_TIMEOUT) for upload in uploads]
    finally:
        for upload in uploads:
            upload.close()
    assert [answer.status for answer in answers] == [201] * len(uploads)
    assert [answer.headers["X-Request-ID"] for answer in answers] == [
        upload.request_id for upload in uploads
    ]
    assert all(answer.headers["X-Frame-Options"] == "DENY" for answer in answers)


def test_upload_cut_off_by_its_client_stores_nothing(http, stack):
    """The client hangs up half-way through a streamed upload: the media service sees a body
    shorter than its Content-Length and stores neither a row nor a file."""
    user = register(http, stack.gateway, f"e2e-cut-off-{uuid.uuid4().hex[:8]}@example.com")
    with streamed(stack, "/api/media/", user["access"], wav_bytes(seconds=20.0)) as upload:
        upload.send(len(upload.body) // 2)
        time.sleep(0.5)  # the first half reaches the media service

    # The request is over once its temporary file is gone; a row would be written by then.
    deadline = time.monotonic() + 10
    while list((stack.media_root / ".incoming").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    listed = http.get(f"{stack.gateway}/api/media/", headers=bearer(user), timeout=10)
    assert listed.status_code == 200, listed.text
    assert listed.json()["count"] == 0, listed.json()
    assert list((stack.media_root / ".incoming").iterdir()) == []


def test_media_workers_keep_at_most_two_malloc_arenas(stack, uploader):
    """Uploads and lists at once, so that every thread of both media workers allocates: glibc
    would give each its own arena (up to eight per core), and each arena keeps much of what
    was freed in it. gateway/gunicorn.conf.py allows two (docs/performance.md, worker memory)."""
    body, body_type = multipart(wav_bytes(seconds=4.0), name="arenas")
    headers = bearer(uploader) | {"Content-Type": body_type}

    def upload(_: int) -> int:
        with requests.Session() as session:
            session.get(f"{stack.gateway}/api/media/", headers=bearer(uploader), timeout=30)
            return session.post(
                f"{stack.gateway}/api/media/", headers=headers, data=body, timeout=30
            ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert list(pool.map(upload, range(24))) == [201] * 24

    heaps = {pid: processes.malloc_arena_heaps(pid) for pid in stack.workers("media")}
    assert heaps
    assert all(count <= 1 for count in heaps.values()), heaps
