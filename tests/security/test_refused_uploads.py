"""Uploads the service refuses before it has read their body — no token, a bad or an expired
token, a body over the limit — get the service's JSON answer through the gateway: never a 502,
never an HTML page (issue 12, item 1: 9-14 of 30 such uploads were 502s, some of them HTML).
The app refreshes only on 401, so the 401 must arrive as a 401.

Each case sends 200 uploads, 20 at a time. The bodies are large enough to outgrow the socket
buffers (the service answers while nginx is still sending), and small enough to fit under the
upload limit when the token is what is refused.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from conftest import MAX_UPLOAD_SIZE

from devstack import client

UPLOADS = 200
AT_ONCE = 20
UNDER_THE_LIMIT = MAX_UPLOAD_SIZE - 100 * 1024


def expired_token(stack, tokens: dict) -> str:
    claims = jwt.decode(tokens["access"], options={"verify_signature": False})
    claims.update(iat=int(time.time()) - 3600, exp=int(time.time()) - 60)
    return jwt.encode(claims, stack.env["JWT_SIGNING_KEY"].encode(), algorithm="HS256")


def multipart_upload(base: str, headers: dict, size: int) -> requests.Response:
    # Each thread its own connection: the race is between nginx sending and the service closing.
    return requests.post(
        f"{base}/api/media/",
        headers=headers,
        data={"name": "big", "type": "image"},
        files={"file": ("big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (size - 8), "image/png")},
        timeout=60,
    )


def send_many(base: str, headers: dict, size: int) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        return list(pool.map(lambda _: multipart_upload(base, headers, size), range(UPLOADS)))


def summary(responses: list[requests.Response]) -> dict:
    found: dict = {}
    for response in responses:
        kind = response.headers.get("Content-Type", "").split(";")[0]
        key = f"{response.status_code} {kind}"
        found[key] = found.get(key, 0) + 1
    return found


def assert_all_json(responses: list[requests.Response], status: int, code: str | None) -> None:
    wanted = {f"{status} application/json": UPLOADS}
    assert summary(responses) == wanted
    for response in responses:
        body = response.json()
        assert body["message"], body
        if code:
            assert body["code"] == code, body
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), response.headers


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("no token", 401, "not_authenticated"),
        ("bad token", 401, "token_not_valid"),
        ("expired token", 401, "token_not_valid"),
        ("stale empty Bearer", 401, None),
    ],
)
def test_an_upload_with_a_refused_token_is_always_the_services_json_401(
    http, stack, gw, case, status, code
):
    tokens = client.register(http, gw, client.unique_email("refused"))
    headers = {
        "no token": {},
        "bad token": {"Authorization": "Bearer not.a.token"},
        "expired token": {"Authorization": f"Bearer {expired_token(stack, tokens)}"},
        "stale empty Bearer": {"Authorization": "Bearer "},
    }[case]
    assert_all_json(send_many(gw, headers, UNDER_THE_LIMIT), status, code)


@pytest.mark.parametrize("over_by", [300 * 1024, 8 * 1024], ids=["300KiB", "8KiB"])
def test_an_upload_over_the_limit_is_always_a_json_413(http, gw, over_by):
    """300 KiB over: refused by its length before it is sent on. 8 KiB over: the file part
    crosses the limit while the service reads it, a few KiB before the body ends."""
    tokens = client.register(http, gw, client.unique_email("toolarge"))
    responses = send_many(gw, client.bearer(tokens), MAX_UPLOAD_SIZE + over_by)
    assert_all_json(responses, 413, "upload_too_large")


@pytest.mark.parametrize(
    ("content_type", "status", "code"),
    [
        ("text/plain", 415, "unsupported_media_type"),
        ("multipart/form-data", 400, None),  # no boundary: refused before a byte is read
    ],
)
def test_a_body_refused_for_its_content_type_is_answered_in_json(
    http, gw, content_type, status, code
):
    """The token is good, so the body is streamed on; the service refuses it unread, and reads
    it to its end before answering (common.wsgi.UnreadBodyDrained)."""
    tokens = client.register(http, gw, client.unique_email("contenttype"))
    headers = client.bearer(tokens) | {"Content-Type": content_type}
    body = b"x" * UNDER_THE_LIMIT

    def post(_):
        return requests.post(f"{gw}/api/media/", headers=headers, data=body, timeout=60)

    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        responses = list(pool.map(post, range(UPLOADS)))
    assert_all_json(responses, status, code)


def test_the_service_asked_directly_answers_a_refused_upload_too(stack):
    """curl against the media service's own port: the 401 arrives, not a reset connection. The
    bodies are larger than loopback's socket buffers hold, so the client is still sending when
    the service answers."""
    responses = send_many(stack.media, {}, 8 * 1024 * 1024)
    assert_all_json(responses, 401, "not_authenticated")
