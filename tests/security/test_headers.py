"""API8 security misconfiguration: every answer of the stack — successes, every error the
services or the gateway make, file bytes — is JSON where it is an error, and carries
X-Content-Type-Options, X-Frame-Options and Referrer-Policy, with no server version.

The `http` session checks the headers of every response of every test in this suite; the tests
here reach the answers the others do not."""

import pytest
import requests
from conftest import SECURITY_HEADERS, security_header_problems

from devstack import client


def assert_json_error_with_headers(status, headers, body, expected_status):
    assert status == expected_status, (status, body[:300])
    assert headers.get("content-type", "").startswith("application/json"), (headers, body[:300])
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name.lower(), "").lower() == value.lower(), (name, headers)
    assert not any(ch.isdigit() for ch in headers.get("server", "")), headers


def test_every_kind_of_answer_carries_the_headers(http, gw, victim):
    """Through the session hook: 200, 201, 204, 206, 400, 401, 403, 404, 405, 413 and file bytes."""
    headers = victim.headers
    http.get(f"{gw}/health", timeout=20)
    http.get(f"{gw}/api/auth/schema/", timeout=20)
    http.get(f"{gw}/api/media/schema/", timeout=20)
    http.get(f"{gw}/api/auth/docs/", timeout=20)
    http.get(f"{gw}/api/media/docs/", timeout=20)
    http.get(f"{gw}/api/media/", timeout=20)  # 401
    http.get(f"{gw}/nowhere", timeout=20)  # gateway 404
    http.delete(f"{gw}/api/auth/login/", timeout=20)  # 405
    http.post(f"{gw}/api/auth/login/", data="{", timeout=20)  # 400
    created = http.post(
        f"{gw}/api/media/", headers=headers, json={"name": "h", "type": "audio"}, timeout=20
    )
    assert created.status_code == 201
    assert (
        http.delete(f"{gw}/api/media/{created.json()['id']}/", headers=headers).status_code == 204
    )
    file_bytes = http.get(victim.media["file"], timeout=20)  # X-Accel-Redirect, sent by nginx
    assert file_bytes.status_code == 200
    ranged = http.get(victim.media["file"], headers={"Range": "bytes=0-9"}, timeout=20)
    assert ranged.status_code == 206
    own = http.get(f"{gw}/api/media/{victim.media['id']}/file/", headers=headers, timeout=20)
    assert own.status_code in (200, 302)
    tampered = http.get(victim.media["file"].replace("signature=", "signature=0"), timeout=20)
    assert tampered.status_code == 403
    options = http.options(
        f"{gw}/api/media/",
        headers={"Origin": "http://example.com", "Access-Control-Request-Method": "POST"},
        timeout=20,
    )
    assert options.status_code in (200, 204)


def test_file_bytes_are_not_sniffable_or_framable(http, victim):
    response = http.get(victim.media["file"], timeout=20)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"] == "image/png"
    assert "X-Accel-Redirect" not in response.headers


def test_direct_services_carry_the_headers_too(http, stack):
    """Also without the gateway (a developer's run_local.sh, a misrouted proxy)."""
    with_problems = {}
    for url in (
        f"{stack.auth}/api/auth/login/",
        f"{stack.auth}/api/auth/profile/",
        f"{stack.media}/api/media/",
        f"{stack.media}/api/media/nowhere/",
    ):
        # A plain request: the gateway's hook does not apply to direct answers.
        response = requests.get(url, timeout=20)
        problems = security_header_problems(response)
        if problems:
            with_problems[url] = problems
    assert not with_problems


@pytest.mark.parametrize(
    ("label", "request_bytes", "expected"),
    [
        ("unknown path", b"GET /wp-admin/ HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        ("garbage method", b"BREW /api/media/ HTTP/1.1\r\nHost: x\r\n\r\n", 401),
        ("TRACE", b"TRACE /api/auth/login/ HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        ("no Host on HTTP/1.1", b"GET /api/media/ HTTP/1.1\r\n\r\n", 400),
        pytest.param(
            "header too large",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
            400,
        ),
        pytest.param(
            "request line too long for nginx",
            b"GET /api/media/?" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            414,
        ),
        pytest.param(
            "bad percent-encoding",
            b"GET /api/media/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
            400,
        ),
    ],
)
def test_gateway_errors_are_json(stack, label, request_bytes, expected):
    request = request_bytes.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
    status, headers, body = client.raw_exchange(stack.ports[0], request)
    assert_json_error_with_headers(status, headers, body, expected)


# Bug 2 in docs/reliability.md: gunicorn's own HTML 414 reached the client.
def test_request_line_between_4k_and_8k_is_a_json_error(stack):
    """nginx accepts request lines up to 8 KiB, gunicorn only 4094 bytes: the gap reaches
    gunicorn, whose HTML 414 page goes through the gateway untouched."""
    path = b"/api/media/?search=" + b"a" * 5000
    status, headers, body = client.raw_exchange(
        stack.ports[0], b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status in (400, 401, 414)
    assert headers.get("content-type", "").startswith("application/json"), body[:300]


def test_nul_byte_in_the_path_is_a_json_400(stack):
    status, headers, body = client.raw_exchange(
        stack.ports[0], b"GET /api/media/%00/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert_json_error_with_headers(status, headers, body, 400)
