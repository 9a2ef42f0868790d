"""Stacks for fault injection. PostgreSQL faults use a private cluster (initdb + pg_ctl as the
`postgres` user, in a temporary directory, on port REL_PRIVATE_PG_PORT, default 55432): the
machine's shared PostgreSQL on 5432 is never touched."""

import os
import tempfile
from pathlib import Path

import pytest
from support.faults import PrivatePostgres
from support.stack import port_is_open, start_stack


@pytest.fixture(scope="session")
def private_postgres():
    if os.geteuid() != 0:
        pytest.skip("the private PostgreSQL cluster runs as the postgres user (needs root)")
    port = int(os.environ.get("REL_PRIVATE_PG_PORT", "55432"))
    if port_is_open(port):
        pytest.fail(f"port {port} is taken; set REL_PRIVATE_PG_PORT to a free port")
    cluster = PrivatePostgres(Path(tempfile.mkdtemp(prefix="media-handler-pg-")), port)
    cluster.initdb()
    cluster.start()
    try:
        yield cluster
    finally:
        if cluster.is_running():
            cluster.stop("immediate")
        cluster.remove()


@pytest.fixture(scope="session")
def fault_stack(scratch, private_postgres):
    """The stack on the private cluster; restarts a service 5 s after it exits."""
    running = start_stack(
        scratch / "faults",
        postgres=private_postgres.url,
        env={
            "RESTART_DELAY_SECONDS": "5",
            "DB_CONNECT_TIMEOUT": "2",
            "JWT_ACCESS_TOKEN_MINUTES": "60",
        },
    )
    try:
        yield running
    finally:
        if not private_postgres.is_running():
            private_postgres.start()
        running.stop()
