"""The real stack for the end-to-end suite, started the way a newcomer starts it.

`./run_with_gateway.sh` runs as a subprocess in its own process group, with a fresh `.env` (the
script writes it), a fresh MEDIA_ROOT, fresh databases (SQLite files, or throw-away PostgreSQL
databases with E2E_DATABASE=postgres) and a small MAX_UPLOAD_SIZE, so the 413 paths are cheap to
reach. It is stopped at the end the way a person stops it (SIGINT to the group, as Ctrl-C does),
and the suite fails if a port stays open or a process survives. Tests talk HTTP, and read
nothing but the stack's own logs (the gateway's access log, the run script's output).

Environment: E2E_DATABASE=sqlite|postgres, E2E_POSTGRES_URL (postgres://postgres@127.0.0.1:5432),
E2E_GATEWAY_PORT / E2E_AUTH_PORT / E2E_MEDIA_PORT (default 3000/8000/8001 when all three are free,
else free ports). The stack's log, .env and var/ stay in pytest's temporary directory.
"""

import uuid
from pathlib import Path

import pytest
import requests
from launcher import Databases, choose_ports, start_stack


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def databases(workdir):
    dbs = Databases(workdir)
    yield dbs
    dbs.drop()


@pytest.fixture(scope="session")
def stack(workdir, databases):
    running = start_stack(workdir, choose_ports((3000, 8000, 8001)), databases.env)
    try:
        running.wait_until_healthy()
        yield running
    finally:
        status = running.stop()
        leftovers = running.leftovers()
        assert not leftovers, f"the stack left things behind: {leftovers}\n{running.tail()}"
        assert status == 130, f"run_with_gateway.sh exited {status} on Ctrl-C:\n{running.tail()}"


@pytest.fixture(scope="session")
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def unique_email() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}@example.com"
