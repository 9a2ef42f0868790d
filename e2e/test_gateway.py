"""What the gateway itself answers: /health, JSON errors, security headers, request ids,
forwarded host, CORS preflight."""

import contextlib
import json
import re
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from devstack.client import RawUpload, bearer, raw_exchange, register
from devstack.nodes import gateway_log, start_gateway, stop, wait_for_media
from devstack.ports import free_ports
from devstack.samples import wav_bytes

JSON = "application/json"


def assert_drf_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(JSON)
    body = response.json()
    assert body["code"] == code
    assert body["detail"]
    assert body["message"]


def test_health_reports_every_upstream(http, stack):
    response = http.get(f"{stack.gateway}/health", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == JSON
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert body["upstreams"]["auth"]["status"] == "ok"
    assert body["upstreams"]["media"]["status"] == "ok"
    assert body["upstreams"]["media"]["database"] == "ok"


@pytest.mark.parametrize("path", ["/nope", "/api/nope", "/static/app.js", "/health/extra"])
def test_unknown_paths_are_json_404_from_the_gateway(http, stack, path):
    assert_drf_error(http.get(f"{stack.gateway}{path}", timeout=10), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/auth/nope/", "/api/media/nope/also/"])
def test_unknown_service_paths_are_json_404_from_the_service(http, stack, path):
    response = http.get(f"{stack.gateway}{path}", timeout=10)
    assert response.status_code == 404, response.text
    assert response.json()["message"]


@pytest.mark.parametrize("path", ["/health", "/nope", "/api/auth/ping/", "/api/media/ping/"])
def test_security_headers_appear_once_and_no_version_leaks(http, stack, path):
    headers = http.get(f"{stack.gateway}{path}", timeout=10).headers
    # requests joins repeated headers with ", ": an exact value proves there is one.
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Server"] == "nginx"


def test_request_id_is_passed_through_or_generated(http, stack):
    passed = http.get(
        f"{stack.gateway}/api/media/ping/", headers={"X-Request-ID": "e2e-trace-42"}, timeout=10
    )
    assert passed.headers["X-Request-ID"] == "e2e-trace-42"
    assert "upstream_status=200" in stack.access_log_line("e2e-trace-42")
    # ...and the service logged it too (gunicorn's access log, in the run script's output).
    deadline = time.monotonic() + 5
    while "rid=e2e-trace-42" not in stack.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "rid=e2e-trace-42" in stack.log()

    generated = http.get(f"{stack.gateway}/api/auth/ping/", timeout=10)
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])

    unsafe = http.get(
        f"{stack.gateway}/api/auth/ping/", headers={"X-Request-ID": "bad id\tforged"}, timeout=10
    )
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["X-Request-ID"])


@pytest.mark.parametrize("host", [None, "192.168.1.20:3000"])
def test_links_are_built_on_the_host_the_client_used(http, stack, unique_email, host):
    tokens = register(http, stack.gateway, unique_email)
    for name in ("one", "two"):
        http.post(
            f"{stack.gateway}/api/media",
            headers=bearer(tokens),
            json={"name": name, "type": "image", "size": 1, "storage_path": "x"},
            timeout=10,
        )
    headers = bearer(tokens) | ({"Host": host} if host else {})
    page = http.get(f"{stack.gateway}/api/media?page_size=1", headers=headers, timeout=10)
    assert page.status_code == 200, page.text
    expected = f"http://{host or stack.gateway_host}/api/media"
    assert page.json()["next"].startswith(expected)


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/auth/login/", "POST"),
        ("/api/auth/profile/", "PATCH"),
        ("/api/media", "POST"),
        ("/api/media/", "GET"),
    ],
)
def test_cors_preflight_is_answered(http, stack, path, method):
    origin = "http://localhost:19006"
    response = http.options(
        f"{stack.gateway}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] in (origin, "*")
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed
    assert method in response.headers["Access-Control-Allow-Methods"]


def test_cors_headers_on_actual_responses(http, stack):
    origin = "http://localhost:19006"
    response = http.get(f"{stack.gateway}/api/media/ping/", headers={"Origin": origin}, timeout=10)
    assert response.headers["Access-Control-Allow-Origin"] in (origin, "*")
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]


