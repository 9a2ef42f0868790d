"""The gateway against clients that misbehave on purpose or by accident (issue 12, items 6 and 9
and "also seen"): thousands of half-open connections from one address, too many requests in
progress from one address, a hundred and more headers, no Host, an unknown transfer coding,
hundreds of overlapping ranges, and the Django admin asked from the network.

Raw sockets, so the bytes on the wire are exactly the ones under test. Loopback has the whole
127.0.0.0/8 range: 127.0.0.2 plays the attacker and 127.0.0.3 everyone else.
"""

import http.client
import json
import resource
import socket
import time
from urllib.parse import urlsplit

import pytest

from devstack import client, samples

ATTACKER = "127.0.0.2"
BYSTANDER = "127.0.0.3"
# Above what the gateway held before (1,024 connections per worker, two workers here: 2,100
# half-open connections made /health fail for 20 s).
HALF_OPEN_CONNECTIONS = 2_500


def gateway_port(gw: str) -> int:
    return urlsplit(gw).port


def get_from(port: int, path: str, *, source: str, headers: dict | None = None):
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=5, source_address=(source, 0)
    )
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def many_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, HALF_OPEN_CONNECTIONS + 1024)
    if wanted < HALF_OPEN_CONNECTIONS + 100:
        pytest.fail(
            f"the test needs {HALF_OPEN_CONNECTIONS + 100} descriptors; the limit is {hard}"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_half_open_connections_from_one_address_do_not_starve_the_others(gw, many_descriptors):
    port = gateway_port(gw)
    sockets = []
    try:
        for _ in range(HALF_OPEN_CONNECTIONS):
            sock = socket.create_connection(
                ("127.0.0.1", port), timeout=5, source_address=(ATTACKER, 0)
            )
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: slow\r\nX-Slow: ")  # never finished
            sockets.append(sock)
        failures = []
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            try:
                status, _, body = get_from(port, "/health", source=BYSTANDER)
                if status != 200:
                    failures.append(f"{status} {body[:80]!r}")
            except OSError as exc:
                failures.append(repr(exc))
            time.sleep(0.2)
        assert not failures, failures[:5]

        # And they do not stay: past client_header_timeout the gateway closes them.
        time.sleep(12)
        closed = 0
        for sock in sockets[:50]:
            sock.settimeout(1)
            try:
                closed += sock.recv(1) == b""
            except (ConnectionResetError, TimeoutError, OSError):
                closed += 1
        assert closed == 50
    finally:
        for sock in sockets:
            sock.close()


def test_too_many_requests_in_progress_from_one_address_is_a_json_429(gw):
    """Requests whose headers arrived but whose bodies never do: past the per-address limit the
    next one is refused at once."""
    port = gateway_port(gw)
    held = []
    try:
        for _ in range(256):
            sock = socket.create_connection(
                ("127.0.0.1", port), timeout=5, source_address=(ATTACKER, 0)
            )
            sock.sendall(
                b"POST /api/auth/login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n"
            )
            held.append(sock)
        time.sleep(0.5)  # let nginx read every request's headers
        status, headers, body = client.raw_exchange(
            port,
            b"POST /api/auth/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Connection: close\r\n\r\n{}",
            source=ATTACKER,
        )
        assert status == 429, body
        assert headers["content-type"] == "application/json"
        assert headers["retry-after"]
        assert json.loads(body)["code"] == "throttled"
        # Another address is not affected.
        status, _, body = client.raw_exchange(
            port,
            b"GET /api/auth/ping/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            source=BYSTANDER,
        )
        assert status == 200, body
    finally:
        for sock in held:
            sock.close()


def test_a_request_with_many_headers_is_answered_in_json(http, gw):
    headers = {f"X-Extra-{n}": "1" for n in range(150)}
    response = http.get(f"{gw}/api/media/", headers=headers, timeout=20)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"
    tokens = client.register(http, gw, client.unique_email("headers"))
    listed = http.get(f"{gw}/api/media/", headers=headers | client.bearer(tokens), timeout=20)
    assert listed.status_code == 200, listed.text


def test_health_reports_the_upstreams_whatever_the_clients_headers(http, gw):
    for headers in ({f"X-Extra-{n}": "1" for n in range(150)}, {"Host": "not-allowed.example"}):
        response = http.get(f"{gw}/health", headers=headers, timeout=20)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok"


def test_an_http10_request_without_host_is_served(gw):
    port = gateway_port(gw)
    status, _, body = client.raw_exchange(port, b"GET /api/media/ping/ HTTP/1.0\r\n\r\n")
    assert status == 200, body
    assert json.loads(body) == {"ping": "pong"}
    status, _, body = client.raw_exchange(port, b"GET /health HTTP/1.0\r\n\r\n")
    assert status == 200, body
    assert json.loads(body)["status"] == "ok"


def test_an_unknown_transfer_coding_is_a_json_501(gw):
    status, headers, body = client.raw_exchange(
        gateway_port(gw),
        b"POST /api/auth/login/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert status == 501, body
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["message"]


def test_many_overlapping_ranges_get_the_file_once(http, gw):
    tokens = client.register(http, gw, client.unique_email("ranges"))
    content = samples.png_bytes(64, 64, seed=7)
    assert len(content) > 201
    media = client.upload(http, gw, tokens, content).json()
    # 201 one-byte ranges: each part of a multipart answer would carry ~80 bytes of headers.
    ranges = "bytes=" + ",".join(["0-0"] * 201)
    response = http.get(media["file"], headers={"Range": ranges}, timeout=20)
    assert response.status_code == 200, response.status_code
    assert response.content == content
    one = http.get(media["file"], headers={"Range": "bytes=2-5"}, timeout=20)
    assert one.status_code == 206
    assert one.content == content[2:6]


def test_the_admin_is_closed_to_other_addresses_by_default(gw):
    port = gateway_port(gw)
    status, headers, body = get_from(port, "/api/auth/admin/login/", source=ATTACKER)
    assert status == 403, body
    assert headers["Content-Type"] == "application/json"
    status, _, _ = get_from(port, "/api/auth/admin/login/", source="127.0.0.1")
    assert status == 200
