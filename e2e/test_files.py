"""Uploads through the gateway and downloads by signed URL, the bytes sent by nginx itself."""

import hashlib

import pytest
import requests

from devstack.client import bearer, expect, register
from devstack.client import upload as client_upload
from devstack.samples import png_bytes, wav_bytes


@pytest.fixture(scope="module")
def owner(stack) -> dict:
    with requests.Session() as http:
        return register(http, stack.gateway, "e2e-files-owner@example.com")


def upload(http, stack, tokens, content, **parts) -> requests.Response:
    """The mobile app's upload: no trailing slash, a description."""
    return client_upload(
        http,
        stack.gateway,
        tokens,
        content,
        path="/api/media",
        data={"description": "uploaded by the e2e suite"},
        **parts,
    )


def uploaded(stack, owner, content: bytes, **parts) -> tuple[dict, bytes]:
    with requests.Session() as http:
        return expect(upload(http, stack, owner, content, **parts), 201).json(), content


@pytest.fixture(scope="module")
def png_media(stack, owner) -> tuple[dict, bytes]:
    return uploaded(
        stack,
        owner,
        png_bytes(32, 16),
        name="red",
        filename="../../red.png",
        content_type="image/png",
    )


@pytest.fixture(scope="module")
def wav_media(stack, owner) -> tuple[dict, bytes]:
    return uploaded(
        stack,
        owner,
        wav_bytes(seconds=1.0),
        name="tone",
        media_type="audio",
        filename="tone.wav",
        content_type="audio/wav",
    )


def test_upload_records_the_file_facts(stack, png_media):
    media, content = png_media
    assert media["size"] == len(content)
    assert media["mime_type"] == "image/png"
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    assert (media["width"], media["height"]) == (32, 16)
    assert media["storage_path"].startswith("uploads/")
    assert ".." not in media["storage_path"]
    # Built from the host the client used: the gateway's host and port.
    assert media["file"].startswith(f"{stack.gateway}/api/media/")


def test_signed_url_serves_the_bytes_without_authorization(png_media):
    media, content = png_media
    response = requests.get(media["file"], timeout=10)  # a fresh client, no token
    assert response.status_code == 200, response.text
    assert response.content == content
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_bytes_come_from_nginx_not_django(stack, png_media):
    media, content = png_media
    through_gateway = requests.get(media["file"], timeout=10)
    # nginx's static file handler answers these; Django's empty X-Accel-Redirect answer does not.
    assert through_gateway.headers["Accept-Ranges"] == "bytes"
    assert through_gateway.headers.get("ETag")
    assert "X-Accel-Redirect" not in through_gateway.headers

    assert through_gateway.content == content


def test_the_media_service_asked_directly_streams_the_bytes(stack, png_media):
    """curl against the media service's own port while the gateway runs: the bytes, not an
    empty answer carrying an X-Accel-Redirect that only nginx understands."""
    media, content = png_media
    direct_url = media["file"].replace(stack.gateway, stack.media)
    direct = requests.get(direct_url, headers={"Host": stack.gateway_host}, timeout=10)
    assert direct.status_code == 200, direct.text
    assert "X-Accel-Redirect" not in direct.headers
    assert direct.content == content
    ranged = requests.get(
        direct_url, headers={"Host": stack.gateway_host, "Range": "bytes=1-4"}, timeout=10
    )
    assert ranged.status_code == 206, ranged.text
    assert ranged.content == content[1:5]


def test_tampered_signature_is_403_json(png_media):
    media, _ = png_media
    tampered = media["file"].replace("signature=", "signature=x")
    response = requests.get(tampered, timeout=10)
    assert response.status_code == 403, response.text
    assert response.json()["message"]


def test_protected_location_is_not_reachable_from_outside(stack, png_media):
    media, _ = png_media
    response = requests.get(f"{stack.gateway}/_protected_media/{media['storage_path']}", timeout=10)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_range_request_on_audio_is_206_with_the_right_bytes(wav_media):
    media, content = wav_media
    response = requests.get(media["file"], headers={"Range": "bytes=100-199"}, timeout=10)
    assert response.status_code == 206, response.text
    assert response.headers["Content-Range"] == f"bytes 100-199/{len(content)}"
    assert response.content == content[100:200]

    tail = requests.get(media["file"], headers={"Range": "bytes=-16"}, timeout=10)
    assert tail.status_code == 206
    assert tail.content == content[-16:]


def test_owner_download_with_bearer_token(http, stack, owner, png_media):
    media, content = png_media
    response = http.get(
        f"{stack.gateway}/api/media/{media['id']}/file/", headers=bearer(owner), timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.content == content


def test_upload_just_over_the_limit_is_refused_by_the_media_service(http, stack, owner):
    before = http.get(f"{stack.gateway}/api/media", headers=bearer(owner), timeout=10).json()
    response = upload(
        http,
        stack,
        owner,
        b"\x89PNG" + b"\0" * (stack.max_upload_size - 3),
        name="big",
        filename="big.png",
        content_type="image/png",
        headers={"X-Request-ID": "e2e-upload-just-over"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "upload_too_large"
    assert "upstream_status=413" in stack.access_log_line("e2e-upload-just-over")
    after = http.get(f"{stack.gateway}/api/media", headers=bearer(owner), timeout=10).json()
    assert after["count"] == before["count"]


def test_body_far_over_the_limit_is_refused_by_the_gateway(http, stack, owner):
    response = http.post(
        f"{stack.gateway}/api/media",
        headers=bearer(owner) | {"X-Request-ID": "e2e-upload-far-over"},
        data=b"\0" * (stack.max_upload_size + 2 * 1024 * 1024),
        timeout=30,
    )
    assert response.status_code == 413, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "upload_too_large"
    assert body["detail"]
    assert body["message"]
    assert "upstream=- " in stack.access_log_line("e2e-upload-far-over")  # never proxied
