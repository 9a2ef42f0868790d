"""File bytes through the gateway on either storage (`make e2e`: MEDIA_ROOT; `make e2e-s3`: the
bucket, which nginx reads through presigned URLs): one of each header, the exact bytes of a
range, and, from a bucket, the bytes fetched by nginx from the store, not by the service; the
gateway's own headers and the service's CORS on them, and a Range answered alike through the
gateway and by the service asked directly."""

import uuid

import pytest
import requests

from devstack import client, samples
from devstack.client import expect

ONCE = ("Content-Type", "Content-Disposition", "Cache-Control", "X-Content-Type-Options")


@pytest.fixture(scope="module")
def sound(http, stack):
    tokens = client.register(http, stack.gateway)
    content = samples.wav_bytes(3)
    uploaded = client.upload(http, stack.gateway, tokens, content, media_type="audio")
    return content, expect(uploaded, 201).json()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", slice(0, 10)),
        ("bytes=1000-", slice(1000, None)),
        ("bytes=-7", slice(-7, None)),
    ],
)
def test_a_range_through_the_gateway_is_byte_exact_with_each_header_once(
    http, sound, header, expected
):
    content, media = sound

    response = expect(http.get(media["file"], headers={"Range": header}), 206)

    assert response.content == content[expected]
    for name in ONCE:
        assert len(response.raw.headers.getlist(name)) == 1, (name, response.headers)
    assert response.headers["Content-Type"] == "audio/x-wav"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Range"].endswith(f"/{len(content)}")


def test_the_whole_file_through_the_gateway(http, sound):
    content, media = sound
    response = expect(http.get(media["file"]), 200)
    assert response.content == content
    assert response.headers["Cache-Control"].startswith("private, max-age=")


def test_the_service_only_signs_and_nginx_sends_the_range(http, stack, sound, object_store):
    _, media = sound
    request_id = f"e2e-{uuid.uuid4().hex}"

    expect(http.get(media["file"], headers={"Range": "bytes=0-3", "X-Request-ID": request_id}), 206)

    line = stack.access_log_line(request_id)
    # The service answered 200 with an empty body; the 206 is nginx's (from MEDIA_ROOT, or the
    # store's answer to nginx's presigned GET).
    assert '" 206 4 ' in line
    assert "upstream_status=200" in line
    if object_store is not None:
        key = f"{stack.env['S3_PREFIX']}/{media['storage_path']}"
        fetches = [
            entry
            for entry in object_store.log_path.read_text(errors="replace").splitlines()
            if key in entry and "GET" in entry
        ]
        # A presigned GET (the signature in the query), as the gateway makes it; the service's
        # own reads sign in the Authorization header.
        assert fetches
        assert "X-Amz-Signature=" in fetches[-1]


ORIGIN = "http://localhost:19006"
# The gateway's own headers (its template's server block) and the service's CORS headers.
GATEWAYS_OWN = {"X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
CORS = ("Access-Control-Allow-Origin", "Access-Control-Expose-Headers")


def direct(stack, media: dict) -> tuple[str, dict]:
    """The signed URL on the media service's own port, and the Host it was signed for."""
    return media["file"].replace(stack.gateway, stack.media), {"Host": stack.gateway_host}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("headers", [{}, {"Range": "bytes=0-9"}], ids=["whole", "range"])
def test_a_file_answer_carries_the_gateways_headers_and_the_services_cors(
    stack, sound, method, headers
):
    """nginx keeps few of the service's headers across X-Accel-Redirect, and a location with
    an add_header of its own drops the server's: each must still be there, once."""
    _, media = sound
    request_id = f"e2e-{uuid.uuid4().hex}"
    through_gateway = requests.request(
        method,
        media["file"],
        headers={"Origin": ORIGIN, "X-Request-ID": request_id, **headers},
        timeout=10,
    )
    url, host = direct(stack, media)
    from_the_service = requests.request(
        method, url, headers={"Origin": ORIGIN, **host, **headers}, timeout=10
    )

    assert through_gateway.status_code == from_the_service.status_code
    assert through_gateway.status_code in (200, 206)
    for name, value in {**GATEWAYS_OWN, "X-Request-ID": request_id}.items():
        assert through_gateway.raw.headers.getlist(name) == [value], (name, through_gateway.headers)
    for name in CORS:
        assert through_gateway.raw.headers.getlist(name) == [from_the_service.headers[name]], (
            name,
            through_gateway.headers,
        )
    assert "origin" in through_gateway.headers["Vary"].lower()
    assert len(through_gateway.raw.headers.getlist("Vary")) == 1


def answer_of(stack, media: dict, path: str, headers: dict) -> requests.Response:
    if path == "gateway":
        return requests.get(media["file"], headers=headers, timeout=10)
    url, host = direct(stack, media)
    return requests.get(url, headers={**host, **headers}, timeout=10)


@pytest.mark.parametrize("path", ["gateway", "direct"])
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Range": "Bytes=0-3"}, slice(0, 4)),  # units are case-insensitive (RFC 9110)
        ({"Range": "bytes=2-5,999999999-"}, slice(2, 6)),  # a range past the end is left out
        ({"Range": "bytes=0-3", "If-Range": '"an-old-etag"'}, slice(None)),  # the whole file
        ({"Range": "bytes=5-3", "If-Range": '"an-old-etag"'}, slice(None)),
        ({"Range": "bytes=0-1,4-5"}, slice(None)),  # one range at most is sent
        ({"Range": "items=0-3"}, slice(None)),
    ],
    ids=["unit-case", "one-past-the-end", "if-range", "if-range-bad-range", "two", "other-unit"],
)
def test_a_range_is_answered_alike_through_the_gateway_and_by_the_service(
    stack, sound, path, headers, expected
):
    content, media = sound
    response = answer_of(stack, media, path, headers)
    assert response.status_code == (200 if expected == slice(None) else 206), response.headers
    assert response.content == content[expected]


@pytest.mark.parametrize("path", ["gateway", "direct"])
@pytest.mark.parametrize("header", ["bytes=5-3", "bytes=x-y", "bytes=999999999-", "bytes=-0"])
def test_a_refused_range_is_a_bare_json_416_through_the_gateway_and_from_the_service(
    stack, sound, path, header
):
    """RFC 9110 lets a server ignore or refuse a malformed range; nginx refuses it, so the
    service does too. An error carries none of the file's headers and is kept by no cache."""
    content, media = sound
    response = answer_of(stack, media, path, {"Range": header, "Origin": ORIGIN})
    assert response.status_code == 416, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == "range_not_satisfiable"
    assert response.headers["Content-Range"] == f"bytes */{len(content)}"
    assert response.raw.headers.getlist("Cache-Control") == ["no-store"]
    for name in ("Content-Disposition", "ETag", "Last-Modified"):
        assert name not in response.headers, (name, response.headers)
    assert response.headers["Access-Control-Allow-Origin"]
