"""A service going down and coming back, and stopping the stack leaving nothing behind."""

import dataclasses
import os
import signal
import subprocess

import pytest
import requests

import devstack
from devstack.polling import wait_until
from devstack.ports import Ports, free_ports


def wait_for_health(stack, status: int, timeout: float, what: str) -> requests.Response:
    """The first /health answer with `status`."""
    answers: list[requests.Response] = []

    def has_status() -> bool:
        answers.append(stack.health())
        return answers[-1].status_code == status

    if not wait_until(has_status, timeout):
        pytest.fail(f"timed out after {timeout}s waiting for {what}")
    return answers[-1]


@pytest.mark.parametrize("name", ["media", "auth"])
def test_health_turns_503_while_a_service_is_down_and_200_when_it_is_back(stack, name):
    old_pid = stack.pid(name)
    os.kill(old_pid, signal.SIGTERM)  # the gunicorn master: it and its workers stop

    down = wait_for_health(stack, 503, 15, f"/health to report {name} down")
    body = down.json()
    assert body["down"] == [name]
    assert body["code"] == "upstream_unavailable"
    assert body["upstreams"][name]["status"] == "unavailable"
    other = "auth" if name == "media" else "media"
    assert body["upstreams"][other]["status"] == "ok"

    ping = requests.get(f"{stack.gateway}/api/{name}/ping/", timeout=10)
    assert ping.status_code in (502, 503), ping.text
    assert ping.headers["Content-Type"] == "application/json"
    assert ping.json()["code"] in ("bad_gateway", "service_unavailable")

    # run_with_gateway.sh restarts the service after RESTART_DELAY_SECONDS.
    wait_for_health(stack, 200, 60, f"{name} to come back")
    assert stack.pid(name) != old_pid
    assert requests.get(f"{stack.gateway}/api/{name}/ping/", timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("how", "sig", "whole_group", "status"),
    [
        ("ctrl-c", signal.SIGINT, True, 130),
        ("sigterm to the script", signal.SIGTERM, False, 143),
    ],
)
def test_stopping_a_second_run_leaves_nothing_behind(stack, how, sig, whole_group, status):
    # A second run on the same checkout state (.env, databases) reuses them, on other ports.
    spec = dataclasses.replace(stack.spec, ports=Ports(*free_ports(3)), databases=stack.databases)
    second = devstack.start(spec)
    try:
        assert second.health().json()["status"] == "ok"
        exit_status = second.stop(sig, whole_group=whole_group)
    finally:
        left_behind = second.close()
    assert exit_status == status, second.tail()
    assert left_behind == [], second.tail()
    log = second.log()
    assert "Installing the pinned requirements" not in log
    assert "writing a development one" not in log
    assert "Stopped; ports" in log
    # The first stack is untouched.
    assert stack.health().status_code == 200


def test_a_gateway_that_dies_stops_the_whole_stack_as_a_failure(stack):
    """nginx killed outright (not asked to stop): the script stops the services and exits 1,
    saying so; a Ctrl-C, which nginx answers with a clean exit, is 130 (above)."""
    spec = dataclasses.replace(stack.spec, ports=Ports(*free_ports(3)), databases=stack.databases)
    second = devstack.start(spec)
    try:
        # The stack answers before the script has finished starting (it checks the gateway
        # once more, then prints its banner): a gateway killed before that is "exited while
        # starting", another message. The kill is for the supervising loop.
        assert wait_until(lambda: "Media Handler is up" in second.log(), 30), second.tail()
        os.kill(second.pid("gateway"), signal.SIGKILL)
        try:
            exit_status = second.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"run_with_gateway.sh went on without its gateway:\n{second.tail()}")
    finally:
        left_behind = second.close()
    assert exit_status == 1, second.tail()
    assert "the gateway (nginx) exited" in second.log()
    assert left_behind == [], second.tail()
    assert stack.health().status_code == 200
