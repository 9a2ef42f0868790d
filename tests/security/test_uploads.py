"""API8/API4 upload attacks: names, content the policy refuses, decompression bombs, oversize
and slow bodies. Whatever is refused leaves neither a row nor a file; whatever is stored is stored
under a server-chosen name and served with its sniffed type and `nosniff`."""

import os
import re
import socket
import struct
import time
import zlib
from pathlib import Path

import pytest
import requests
from conftest import SECURITY_HEADERS
from support.stored import DERIVATIVE

from devstack import client, samples

STORED_PATH = re.compile(r"^uploads/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.[a-z0-9]{1,8}$")


def stored_files(stack) -> set[Path]:
    """Every file under MEDIA_ROOT but derivatives (the job worker makes those of earlier
    uploads at its own pace): the uploads, and temporary files once they should be gone.

    A request's temporary upload is removed when the worker closes the request, which gunicorn
    does just after sending the answer; so temporary files get a few seconds to disappear.
    """
    incoming = stack.media_root / ".incoming"
    deadline = time.monotonic() + 5
    while any(incoming.glob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {
        path
        for path in stack.media_root.rglob("*")
        if path.is_file() and not DERIVATIVE.match(path.relative_to(stack.media_root).as_posix())
    }


def media_count(http, gw, tokens) -> int:
    total = 0
    for trash in ("false", "true"):
        response = http.get(
            f"{gw}/api/media/?is_deleted={trash}", headers=client.bearer(tokens), timeout=20
        )
        total += response.json()["count"]
    return total


@pytest.fixture
def uploader(http, gw):
    return client.register(http, gw, client.unique_email("upl"))


def assert_refused_leaving_nothing(http, stack, tokens, response, statuses=(400,)):
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    assert response.json().get("message"), response.text
    assert media_count(http, stack.gateway, tokens) == 0


def download(http, media: dict) -> requests.Response:
    response = http.get(media["file"], timeout=client.TIMEOUT)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/passwd.png",
        "..\\..\\windows\\win.ini.png",
        "/etc/passwd",
        "....//....//tmp/x.png",
        "%2e%2e%2f%2e%2e%2fescape.png",
        "x.php.png",
        "shell.png.php",
        "a" * 300 + ".png",
        "\u202egnp.exe",
        "name\r\nX-Injected: 1.png",
        ".htaccess",
        "",
    ],
)
def test_client_file_name_never_becomes_a_path(http, stack, uploader, filename):
    before = stored_files(stack)
    content = samples.png_bytes(seed=len(filename) % 200)
    response = client.upload(http, stack.gateway, uploader, content, filename=filename)
    assert response.status_code in (201, 400), (filename, response.status_code, response.text)
    after = stored_files(stack)
    if response.status_code == 400:
        assert after == before
        return
    media = response.json()
    assert STORED_PATH.match(media["storage_path"]), media["storage_path"]
    assert media["storage_path"].endswith(".png")
    new = after - before
    assert [p.relative_to(stack.media_root).as_posix() for p in new] == [media["storage_path"]]
    got = download(http, media)
    assert got.content == content
    assert got.headers["Content-Type"] == "image/png"
    disposition = got.headers.get("Content-Disposition", "")
    assert "\n" not in disposition
    assert ".." not in disposition
    assert "/" not in disposition
    assert "X-Injected" not in got.headers
    for escaped in (stack.workdir / "etc", stack.media_root.parent / "passwd.png"):
        assert not escaped.exists(), escaped


@pytest.mark.parametrize(
    ("label", "content", "media_type", "filename"),
    [
        ("php behind a double extension", b"<?php system($_GET['c']); ?>\n", "image", "x.php.png"),
        ("html declared image", b"<!doctype html><script>alert(1)</script>", "image", "x.png"),
        (
            "svg with script",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image",
            "x.svg",
        ),
        (
            "svg with xml declaration",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "image",
            "x.png",
        ),
        (
            "xhtml",
            b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>',
            "image",
            "x.png",
        ),
        ("plain text declared audio", b"just some text\n" * 20, "audio", "x.mp3"),
        ("elf executable", b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "video", "x.mp4"),
        ("zip archive", b"PK\x03\x04" + b"\x00" * 200, "image", "x.png"),
        ("pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", "image", "x.png"),
        ("png declared video", samples.png_bytes(), "video", "x.mp4"),
        ("png declared audio", samples.png_bytes(), "audio", "x.wav"),
        ("wav declared image", samples.wav_bytes(0.1), "image", "x.png"),
        ("empty file", b"", "image", "x.png"),
    ],
)
def test_refused_content_leaves_nothing(
    http, stack, uploader, label, content, media_type, filename
):
    before = stored_files(stack)
    response = client.upload(
        http,
        stack.gateway,
        uploader,
        content,
        media_type=media_type,
        filename=filename,
        content_type="image/png",
    )
    assert_refused_leaving_nothing(http, stack, uploader, response)
    assert stored_files(stack) == before, label


