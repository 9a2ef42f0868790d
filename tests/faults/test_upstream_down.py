"""An upstream stopped: the gateway answers its routes with a JSON 502/503, /health says which
service is down (and keeps the other's routes working), and traffic resumes once the run
script has restarted it."""

import os
import signal
import time

import pytest
import requests

from devstack import client
from devstack.polling import wait_until


@pytest.mark.parametrize(
    ("service", "down_url", "up_url"),
    [
        ("media", "/api/media/", "/api/auth/profile/"),
        ("auth", "/api/auth/profile/", "/api/media/"),
    ],
)
def test_stopped_upstream_is_json_and_resumes(http, fault_stack, service, down_url, up_url):
    gw = fault_stack.gateway
    tokens = client.register(http, gw, client.unique_email(f"down-{service}"))
    headers = client.bearer(tokens)
    master = fault_stack.pid(service)
    os.kill(master, signal.SIGTERM)  # gunicorn's graceful stop; the run script restarts it
    assert wait_until(
        lambda: requests.get(f"{gw}{down_url}", headers=headers, timeout=10).status_code >= 502,
        timeout=20,
    ), f"{service} never went down"

    down = requests.get(f"{gw}{down_url}", headers=headers, timeout=10)
    assert down.status_code in (502, 503), down.text
    assert down.headers["Content-Type"].startswith("application/json"), down.text
    assert down.json()["message"]
    health = requests.get(f"{gw}/health", timeout=15)
    assert health.status_code == 503, health.text
    assert health.headers["Content-Type"].startswith("application/json")
    assert health.json()["down"] == [service], health.text
    assert health.json()["upstreams"][service]["status"] == "unavailable"
    other = requests.get(f"{gw}{up_url}", headers=headers, timeout=10)
    assert other.status_code == 200, other.text

    started = time.monotonic()
    assert wait_until(
        lambda: requests.get(f"{gw}/health", timeout=15).status_code == 200, timeout=60
    ), fault_stack.tail()
    print(f"{service} back after {time.monotonic() - started:.1f}s")
    assert fault_stack.pid(service) != master
    resumed = requests.get(f"{gw}{down_url}", headers=headers, timeout=10)
    assert resumed.status_code == 200, resumed.text
