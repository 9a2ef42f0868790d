"""Measurements taken inside a service's own Django setup (run as a subprocess, because one
process holds one settings module): `python -m bench.probe hasher|verify|pages`. Prints one JSON
line.

- `hasher` (auth_server settings): the password hasher, its parameters, seconds per hash.
- `verify` (backend_server settings): the media service's token check, µs per `authenticate()`
  on a DRF request — for a token it has seen (the app sends the same one with every call) and
  for the first sight of each token — the database queries it makes, and PyJWT's bare decode
  of the same token as the floor it is compared with.
- `accounts` (auth_server settings, a throw-away SQLite database): CPU time per login through
  Django's WSGI handler (the whole view: throttles, password check, session, tokens) with
  Argon2id at the service's parameters, with PBKDF2 at 1,000,000 iterations (Django's default
  before) and the hash alone for each and for Keycloak's default (Argon2id, 7 MiB, 5 passes);
  CPU time per refresh with rotation off and on (each refresh uses the token the last one gave).
- `pages` (backend_server settings, a throw-away SQLite database, Redis at BENCH_REDIS_URL): CPU
  µs per request through Django's WSGI handler, with the headers the gateway sends, for the ping,
  the ping with one cache read and a cached list page (10 items): where a cached page's time goes
  without gunicorn and nginx around it. The median of 7 rounds of 2 000 requests each.
- `parts` (backend_server settings, moto's S3 server on loopback): CPU seconds this process
  spends per GiB of 8 MiB parts sent from a file through the media service's own bucket client
  (`StreamedUpload.send_part`, each part's CRC32 gathered beforehand, as an upload gathers it),
  with each part's SHA-256 signed (what botocore does over plain HTTP, as here, and did over
  HTTPS too before the parts declared their checksum) and not (what it does over HTTPS now;
  forced here through the client's config). Rounds alternate; the median of 3 each.
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


def accounts() -> dict:
    with tempfile.TemporaryDirectory(prefix="auth-probe-") as tmp:
        return _accounts(Path(tmp))


# What "today's PBKDF2" and Keycloak's default hash cost, beside ours.
PBKDF2_ITERATIONS = 1_000_000
KEYCLOAK_ARGON2 = {"memory_cost": 7168, "time_cost": 5, "parallelism": 1}


def _accounts(tmp: Path) -> dict:
    os.environ.update(
        AUTH_DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        CACHE_DIR=str(tmp / "cache"),
        REVOCATION_STORE=f"file://{tmp / 'marks.sqlite3'}",
        LOGIN_IP_THROTTLE_RATE="1000000/min",
        REDIS_URL="",
    )
    _setup("auth_server")
    from argon2.low_level import Type, hash_secret_raw
    from django.contrib.auth.hashers import PBKDF2PasswordHasher, get_hasher
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.test.utils import override_settings

    from accounts.models import User

    call_command("migrate", verbosity=0)
    app = get_wsgi_application()

    def post(path: str, body: dict) -> tuple[str, dict]:
        payload = json.dumps(body).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "3700",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(payload)),
            "HTTP_USER_AGENT": "bench-probe/1.0",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(payload),
            "wsgi.errors": sys.stderr,
        }
        answered = []
        chunks = app(environ, lambda status, _headers, _exc=None: answered.append(status))
        content = b"".join(chunks)
        chunks.close()
        assert answered[0].startswith("200"), (path, answered[0], content[:300])
        return answered[0], json.loads(content)

    def cpu_per_login(username: str, logins: int) -> float:
        body = {"username": username, "password": "bench-password"}
        post("/api/auth/login/", body)  # warm: the first session loads ua-parser's rules
        started = time.thread_time()
        for _ in range(logins):
            post("/api/auth/login/", body)
        return (time.thread_time() - started) / logins

    pbkdf2 = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    results: dict = {}
    argon2 = get_hasher()
    results["argon2id_params"] = {
        "memory_kib": argon2.memory_cost,
        "time_cost": argon2.time_cost,
        "parallelism": argon2.parallelism,
    }
    User.objects.create_user("argon", "argon@example.com", "bench-password")
    results["argon2id_login_cpu_s"] = cpu_per_login("argon", 40)
    salt = argon2.salt()
    results["argon2id_hash_cpu_s"] = _cpu_per_call(lambda: argon2.encode("bench-password", salt))
    with override_settings(PASSWORD_HASHERS=pbkdf2):
        User.objects.create_user("pbkdf2", "pbkdf2@example.com", "bench-password")
        assert PBKDF2PasswordHasher.iterations == PBKDF2_ITERATIONS, PBKDF2PasswordHasher.iterations
        results["pbkdf2_login_cpu_s"] = cpu_per_login("pbkdf2", 6)
        hasher = PBKDF2PasswordHasher()
        results["pbkdf2_hash_cpu_s"] = _cpu_per_call(
            lambda: hasher.encode("bench-password", salt), number=3
        )
    results["keycloak_argon2id_params"] = KEYCLOAK_ARGON2
    results["keycloak_argon2id_hash_cpu_s"] = _cpu_per_call(
        lambda: hash_secret_raw(
            b"bench-password",
            salt.encode(),
            time_cost=KEYCLOAK_ARGON2["time_cost"],
            memory_cost=KEYCLOAK_ARGON2["memory_cost"],
            parallelism=KEYCLOAK_ARGON2["parallelism"],
            hash_len=32,
            type=Type.ID,
        )
    )

    _, tokens = post("/api/auth/login/", {"username": "argon", "password": "bench-password"})
    for rotation in (False, True):
        jwt = {**settings_simple_jwt(), "ROTATE_REFRESH_TOKENS": rotation}
        with override_settings(SIMPLE_JWT=jwt):
            refresh = tokens["refresh"]
            started = time.thread_time()
            for _ in range(300):
                _, answer = post("/api/auth/token/refresh/", {"refresh": refresh})
                refresh = answer.get("refresh", refresh)
            key = "on" if rotation else "off"
            results[f"refresh_rotation_{key}_cpu_s"] = (time.thread_time() - started) / 300
    return results


def settings_simple_jwt() -> dict:
    from django.conf import settings

    return dict(settings.SIMPLE_JWT)


def _cpu_per_call(fn, *, number: int = 10) -> float:
    """CPU seconds (this thread's) per call: the best of 3 rounds of `number` calls."""
    rounds = []
    for _ in range(3):
        started = time.thread_time()
        for _ in range(number):
            fn()
        rounds.append((time.thread_time() - started) / number)
    return min(rounds)


PART_BYTES = 8 * 1024 * 1024
PARTS = 32


def parts() -> dict:
    from devstack import object_store

    with (
        tempfile.TemporaryDirectory(prefix="probe-parts-") as tmp,
        object_store.running(Path(tmp) / "store") as store,
    ):
        os.environ.update(store.env(prefix="probe"))
        _setup("backend_server")
        source = Path(tmp) / "parts.bin"
        source.write_bytes(os.urandom(PART_BYTES * PARTS))
        return _parts(str(source))


def _parts(source: str) -> dict:
    from botocore.httpchecksum import Crc32Checksum

    from media_handler.files import s3

    def region(number: int) -> "s3.FileRegion":
        return s3.FileRegion(source, start=number * PART_BYTES, length=PART_BYTES)

    crc32s = [Crc32Checksum().handle(region(number)) for number in range(PARTS)]
    seconds: dict[bool, list[float]] = {True: [], False: []}
    # The dict botocore's S3 signer reads for each request (an explicit choice wins over its
    # rule for HTTP and HTTPS).
    signer_config = s3.s3_storage().client.meta.config.s3
    for round_number in range(6):
        signed = round_number % 2 == 0
        signer_config["payload_signing_enabled"] = signed
        upload = s3.StreamedUpload()
        upload.start(extension="bin")
        started = time.process_time()
        for number in range(PARTS):
            upload.send_part(region(number), number=number + 1, crc32=crc32s[number])
        seconds[signed].append(time.process_time() - started)
        upload.abort()
    per_gib = 1024**3 / (PART_BYTES * PARTS)
    signed_s, unsigned_s = (statistics.median(seconds[key]) * per_gib for key in (True, False))
    return {
        "cpu_s_per_gib_signed": signed_s,
        "cpu_s_per_gib_unsigned": unsigned_s,
        "unsigned_over_signed": unsigned_s / signed_s,
        "rounds_s": {"signed": seconds[True], "unsigned": seconds[False]},
    }


if __name__ == "__main__":
    probes = {
        "hasher": hasher,
        "verify": verify,
        "pages": pages,
        "accounts": accounts,
        "parts": parts,
    }
    print(json.dumps(probes[sys.argv[1]]()))