@pytest.mark.parametrize(
    ("label", "content"),
    [
        (
            "gif with html after the trailer",
            samples.gif_bytes() + b"<html><script>alert(1)</script>",
        ),
        (
            "gif with script in a comment",
            samples.gif_bytes()[:-1] + b"!\xfe\x1f<script>alert(1)</script>;",
        ),
        ("png with html in a text chunk", None),
    ],
)
def test_polyglot_is_refused_or_served_as_an_image(http, stack, uploader, label, content):
    if content is None:
        png = samples.png_bytes()
        text = samples.png_chunk(b"tEXt", b"Comment\x00<html><script>alert(1)</script></html>")
        content = png[:-12] + text + png[-12:]
    response = client.upload(http, stack.gateway, uploader, content, filename="x.html")
    assert response.status_code in (201, 400), (label, response.text)
    if response.status_code == 400:
        assert media_count(http, stack.gateway, uploader) == 0
        return
    media = response.json()
    assert media["mime_type"].startswith("image/"), media
    assert "html" not in media["storage_path"]
    for got in (
        download(http, media),
        http.get(
            f"{stack.gateway}/api/media/{media['id']}/file/",
            headers=client.bearer(uploader),
            timeout=20,
        ),
    ):
        assert got.status_code == 200, got.text
        assert got.headers["Content-Type"].startswith("image/"), got.headers
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert got.content == content


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG that claims `width` x `height` pixels (one compressed row of zeros)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return samples.png_from_chunks(header, zlib.compress(b"\x00" * min(width + 1, 65_536), 9))


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (100_000, 100_000),  # 10^10 pixels: past twice Pillow's limit (an error)
        (10_000, 9_500),  # 95 M pixels: past the limit, under twice it (a warning, refused too)
        (2**31 - 1, 2**31 - 1),
    ],
)
def test_decompression_bomb_image_is_refused(http, stack, uploader, width, height):
    content = bomb_png(width, height)
    assert len(content) < 200_000
    before = stored_files(stack)
    started = time.monotonic()
    response = client.upload(http, stack.gateway, uploader, content)
    assert time.monotonic() - started < 10
    assert_refused_leaving_nothing(http, stack, uploader, response)
    assert stored_files(stack) == before


def test_upload_over_the_limit_is_413_and_leaves_nothing(http, stack, uploader):
    before = stored_files(stack)
    just_over = b"\x89PNG\r\n\x1a\n" + os.urandom(stack.max_upload_size + 1024)
    far_over = b"\x89PNG\r\n\x1a\n" + b"\x00" * (stack.max_upload_size * 4)
    for content in (just_over, far_over):
        response = client.upload(http, stack.gateway, uploader, content)
        assert_refused_leaving_nothing(http, stack, uploader, response, statuses=(413,))
    assert stored_files(stack) == before


def test_oversize_json_body_is_refused(http, stack, uploader):
    body = b'{"name": "' + b"a" * (stack.max_upload_size * 3) + b'", "type": "image"}'
    for url in (f"{stack.gateway}/api/media/", f"{stack.gateway}/api/auth/register/"):
        response = http.post(
            url,
            headers={**client.bearer(uploader), "Content-Type": "application/json"},
            data=body,
            timeout=60,
        )
        assert response.status_code in (400, 413), (url, response.status_code, response.text)
        assert response.headers["Content-Type"].startswith("application/json")
    assert media_count(http, stack.gateway, uploader) == 0


