"""Measurements taken inside a service's own Django setup (run as a subprocess, because one
process holds one settings module): `python -m bench.probe hasher|verify|pages`. Prints one JSON
line.

- `hasher` (auth_server settings): the password hasher, its parameters, seconds per hash.
- `verify` (backend_server settings): the media service's token check, µs per `authenticate()`
  on a DRF request — for a token it has seen (the app sends the same one with every call) and
  for the first sight of each token — the database queries it makes, and PyJWT's bare decode
  of the same token as the floor it is compared with.
- `pages` (backend_server settings, a throw-away SQLite database, Redis at BENCH_REDIS_URL): CPU
  µs per request through Django's WSGI handler, with the headers the gateway sends, for the ping,
  the ping with one cache read and a cached list page (10 items): where a cached page's time goes
  without gunicorn and nginx around it. The median of 7 rounds of 2 000 requests each.
"""

import io
import json
import os
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _setup(service: str) -> None:
    sys.path.insert(0, str(REPO / service))
    os.environ["DJANGO_SETTINGS_MODULE"] = f"{service}.settings"
    import django  # here: the settings module must be chosen first

    django.setup()


def _per_call_seconds(fn, *, budget_s: float = 2.0) -> float:
    """Seconds per call: the best of 5 timeit repeats sized to take about `budget_s` in all."""
    timer = timeit.Timer(fn)
    number, took = timer.autorange()
    number = max(1, int(number * budget_s / 5 / max(took, 1e-9)))
    return min(timer.repeat(repeat=5, number=number)) / number


def hasher() -> dict:
    _setup("auth_server")
    # Imported once Django is set up: it reads its settings at import.
    from django.contrib.auth.hashers import get_hasher

    h = get_hasher()
    params = {
        name: getattr(h, name)
        for name in ("iterations", "rounds", "time_cost", "memory_cost", "parallelism", "digest")
        if hasattr(h, name)
    }
    params = {k: (v.__name__ if callable(v) else v) for k, v in params.items()}
    salt = h.salt()
    seconds = _per_call_seconds(lambda: h.encode("bench-password", salt), budget_s=3)
    return {
        "hasher": f"{type(h).__module__}.{type(h).__name__}",
        "algorithm": h.algorithm,
        "params": params,
        "seconds_per_hash": seconds,
    }


def verify() -> dict:
    _setup("backend_server")
    # Imported once Django is set up: they read its settings at import.
    import jwt
    from django.conf import settings
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext
    from django.utils.module_loading import import_string
    from rest_framework.request import Request
    from rest_framework_simplejwt.settings import api_settings
    from rest_framework_simplejwt.tokens import AccessToken

    path = settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"][0]
    authentication = import_string(path)

    def request_with(user_id: int) -> Request:
        token = AccessToken()  # a fresh `jti`: every token is a different string
        token["user_id"] = user_id
        token["email"] = "bench@example.com"
        token["username"] = "bench"
        header = f"Bearer {token}"
        return Request(RequestFactory().get("/api/media/media/", HTTP_AUTHORIZATION=header))

    def check(request: Request):
        # What DRF does per request: a new authenticator on a DRF request, then the user's id.
        user, _ = authentication().authenticate(request)
        return user.id, user.email

    repeated = request_with(42)
    assert check(repeated) == (42, "bench@example.com"), check(repeated)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            check(repeated)
    # First sight of each token (what a service that remembers nothing pays on every call):
    # the best of five passes over 1000 new tokens each, as the other figures are best of five.
    passes = []
    for n in range(5):
        fresh = [request_with(1000 + 1000 * n + i) for i in range(1000)]
        started = time.process_time()
        for request in fresh:
            check(request)
        passes.append((time.process_time() - started) / len(fresh) * 1e6)
    first_sight_us = min(passes)

    raw = repeated.META["HTTP_AUTHORIZATION"].split()[1]
    key = api_settings.VERIFYING_KEY or api_settings.SIGNING_KEY
    algorithm = api_settings.ALGORITHM

    def decode():
        return jwt.decode(raw, key, algorithms=[algorithm], options={"verify_aud": False})

    return {
        "class": path,
        "algorithm": algorithm,
        "us_per_verify": _per_call_seconds(lambda: check(repeated)) * 1e6,
        "us_per_verify_first_sight": first_sight_us,
        "us_per_pyjwt_decode": _per_call_seconds(decode) * 1e6,
        "queries_per_100": len(queries),
    }


def pages() -> dict:
    with tempfile.TemporaryDirectory(prefix="media-probe-") as tmp:
        return _pages(Path(tmp))


def _pages(tmp: Path) -> dict:
    os.environ.update(
        BACKEND_DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"),
        MEDIA_ROOT=str(tmp / "media"),
        LIST_PAGE_CACHE="true",
    )
    _setup("backend_server")
    from django.core.cache import cache
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework_simplejwt.tokens import AccessToken

    from media_handler.models import Media, MediaType

    call_command("migrate", verbosity=0)
    cache.clear()
    owner = 7
    Media.objects.bulk_create(
        Media(
            user=owner,
            name=f"photo-{n}.jpg",
            type=MediaType.IMAGE,
            size=2048,
            storage_path=f"uploads/photo-{n}.jpg",
            checksum_sha256="ab" * 32,
        )
        for n in range(12)
    )
    token = AccessToken()
    token["user_id"] = owner
    app = get_wsgi_application()

    def call(path: str, query: str = "", **headers: str) -> str:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "3700",
            "SERVER_PROTOCOL": "HTTP/1.0",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
            # As the gateway forwards them (gateway/templates/media-handler.conf.template).
            "HTTP_HOST": "127.0.0.1:3700",
            "HTTP_X_REQUEST_ID": "0123456789abcdef",
            "HTTP_X_FORWARDED_FOR": "127.0.0.1",
            "HTTP_X_FORWARDED_HOST": "127.0.0.1:3700",
            "HTTP_X_FORWARDED_PROTO": "http",
            "HTTP_ACCEPT": "application/json",
            **headers,
        }
        answered = []
        body = app(environ, lambda status, _headers, _exc=None: answered.append(status))
        b"".join(body)
        body.close()
        return answered[0]

    cases = {
        "ping": ("/api/media/ping/", ""),
        "ping_cache": ("/api/media/ping/cache/", ""),
        "list_page_cached": ("/api/media/media/", "page_size=10"),
    }
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    for path, query in cases.values():
        status = call(path, query, **auth)  # the first list request stores the page
        assert status.startswith("200"), (path, status)
    with CaptureQueriesContext(connection) as queries:
        call(*cases["list_page_cached"], **auth)
    if queries.captured_queries:  # the page was built again: the figure would not be a hit's
        raise RuntimeError(
            f"the list page was not served from the cache: {queries.captured_queries}"
        )
    rounds: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(7):
        for name, (path, query) in cases.items():
            started = time.thread_time()
            for _ in range(2000):
                call(path, query, **auth)
            rounds[name].append((time.thread_time() - started) / 2000 * 1e6)
    return {f"us_cpu_{name}": statistics.median(values) for name, values in rounds.items()}


if __name__ == "__main__":
    probes = {"hasher": hasher, "verify": verify, "pages": pages}
    print(json.dumps(probes[sys.argv[1]]()))
