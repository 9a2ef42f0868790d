"""The stack the security and fuzz suites share: one per session, on throw-away PostgreSQL
databases at 127.0.0.1:5432 (REL_DATABASE=sqlite for SQLite files, REL_POSTGRES_URL for another
server), with a small upload limit so the 413 paths are cheap.

The soak and fault suites start stacks of their own (PostgreSQL, a private cluster, a tmpfs);
see soak/conftest.py and faults/conftest.py. REL_KEEP=1 keeps the temporary directories.
"""

import collections
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import requests
from support import api
from support.stack import DEFAULT_POSTGRES, REPORT_DIR, start_stack

MAX_UPLOAD_SIZE = 2 * 1024 * 1024
# Headers every answer of the gateway carries (the gateway owns them, see its template).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@pytest.fixture(scope="session")
def scratch():
    """A temporary directory for the session's stacks (kept with REL_KEEP=1)."""
    path = Path(tempfile.mkdtemp(prefix="media-handler-reliability-"))
    yield path
    if not os.environ.get("REL_KEEP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(scratch):
    database = os.environ.get("REL_DATABASE", "postgres")
    if database not in ("postgres", "sqlite"):
        raise pytest.UsageError("REL_DATABASE must be postgres or sqlite")
    postgres = (
        os.environ.get("REL_POSTGRES_URL", DEFAULT_POSTGRES) if database == "postgres" else None
    )
    running = start_stack(
        scratch / "stack",
        postgres=postgres,
        env={
            "MAX_UPLOAD_SIZE": str(MAX_UPLOAD_SIZE),
            # Long enough for the longest fuzz run to keep one token.
            "JWT_ACCESS_TOKEN_MINUTES": "240",
        },
    )
    try:
        yield running
    finally:
        running.stop()


def security_header_problems(response: requests.Response) -> list[str]:
    problems = [
        f"{name}: {response.headers.get(name)!r} (want {value!r})"
        for name, value in SECURITY_HEADERS.items()
        if response.headers.get(name, "").lower() != value.lower()
    ]
    server = response.headers.get("Server", "")
    if any(char.isdigit() for char in server):
        problems.append(f"Server reveals a version: {server!r}")
    return problems


def _check_security_headers(response: requests.Response, *args, **kwargs) -> None:
    problems = security_header_problems(response)
    assert not problems, (
        f"{response.request.method} {response.url} -> {response.status_code}: {problems}"
    )


@pytest.fixture(scope="session")
def http():
    """A session whose every gateway answer must carry the security headers. The number of
    requests it made, by status, goes to REL_REPORT_DIR/http-requests.json at the end."""
    statuses: collections.Counter = collections.Counter()

    def count(response: requests.Response, *args, **kwargs) -> None:
        statuses[response.status_code] += 1

    with requests.Session() as session:
        session.hooks["response"].extend([_check_security_headers, count])
        yield session
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    summary = {"requests": sum(statuses.values()), "by_status": dict(sorted(statuses.items()))}
    (REPORT_DIR / "http-requests.json").write_text(json.dumps(summary, indent=2) + "\n")


@pytest.fixture(scope="session")
def gw(stack) -> str:
    return stack.gateway


@pytest.fixture
def alice(http, gw) -> dict:
    return api.register(http, gw, api.unique_email("alice"))


@pytest.fixture
def bob(http, gw) -> dict:
    return api.register(http, gw, api.unique_email("bob"))
