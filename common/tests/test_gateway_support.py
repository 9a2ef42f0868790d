"""What the services do for the gateway and for probes in front of them: a health check that
no Host header can fool (common.health), and refused bodies read to their end so the answer
gets through (common.wsgi)."""

import io

import pytest
from django.test import Client

from common.wsgi import UnreadBodyDrained


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/health/", "/api/common-tests/health/", "/api/common-tests/health"]
)
@pytest.mark.parametrize("host", ["_:3000", "not-allowed.example", "a" * 300])
def test_health_answers_whatever_host_the_probe_used(settings, path, host):
    settings.ALLOWED_HOSTS = ["media.example.com"]
    response = Client().get(path, HTTP_HOST=host)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_other_paths_still_check_the_host(settings):
    settings.ALLOWED_HOSTS = ["media.example.com"]
    response = Client().get("/ping/", HTTP_HOST="not-allowed.example")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def refusing_app(environ, start_response):
    """Answers without reading the body, as a service does for a refused token."""
    start_response("401 Unauthorized", [("Content-Type", "application/json")])
    return [b'{"detail":"no"}']


def reading_app(environ, start_response):
    environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    start_response("201 Created", [("Content-Type", "application/json")])
    return [b"{}"]


def call(app, body: bytes, *, length: int | None = None):
    stream = io.BytesIO(body)
    environ = {"CONTENT_LENGTH": str(len(body) if length is None else length), "wsgi.input": stream}
    answer = b"".join(app(environ, lambda status, headers: None))
    return answer, stream


def test_a_body_the_application_did_not_read_is_read_to_its_end():
    answer, stream = call(UnreadBodyDrained(refusing_app), b"x" * 3_000_000)
    assert answer == b'{"detail":"no"}'
    assert stream.tell() == 3_000_000


def test_a_body_the_application_read_is_not_read_again():
    body = b"y" * 1000
    stream = io.BytesIO(body + b"next request")
    environ = {"CONTENT_LENGTH": str(len(body)), "wsgi.input": stream}
    UnreadBodyDrained(reading_app)(environ, lambda status, headers: None)
    assert stream.tell() == len(body)


def test_a_body_past_the_drain_limit_is_left_unread():
    answer, stream = call(UnreadBodyDrained(refusing_app, limit=1000), b"z" * 5000)
    assert answer == b'{"detail":"no"}'
    assert stream.tell() == 0


def test_a_body_shorter_than_its_content_length_ends_the_draining():
    _, stream = call(UnreadBodyDrained(refusing_app), b"short", length=1000)
    assert stream.tell() == 5
