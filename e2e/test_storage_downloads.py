"""File bytes through the gateway on either storage (`make e2e`: MEDIA_ROOT; `make e2e-s3`: the
bucket, which nginx reads through presigned URLs): one of each header, the exact bytes of a
range, and, from a bucket, the bytes fetched by nginx from the store, not by the service."""

import uuid

import pytest

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