def test_the_gateways_own_errors_carry_cors_so_a_browser_sees_them(http, stack):
    # A token refused before an upload's body (the gateway's 401), an unknown path (its 404):
    # without CORS a browser on another origin sees a network error, not the status, and
    # cannot refresh its token. The stack allows every origin (no CORS_ALLOWED_ORIGINS).
    origin = "http://localhost:19006"
    refused = http.patch(
        f"{stack.gateway}/api/media/uploads/{'0' * 32}/",
        data=b"chunk",
        headers={
            "Origin": origin,
            "Authorization": "Bearer not-a-token",
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=10,
    )
    assert refused.status_code == 401, refused.text
    assert refused.headers.get("Access-Control-Allow-Origin") == "*"
    unknown = http.get(f"{stack.gateway}/nowhere", headers={"Origin": origin}, timeout=10)
    assert_drf_error(unknown, 404, "not_found")
    assert unknown.headers.get("Access-Control-Allow-Origin") == "*"
    # As the services do: no Origin, no CORS headers.
    assert "Access-Control-Allow-Origin" not in http.get(f"{stack.gateway}/nowhere").headers


@contextlib.contextmanager
def gateway_over_the_stack(stack, workdir, **env: str) -> Iterator[tuple[str, int]]:
    """Another gateway over the stack's media node, rendered with `env` over the stack's
    settings, started and waited for: its URL and port; stopped at the end."""
    (port,) = free_ports(1)
    gateway = start_gateway(stack, workdir, port, [stack.ports.media], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_for_media(url, 30), gateway_log(workdir, port).read_text()[-3000:]
        yield url, port
    finally:
        stop(gateway)


def test_the_gateways_own_errors_carry_cors_for_listed_origins_only(stack, tmp_path):
    listed, app = "https://app.example.com", "capacitor://localhost"  # a web app, a mobile one
    origins = f"{listed},{app},http://[::1]:5173"
    with gateway_over_the_stack(stack, tmp_path, CORS_ALLOWED_ORIGINS=origins) as (url, _):

        def allowed_origin(origin: str) -> str | None:
            answer = requests.get(f"{url}/nowhere", headers={"Origin": origin}, timeout=10)
            assert answer.status_code == 404
            return answer.headers.get("Access-Control-Allow-Origin")

        assert allowed_origin(listed) == listed
        assert allowed_origin(app) == app
        assert allowed_origin("https://elsewhere.example.com") is None


def test_past_its_limit_an_address_gets_a_json_429_on_the_media_create_paths_too(
    http, stack, unique_email, tmp_path
):
    """The create paths (the list's too) check two limits at once, which nginx answers with one
    status: past MEDIA_STREAMED_UPLOADS an upload is buffered first, past
    GATEWAY_CONNECTIONS_PER_ADDRESS the request is the JSON 429 of every other path."""
    tokens = register(http, stack.gateway, unique_email)
    held = []
    with contextlib.ExitStack() as cleanup:
        url, port = cleanup.enter_context(
            gateway_over_the_stack(
                stack, tmp_path, GATEWAY_CONNECTIONS_PER_ADDRESS="2", MEDIA_STREAMED_UPLOADS="1"
            )
        )
        cleanup.callback(lambda: [connection.close() for connection in held])
        # The address's requests in progress: an upload streamed, one past the streamed cap
        # (buffered), a sign-in whose body never comes (nginx counts these two: the buffered
        # upload was refused by the cap, and nginx checks the limits of a request once).
        for _ in range(2):
            upload = RawUpload(url, "/api/media/", tokens["access"], wav_bytes(1.0), name="held")
            upload.send(len(upload.body) // 2)
            held.append(upload)
        sign_in = socket.create_connection(("127.0.0.1", port), timeout=10)
        held.append(sign_in)
        sign_in.sendall(
            b"POST /api/auth/login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n"
        )
        time.sleep(0.5)  # let nginx read every request's headers

        past_the_limit = RawUpload(url, "/api/media/", tokens["access"], b"x", name="one more")
        held.append(past_the_limit)
        past_the_limit.send()
        refused_upload = past_the_limit.answer()
        status, headers, body = raw_exchange(
            port,
            f"GET /api/media/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tokens['access']}"
            "\r\nConnection: close\r\n\r\n".encode(),
        )
        other_address, _, _ = raw_exchange(
            port,
            b"GET /api/media/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            source="127.0.0.3",
        )

        assert refused_upload.status == 429, refused_upload.body
        assert json.loads(refused_upload.body)["code"] == "throttled"
        assert status == 429, body
        assert headers["content-type"] == "application/json"
        assert headers["retry-after"]
        assert json.loads(body)["code"] == "throttled"
        assert other_address == 401  # another address is not affected
        # Both uploads go on, the streamed one and the buffered one.
        for upload in held[:2]:
            upload.send()
        assert [upload.answer().status for upload in held[:2]] == [201, 201]


def test_the_web_apps_pictures_may_come_from_the_store_it_is_told_of(stack, tmp_path):
    # With S3_REDIRECT_DOWNLOADS a signed URL redirects to the store, and the page's CSP
    # applies to the redirect's target: the store must be named in img-src and media-src.
    store = "http://127.0.0.1:9000"
    with gateway_over_the_stack(stack, tmp_path, GATEWAY_WEB_MEDIA_ORIGINS=store) as (url, _):
        policy = requests.get(f"{url}/", timeout=10).headers["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert store in directives["img-src"].split()
        assert store in directives["media-src"].split()
        assert directives["connect-src"] == "'self'"  # nothing else opened up


def test_requests_nginx_cannot_read_get_json_errors_too(http, stack):
    too_long = http.get(f"{stack.gateway}/api/media/{'x' * 10_000}", timeout=10)
    assert_drf_error(too_long, 414, "uri_too_long")
    huge_headers = http.get(
        f"{stack.gateway}/api/auth/ping/", headers={"Cookie": "x" * 20_000}, timeout=10
    )
    assert_drf_error(huge_headers, 400, "bad_request")


def test_api_docs_index_points_at_each_services_documentation(http, stack):
    index = http.get(f"{stack.gateway}/api/docs", timeout=10)
    assert index.status_code == 200, index.text
    assert index.history[0].status_code == 301
    for service in ("auth", "media"):
        links = index.json()[service]
        schema = http.get(f"{stack.gateway}{links['schema']}", timeout=10)
        assert schema.status_code == 200, schema.text
        assert "openapi" in schema.text
        docs = http.get(f"{stack.gateway}{links['docs']}", timeout=10)
        assert docs.status_code == 200, docs.text
        assert "swagger" in docs.text.lower()
