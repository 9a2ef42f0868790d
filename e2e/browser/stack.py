"""The real stack the browser tests run against, started by devstack: the one place they touch
the launcher. Ports 3240/8240/8241 preferred (E2E_GATEWAY_PORT etc. say otherwise; free ports
when any is taken), a 64 MiB upload limit, SQLite files in a temporary directory."""

from pathlib import Path

import pytest

import devstack
from devstack import Ports, StackSpec
from devstack.ports import preferred_from_env

BROWSER_PORTS = Ports(3240, 8240, 8241)


def web_stack_spec(workdir: Path | None, *, label: str = "web") -> StackSpec:
    """`workdir` None: a temporary directory, removed with the stack."""
    return StackSpec(
        label=label,
        workdir=workdir,
        ports=preferred_from_env("E2E", BROWSER_PORTS),
        env={
            # Room for a resumable upload of several of the app's 8 MiB chunks.
            "MAX_UPLOAD_SIZE": str(64 * 1024 * 1024),
            "GUNICORN_WORKERS": "2",
            "RESTART_DELAY_SECONDS": "3",
        },
    )


@pytest.fixture(scope="session", name="web_stack")
def running_web_stack(tmp_path_factory):
    with devstack.running(web_stack_spec(tmp_path_factory.mktemp("web-stack"))) as running:
        yield running
