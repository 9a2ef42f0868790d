"""Stacks for fault injection. PostgreSQL faults use a private cluster (initdb + pg_ctl as the
`postgres` user, in a temporary directory, on REL_PRIVATE_PG_PORT or a free port): the
machine's shared PostgreSQL on 5432 is never touched."""

import os
import tempfile
from pathlib import Path

import pytest
from support.faults import PrivatePostgres

import devstack
from devstack.ports import free_ports


@pytest.fixture(scope="session")
def private_postgres():
    if os.geteuid() != 0:
        pytest.skip("the private PostgreSQL cluster runs as the postgres user (needs root)")
    cluster = PrivatePostgres(Path(tempfile.mkdtemp(prefix="media-handler-pg-")), 0)
    try:
        cluster.initdb()
        # REL_PRIVATE_PG_PORT, else a free port (another suite may hold 55432 already).
        for attempt in range(3):
            cluster.port = int(os.environ.get("REL_PRIVATE_PG_PORT") or free_ports(1)[0])
            try:
                cluster.start()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        yield cluster
    finally:
        if cluster.is_running():
            cluster.stop("immediate")
        cluster.remove()


@pytest.fixture(scope="session")
def fault_stack(stack_spec, private_postgres):
    """The stack on the private cluster; restarts a service 5 s after it exits."""
    spec = stack_spec(
        "faults",
        database="postgres",
        postgres_url=private_postgres.url,
        env={
            "RESTART_DELAY_SECONDS": "5",
            "DB_CONNECT_TIMEOUT": "2",
            "JWT_ACCESS_TOKEN_MINUTES": "60",
        },
    )
    with devstack.running(spec) as running:
        try:
            yield running
        finally:
            # Its databases are dropped on the cluster: up again if a test left it stopped.
            if not private_postgres.is_running():
                private_postgres.start()
