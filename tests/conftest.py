"""The stacks of the reliability and security suites, all started by devstack from
`stack_spec`: ports of their own (REL_GATEWAY_PORT / REL_AUTH_PORT / REL_MEDIA_PORT preferred,
default 3100/8100/8101, free ports when any is taken, so these suites never clash with `make
e2e`, the benchmarks or a developer's stack on 3000), a fresh JWT signing key the attacks forge
tokens with, and the per-address throttles raised (127.0.0.1 is a whole crowd here).

The security and fuzz suites share one stack per session (`stack`), on throw-away PostgreSQL
databases at 127.0.0.1:5432 (REL_DATABASE=sqlite for SQLite files, REL_POSTGRES_URL for another
server), with a small upload limit so the 413 paths are cheap. The soak and fault suites start
stacks of their own (soak/, faults/). REL_KEEP=1 keeps the temporary directories; the figures
go to REL_REPORT_DIR (default var/reliability/).
"""

import collections
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

import devstack
from devstack import DEFAULT_POSTGRES, ONE_ADDRESS_CROWD, Ports, StackSpec, client
from devstack.ports import preferred_from_env

POSTGRES_URL = os.environ.get("REL_POSTGRES_URL", DEFAULT_POSTGRES)
# The session stack's upload limit: small, so the 413 paths are cheap.
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
def report_dir() -> Path:
    """Where the suites write their figures (docs/reliability.md quotes them)."""
    path = Path(os.environ.get("REL_REPORT_DIR", devstack.REPO / "var" / "reliability"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def stack_spec(scratch) -> Callable[..., StackSpec]:
    """The spec of one of the suites' stacks; `name` is its directory in `scratch`, `env` adds
    to (or overrides) the suites' settings."""

    def spec(
        name: str,
        *,
        database: str = "sqlite",
        postgres_url: str = POSTGRES_URL,
        env: dict | None = None,
        media_root: Path | None = None,
    ) -> StackSpec:
        return StackSpec(
            label="rel",
            workdir=scratch / name,
            media_root=media_root,
            database=database,
            postgres_url=postgres_url,
            ports=preferred_from_env("REL", Ports(3100, 8100, 8101)),
            env={
                "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
                "GUNICORN_WORKERS": "2",
                "RESTART_DELAY_SECONDS": "1",
                **ONE_ADDRESS_CROWD,
                **(env or {}),
            },
        )

    return spec


@pytest.fixture(scope="session")
def stack(stack_spec):
    database = os.environ.get("REL_DATABASE", "postgres")
    if database not in ("postgres", "sqlite"):
        raise pytest.UsageError("REL_DATABASE must be postgres or sqlite")
    spec = stack_spec(
        "stack",
        database=database,
        env={
            "MAX_UPLOAD_SIZE": str(MAX_UPLOAD_SIZE),
            # Long enough for the longest fuzz run to keep one token.
            "JWT_ACCESS_TOKEN_MINUTES": "240",
        },
    )
    with devstack.running(spec) as running:
        yield running


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
def http(report_dir):
    """A session whose every gateway answer must carry the security headers. The number of
    requests it made, by status, goes to REL_REPORT_DIR/http-requests.json at the end."""
    statuses: collections.Counter = collections.Counter()

    def count(response: requests.Response, *args, **kwargs) -> None:
        statuses[response.status_code] += 1

    with requests.Session() as session:
        session.hooks["response"].extend([_check_security_headers, count])
        yield session
    summary = {"requests": sum(statuses.values()), "by_status": dict(sorted(statuses.items()))}
    (report_dir / "http-requests.json").write_text(json.dumps(summary, indent=2) + "\n")


@pytest.fixture(scope="session")
def gw(stack) -> str:
    return stack.gateway


@pytest.fixture
def alice(http, gw) -> dict:
    return client.register(http, gw, client.unique_email("alice"))


@pytest.fixture
def bob(http, gw) -> dict:
    return client.register(http, gw, client.unique_email("bob"))
