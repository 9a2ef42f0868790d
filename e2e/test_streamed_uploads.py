"""Uploads are streamed through the gateway: the media create endpoints pass a body on as it
arrives instead of writing it to disk first, and a refused token or a body over the limit is
answered before the client has sent everything. A slow upload holds one of the media workers'
threads, and past a few at once the gateway buffers the next ones first, so slow clients never
hold up everyone else."""

import http.client
import socket
import time
import uuid

import pytest
import requests
from api import bearer, register, wav_bytes
from launcher import MAX_UPLOAD_SIZE

CREATE_PATHS = ["/api/media", "/api/media/", "/api/media/media", "/api/media/media/"]
# Longer than any answer the stack gives, far shorter than nginx's client_body_timeout (120 s),
# which is how long a buffering gateway would wait for the rest of the body.
ANSWER_TIMEOUT = 10


@pytest.fixture(scope="module")
def uploader(stack) -> dict:
    with requests.Session() as session:
        return register(session, stack.gateway, "e2e-streamed-uploads@example.com")


class Upload:
    """A multipart upload sent over a raw connection to the gateway, a part at a time."""

    boundary = "e2estreamedupload"

    def __init__(self, stack, path: str, token: str, content: bytes, *, declared_size=None):
        head = (
            f"--{self.boundary}\r\n"
            'Content-Disposition: form-data; name="name"\r\n\r\nstreamed\r\n'
            f"--{self.boundary}\r\n"
            'Content-Disposition: form-data; name="type"\r\n\r\naudio\r\n'
            f"--{self.boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="tone.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        self.body = head + content + f"\r\n--{self.boundary}--\r\n".encode()
        self.request_id = f"e2e-streamed-{uuid.uuid4().hex[:12]}"
        self.request_head = (
            f"POST {path} HTTP/1.1\r\n"
            f"Host: localhost:{stack.gateway_port}\r\n"
            f"Authorization: Bearer {token}\r\n"
            f"X-Request-ID: {self.request_id}\r\n"
            f"Content-Type: multipart/form-data; boundary={self.boundary}\r\n"
            f"Content-Length: {declared_size or len(self.body)}\r\n\r\n"
        ).encode()
        self.sent = 0
        self.sock = socket.create_connection(("127.0.0.1", stack.gateway_port), timeout=30)
        self.sock.sendall(self.request_head)

    def send(self, size: int | None = None) -> None:
        end = len(self.body) if size is None else self.sent + size
        self.sock.sendall(self.body[self.sent : end])
        self.sent = min(end, len(self.body))

    def answer(self) -> http.client.HTTPResponse:
        self.sock.settimeout(ANSWER_TIMEOUT)
        response = http.client.HTTPResponse(self.sock)
        response.begin()
        response.body = response.read()
        return response

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("path", CREATE_PATHS)
def test_upload_with_a_bad_token_is_answered_before_its_body_is_sent(stack, path):
    upload = Upload(stack, path, "not-a-token", wav_bytes(seconds=60.0))
    try:
        upload.send(64 * 1024)  # of about 960 kB
        response = upload.answer()
        assert response.status == 401, response.body
        assert response.getheader("Content-Type") == "application/json"
        assert response.getheader("X-Request-ID") == upload.request_id
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert response.getheader("WWW-Authenticate").startswith("Bearer")
        assert b'"code":"token_not_valid"' in response.body  # the media service's own answer
        assert upload.sent < len(upload.body)
    finally:
        upload.close()
    # The gateway asked the media service about the token and sent none of the body on.
    assert "upstream_status=- " in stack.access_log_line(upload.request_id)


def test_upload_declaring_more_than_the_limit_is_refused_at_once(stack, uploader):
    """Past MAX_UPLOAD_SIZE by more than the multipart framing's room: the gateway, whose limit
    is the media service's, refuses it from its Content-Length, before a byte of the file has
    arrived, and sends nothing on."""
    declared_size = MAX_UPLOAD_SIZE + 512 * 1024
    upload = Upload(
        stack, "/api/media/", uploader["access"], b"\0" * 1024, declared_size=declared_size
    )
    try:
        response = upload.answer()
        assert response.status == 413, response.body
        assert b'"code":"upload_too_large"' in response.body
    finally:
        upload.close()
    assert "upstream_status=- " in stack.access_log_line(upload.request_id)


def test_chunked_upload_is_stored_whole(http, stack, uploader):
    """A body of unknown length (chunked) is still gathered by the gateway, then passed on
    with its length, which the media service needs to read it."""
    content = wav_bytes(seconds=2.0)
    boundary = "e2echunkedupload"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="name"\r\n\r\nchunked\r\n'
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="type"\r\n\r\naudio\r\n'
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="tone.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    parts = (body[start : start + 10_000] for start in range(0, len(body), 10_000))
    response = http.post(
        f"{stack.gateway}/api/media/",
        headers=bearer(uploader) | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
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
    uploads = [Upload(stack, "/api/media/", uploader["access"], content) for _ in range(40)]
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
        answers = [upload.answer() for upload in uploads]
    finally:
        for upload in uploads:
            upload.close()
    assert [answer.status for answer in answers] == [201] * len(uploads)
    assert [answer.getheader("X-Request-ID") for answer in answers] == [
        upload.request_id for upload in uploads
    ]
    assert all(answer.getheader("X-Frame-Options") == "DENY" for answer in answers)


def test_upload_cut_off_by_its_client_stores_nothing(http, stack):
    """The client hangs up half-way through a streamed upload: the media service sees a body
    shorter than its Content-Length and stores neither a row nor a file."""
    user = register(http, stack.gateway, f"e2e-cut-off-{uuid.uuid4().hex[:8]}@example.com")
    upload = Upload(stack, "/api/media/", user["access"], wav_bytes(seconds=20.0))
    upload.send(len(upload.body) // 2)
    time.sleep(0.5)  # the first half reaches the media service
    upload.close()

    # The request is over once its temporary file is gone; a row would be written by then.
    deadline = time.monotonic() + 10
    while list((stack.media_root / ".incoming").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    listed = http.get(f"{stack.gateway}/api/media/", headers=bearer(user), timeout=10)
    assert listed.status_code == 200, listed.text
    assert listed.json()["count"] == 0, listed.json()
    assert list((stack.media_root / ".incoming").iterdir()) == []
