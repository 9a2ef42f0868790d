"""One HTTP client helper for the suites and the benchmarks: accounts, tokens, uploads (through
requests, or over a raw socket a part at a time)."""

import base64
import http.client
import socket
import uuid
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

import requests
from urllib3.filepost import encode_multipart_formdata

from devstack.polling import wait_until

PASSWORD = "strongpassword"  # noqa: S105 -- the seed README's example, for throw-away accounts
TIMEOUT = 20


class UnexpectedAnswer(AssertionError):
    """An answer with another status than the one asked for; says what came back."""


class StillPending(AssertionError):
    """A media the job worker was not done with in time; says its last state."""


def expect(response: requests.Response, *statuses: int) -> requests.Response:
    if response.status_code not in statuses:
        raise UnexpectedAnswer(
            f"{response.request.method} {response.url} -> {response.status_code} "
            f"(expected {', '.join(map(str, statuses))}): {response.text[:2000]}"
        )
    return response


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def register(http: requests.Session, base: str, email: str | None = None, **fields: str) -> dict:
    """A new account, signed in: `{"user", "access", "refresh"}`. `fields` add to or replace
    the body's (password PASSWORD, a first and last name)."""
    body = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": email or unique_email(),
        "password": PASSWORD,
    } | fields
    response = http.post(f"{base}/api/auth/register/", json=body, timeout=TIMEOUT)
    return expect(response, 201).json()


def login(http: requests.Session, base: str, username: str, password: str = PASSWORD) -> dict:
    """Fresh tokens of an account: `{"user", "access", "refresh"}`."""
    body = {"username": username, "password": password}
    return expect(http.post(f"{base}/api/auth/login/", json=body, timeout=TIMEOUT), 200).json()


def tus_metadata(**values: str) -> str:
    """A tus `Upload-Metadata` header: `key base64(value)` pairs, comma-separated."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
    )


TUS = {"Tus-Resumable": "1.0.0"}


def tus_create(
    http, base: str, headers: dict[str, str], *, length: int, metadata: str, timeout=TIMEOUT
) -> str:
    """A new, empty resumable upload (tus creation) of `length` bytes, with `metadata` (an
    Upload-Metadata header: tus_metadata) and `headers` (the bearer): its URL. `http` is a
    requests.Session or the requests module."""
    response = http.post(
        f"{base}/api/media/uploads/",
        headers={**headers, **TUS, "Upload-Length": str(length), "Upload-Metadata": metadata},
        timeout=timeout,
    )
    return expect(response, 201).headers["Location"]


def tus_patch(
    http, url: str, headers: dict[str, str], *, offset: int, data, timeout=TIMEOUT
) -> requests.Response:
    """One chunk of the upload at `url`, at `offset` (a tus PATCH), answered 204."""
    response = http.patch(
        url,
        data=data,
        headers={
            **headers,
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=timeout,
    )
    return expect(response, 204)


def bearer(tokens: dict | str) -> dict[str, str]:
    access = tokens if isinstance(tokens, str) else tokens["access"]
    return {"Authorization": f"Bearer {access}"}


def settled(base: str, tokens: dict | str, media_id: str, *, timeout: float) -> dict:
    """The media, as its owner reads it, once the job worker is done with it (`processing`
    ready or failed). Raises StillPending after `timeout` seconds."""
    latest: dict = {}

    def done() -> bool:
        response = requests.get(
            f"{base}/api/media/{media_id}/", headers=bearer(tokens), timeout=TIMEOUT
        )
        latest.update(expect(response, 200).json())
        return latest["processing"] != "pending"

    if not wait_until(done, timeout, interval=0.25):
        raise StillPending(f"media {media_id} still pending after {timeout} s: {latest}")
    return latest


def upload(
    http: requests.Session,
    base: str,
    tokens: dict | str,
    content: bytes,
    *,
    name: str = "photo",
    media_type: str = "image",
    filename: str = "photo.png",
    content_type: str = "application/octet-stream",
    data: dict | None = None,
    headers: dict | None = None,
    path: str = "/api/media/",
) -> requests.Response:
    """A multipart upload of `content` (the answer, whatever its status)."""
    return http.post(
        f"{base}{path}",
        headers=bearer(tokens) | (headers or {}),
        data={"name": name, "type": media_type, **(data or {})},
        files={"file": (filename, content, content_type)},
        timeout=TIMEOUT,
    )


def multipart(
    content: bytes,
    *,
    name: str = "upload",
    media_type: str = "audio",
    filename: str = "tone.wav",
    content_type: str = "audio/wav",
) -> tuple[bytes, str]:
    """The body of a media upload and its Content-Type (with the boundary)."""
    fields = [
        ("name", name),
        ("type", media_type),
        ("file", (filename, content, content_type)),
    ]
    return encode_multipart_formdata(fields, boundary=f"devstack{uuid.uuid4().hex}")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes


class RawUpload:
    """A media upload over a raw socket, its body sent when and as far as the test says: to
    stop half-way, to kill what serves it meanwhile, or to read an answer that comes before the
    body is all sent. The request head goes at once."""

    def __init__(
        self,
        base: str,
        path: str,
        token: str,
        content: bytes,
        *,
        declared_size: int | None = None,
        **parts: str,
    ):
        self.body, body_type = multipart(content, **parts)
        self.request_id = f"devstack-{uuid.uuid4().hex[:12]}"
        address = urlsplit(base)
        head = (
            f"POST {path} HTTP/1.1\r\n"
            f"Host: {address.netloc}\r\n"
            f"Authorization: Bearer {token}\r\n"
            f"X-Request-ID: {self.request_id}\r\n"
            f"Content-Type: {body_type}\r\n"
            f"Content-Length: {declared_size or len(self.body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        self.sent = 0
        self.sock = socket.create_connection((address.hostname, address.port), timeout=30)
        self.sock.sendall(head.encode())

    def send(self, size: int | None = None) -> None:
        """The next `size` bytes of the body (all the rest by default)."""
        end = len(self.body) if size is None else self.sent + size
        self.sock.sendall(self.body[self.sent : end])
        self.sent = min(end, len(self.body))

    def answer(self, timeout: float = 10) -> "Answer":
        self.sock.settimeout(timeout)
        response = http.client.HTTPResponse(self.sock)
        response.begin()
        return Answer(response.status, response.headers, response.read())

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawUpload":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def raw_exchange(
    port: int, request: bytes, *, source: str = "127.0.0.1", timeout: float = 20
) -> tuple[int, dict[str, str], bytes]:
    """Sends `request` byte for byte to 127.0.0.1:`port` (from `source`: loopback has all of
    127.0.0.0/8) and reads the whole answer, which the server ends by closing: the status, the
    headers by lower-case name, the body."""
    with socket.create_connection(
        ("127.0.0.1", port), timeout=timeout, source_address=(source, 0)
    ) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body
