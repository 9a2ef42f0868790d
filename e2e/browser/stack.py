"""The real stack the browser tests run against: the one place they touch the launcher (so a
new launcher is one change here). Ports 3240/8240/8241 unless E2E_*_PORT say otherwise."""

import pytest
from launcher import Databases, choose_ports, start_stack

BROWSER_PORTS = (3240, 8240, 8241)


@pytest.fixture(scope="session", name="web_stack")
def running_web_stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("web-stack")
    databases = Databases(workdir)
    running = start_stack(workdir, choose_ports(BROWSER_PORTS), databases.env)
    try:
        running.wait_until_healthy()
        yield running
    finally:
        running.stop()
        databases.drop()