def test_lying_content_length_is_refused(http, stack, uploader):
    """A Content-Length past the gateway's body limit is refused before any body is read (a
    body that is merely shorter than its Content-Length is e2e's
    test_upload_cut_off_by_its_client_stores_nothing)."""
    with socket.create_connection(("127.0.0.1", stack.ports[0]), timeout=10) as sock:
        sock.sendall(
            b"POST /api/media/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {uploader['access']}\r\n".encode()
            + b"Content-Type: multipart/form-data; boundary=xx\r\n"
            + b"Content-Length: 999999999999\r\nConnection: close\r\n\r\n--xx\r\n"
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"application/json" in answer


def test_slow_bodies_do_not_starve_the_service(http, stack, uploader):
    """Slowloris, bounded: 40 connections send headers and a few bytes of a body, then stall.
    Meanwhile normal requests are answered at once (the gateway streams at most
    MEDIA_STREAMED_UPLOADS bodies to the media threads and holds the rest itself), and nothing
    is stored."""
    before = stored_files(stack)
    slow = []
    try:
        for _ in range(40):
            sock = socket.create_connection(("127.0.0.1", stack.ports[0]), timeout=5)
            sock.sendall(
                b"POST /api/media/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + f"Authorization: Bearer {uploader['access']}\r\n".encode()
                + b"Content-Type: multipart/form-data; boundary=xx\r\n"
                + b"Content-Length: 100000\r\n\r\n--xx\r\nContent-Disposition: form-data; "
            )
            slow.append(sock)
        time.sleep(1)
        for _ in range(10):
            started = time.monotonic()
            response = http.get(
                f"{stack.gateway}/api/media/", headers=client.bearer(uploader), timeout=10
            )
            assert response.status_code == 200, response.text
            assert time.monotonic() - started < 2
        for sock in slow:
            sock.sendall(b"name=")
        response = client.upload(http, stack.gateway, uploader, samples.png_bytes(seed=3))
        assert response.status_code == 201, response.text
        http.delete(
            f"{stack.gateway}/api/media/{response.json()['id']}/",
            headers=client.bearer(uploader),
            timeout=20,
        )
    finally:
        for sock in slow:
            sock.close()
    new = {p.relative_to(stack.media_root).as_posix() for p in stored_files(stack) - before}
    assert new == {response.json()["storage_path"]}


@pytest.mark.slow
def test_slow_headers_are_cut_off_by_the_gateway(stack):
    """A connection that never finishes its headers is closed by nginx (reset: the connection
    timed out), not held for ever (client_header_timeout); bounded at 40 s."""
    with socket.create_connection(("127.0.0.1", stack.ports[0]), timeout=40) as sock:
        sock.sendall(b"GET /api/media/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        try:
            data = sock.recv(4096)
        except TimeoutError:
            pytest.fail("the gateway kept a stalled header open for 40 s")
        except ConnectionResetError:
            data = b""
        assert data == b"" or data.startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < 40


# Bug 12 in docs/reliability.md: nginx's own 416 for a file it sends was an HTML page.
@pytest.mark.parametrize(
    "byte_range",
    [
        "bytes=0-9",
        "bytes=-5",
        "bytes=5-",
        "bytes=0-99999999999999999999999",
        "bytes=9-0",
        "bytes=0-1,2-3,4-5",
        "bytes=" + ",".join(f"{n}-{n}" for n in range(200)),
        "bytes=abc",
        "items=0-1",
        "bytes=\u00b2-",
        "bytes=99999999999999999999999-",
        "bytes=-0",
        "bytes=100000-",
    ],
)
def test_hostile_ranges_are_served_or_refused_in_json(stack, uploader, byte_range):
    content = samples.png_bytes(seed=42)
    with requests.Session() as plain:  # the headers are checked here, for every status
        media = client.upload(plain, stack.gateway, uploader, content).json()
        response = plain.get(media["file"], headers={"Range": byte_range}, timeout=client.TIMEOUT)
    assert response.status_code in (200, 206, 416), (byte_range, response.status_code)
    for name, value in SECURITY_HEADERS.items():
        # nginx's own 416 repeats them (its special response runs `add_header` twice): identical
        # values read as one in browsers (Fetch, HTML's X-Frame-Options parsing).
        assert set(response.raw.headers.getlist(name)) == {value}, (name, response.raw.headers)
    if response.status_code == 200:
        assert response.content == content
    elif response.status_code == 206 and "multipart" not in response.headers["Content-Type"]:
        first, last = response.headers["Content-Range"].split()[1].split("/")[0].split("-")
        assert response.content == content[int(first) : int(last) + 1]
    elif response.status_code == 416:
        assert response.headers["Content-Type"].startswith("application/json"), response.text
        assert response.json()["message"]
