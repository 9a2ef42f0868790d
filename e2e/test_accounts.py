"""Accounts people can manage, through the gateway of a real stack: signing a device out (the
media service refuses its token within 5 s), password change and reset (the email read from a
real SMTP server on loopback), account deletion (the user's files gone from disk within a
minute, also when the media service was stopped meanwhile), and refresh rotation.

This module starts a stack of its own: rotation switched on (the default stack keeps the mobile
app's rotation-off contract), a short grace window, an SMTP server, and a restart delay long
enough to see the media service down.
"""

import email
import os
import re
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from aiosmtpd.controller import Controller

import devstack
from devstack import DEFAULT_POSTGRES, Ports, StackSpec, client
from devstack.client import bearer, expect, register
from devstack.polling import wait_until
from devstack.ports import preferred_from_env
from devstack.samples import png_bytes

GRACE_SECONDS = 3
RESTART_DELAY_SECONDS = 10
REVOCATION_WINDOW_SECONDS = 5
NEW_PASSWORD = "a-new-strong-password"


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[email.message.Message] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.Message]:
        with self._lock:
            return [m for m in self.messages if address.lower() in m["To"].lower()]


@pytest.fixture(scope="module")
def inbox():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Inbox(port)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture(scope="module")
def accounts_stack(tmp_path_factory, inbox, object_store):
    spec = StackSpec(
        label="e2eaccounts",
        workdir=tmp_path_factory.mktemp("accounts-stack"),
        # The suite's database (E2E_DATABASE), as its main stack's.
        database=os.environ.get("E2E_DATABASE", "sqlite"),
        postgres_url=os.environ.get("E2E_POSTGRES_URL", DEFAULT_POSTGRES),
        # E2E_ACCOUNTS_GATEWAY_PORT... when set; taken ones fall back to free ports.
        ports=preferred_from_env("E2E_ACCOUNTS", Ports(3010, 8010, 8011)),
        env={
            "EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}",
            "JWT_ROTATE_REFRESH_TOKENS": "true",
            "JWT_ROTATION_GRACE_SECONDS": str(GRACE_SECONDS),
            "RESTART_DELAY_SECONDS": str(RESTART_DELAY_SECONDS),
            "GUNICORN_WORKERS": "2",
            **(object_store.env(prefix="e2e-accounts") if object_store is not None else {}),
        },
    )
    with devstack.running(spec) as stack:
        yield stack


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def login(http, stack, email_address: str, device: str, password: str = client.PASSWORD):
    response = http.post(
        f"{stack.gateway}/api/auth/login/",
        json={"email": email_address, "password": password, "device_name": device},
        timeout=client.TIMEOUT,
    )
    return expect(response, 200).json()


def media_status(http, stack, tokens) -> int:
    return http.get(f"{stack.gateway}/api/media/", headers=bearer(tokens), timeout=10).status_code


def refresh(http, stack, refresh_token: str) -> requests.Response:
    return http.post(
        f"{stack.gateway}/api/auth/refresh/", json={"refresh": refresh_token}, timeout=10
    )


def refused_within(http, stack, tokens, seconds: float) -> float | None:
    """Seconds until the media service answers the token with a 401, or None."""
    started = time.monotonic()
    if wait_until(lambda: media_status(http, stack, tokens) == 401, seconds, interval=0.05):
        return time.monotonic() - started
    return None


def test_a_device_signed_out_from_another_is_refused_by_the_media_service_within_5_s(
    http, accounts_stack
):
    stack = accounts_stack
    address = client.unique_email("devices")
    register(http, stack.gateway, address)
    phone = login(http, stack, address, "Phone")
    laptop = login(http, stack, address, "Laptop")
    assert media_status(http, stack, phone) == 200

    sessions = expect(
        http.get(f"{stack.gateway}/api/auth/sessions/", headers=bearer(laptop), timeout=10), 200
    ).json()
    by_device = {session["device"]: session for session in sessions}
    assert by_device["Laptop"]["current"] is True
    assert by_device["Phone"]["current"] is False
    signed_out = http.delete(
        f"{stack.gateway}/api/auth/sessions/{by_device['Phone']['id']}/",
        headers=bearer(laptop),
        timeout=10,
    )
    expect(signed_out, 204)

    took = refused_within(http, stack, phone, REVOCATION_WINDOW_SECONDS)
    assert took is not None, "the media service still accepts the signed-out device's token"
    refused = refresh(http, stack, phone["refresh"])
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_grant"
    assert media_status(http, stack, laptop) == 200
    expect(refresh(http, stack, laptop["refresh"]), 200)


def test_password_change_signs_the_other_devices_out_and_tells_the_owner(
    http, accounts_stack, inbox
):
    stack = accounts_stack
    address = client.unique_email("change")
    register(http, stack.gateway, address)
    here, elsewhere = login(http, stack, address, "here"), login(http, stack, address, "there")

    changed = http.post(
        f"{stack.gateway}/api/auth/password/change/",
        headers=bearer(here),
        json={"old_password": client.PASSWORD, "new_password": NEW_PASSWORD},
        timeout=client.TIMEOUT,
    )

    expect(changed, 200)
    assert refused_within(http, stack, elsewhere, REVOCATION_WINDOW_SECONDS) is not None
    assert refresh(http, stack, elsewhere["refresh"]).status_code == 400
    assert media_status(http, stack, here) == 200
    login(http, stack, address, "again", password=NEW_PASSWORD)
    assert wait_until(lambda: inbox.to(address), 15), "no email about the change arrived"
    (message,) = inbox.to(address)
    assert message["Subject"] == "Your Media Handler password was changed"


def test_password_reset_through_a_real_mail_server(http, accounts_stack, inbox):
    stack = accounts_stack
    address = client.unique_email("reset")
    register(http, stack.gateway, address)
    device = login(http, stack, address, "phone")

    asked = http.post(
        f"{stack.gateway}/api/auth/password/reset/", json={"email": address}, timeout=10
    )
    nobody = http.post(
        f"{stack.gateway}/api/auth/password/reset/",
        json={"email": client.unique_email("nobody")},
        timeout=10,
    )

    assert (asked.status_code, nobody.status_code) == (202, 202)
    assert asked.json() == nobody.json()
    assert wait_until(lambda: inbox.to(address), 15), "no reset email arrived"
    (message,) = inbox.to(address)
    assert message["Subject"] == "Reset your Media Handler password"
    body = message.get_payload(decode=True).decode()
    code = {
        "uid": re.search(r"uid:\s+(\S+)", body)[1],
        "token": re.search(r"token:\s+(\S+)", body)[1],
    }
    confirmed = http.post(
        f"{stack.gateway}/api/auth/password/reset/confirm/",
        json={**code, "new_password": NEW_PASSWORD},
        timeout=client.TIMEOUT,
    )
    expect(confirmed, 200)
    assert refused_within(http, stack, device, REVOCATION_WINDOW_SECONDS) is not None
    assert refresh(http, stack, device["refresh"]).status_code == 400
    login(http, stack, address, "again", password=NEW_PASSWORD)
    assert wait_until(lambda: len(inbox.to(address)) == 2, 15)


def uploaded_files(http, stack, tokens, count: int) -> list[str]:
    paths = []
    for n in range(count):
        media = expect(client.upload(http, stack.gateway, tokens, png_bytes(seed=n)), 201).json()
        paths.append(media["storage_path"])
    return paths


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def delete_account(http, stack, tokens) -> requests.Response:
    return http.delete(
        f"{stack.gateway}/api/auth/profile/",
        headers=bearer(tokens),
        json={"password": client.PASSWORD},
        timeout=client.TIMEOUT,
    )


def test_account_deletion_removes_the_users_files_within_a_minute(http, accounts_stack, is_stored):
    stack = accounts_stack
    doomed = register(http, stack.gateway, client.unique_email("doomed"))
    keeper = register(http, stack.gateway, client.unique_email("keeper"))
    doomed_files = uploaded_files(http, stack, doomed, 2)
    kept_files = uploaded_files(http, stack, keeper, 1)
    assert all(is_stored(stack, path) for path in doomed_files + kept_files)

    expect(delete_account(http, stack, doomed), 204)

    assert refresh(http, stack, doomed["refresh"]).status_code == 400
    assert refused_within(http, stack, doomed, REVOCATION_WINDOW_SECONDS) is not None
    assert wait_until(lambda: not any(is_stored(stack, p) for p in doomed_files), 60, interval=0.5)
    assert all(is_stored(stack, path) for path in kept_files)


def test_account_deletion_while_the_media_service_is_stopped_catches_up(
    http, accounts_stack, is_stored
):
    stack = accounts_stack
    doomed = register(http, stack.gateway, client.unique_email("offline"))
    doomed_files = uploaded_files(http, stack, doomed, 2)
    stopped = {name: stack.pid(name) for name in ("media", "worker")}
    for pid in stopped.values():
        os.kill(pid, signal.SIGTERM)  # as `kill` would; the run script restarts it later
    # Gone, not just shutting down (a worker in its warm shutdown still takes a job).
    assert wait_until(lambda: not any(is_alive(pid) for pid in stopped.values()), 30)
    assert media_status(http, stack, doomed) >= 500

    expect(delete_account(http, stack, doomed), 204)

    time.sleep(2)
    assert all(is_stored(stack, path) for path in doomed_files), (
        "deleted while the media service was down"
    )
    assert wait_until(
        lambda: not any(is_stored(stack, p) for p in doomed_files), 60, interval=0.5
    ), f"the files outlived the media service's restart:\n{stack.tail()}"
    assert all(stack.pid(name) != pid for name, pid in stopped.items())
    someone = register(http, stack.gateway, client.unique_email("after"))
    assert wait_until(lambda: media_status(http, stack, someone) == 200, 30)


def test_rotation_gives_concurrent_refreshes_one_successor_and_a_late_replay_ends_it(
    http, accounts_stack
):
    stack = accounts_stack
    tokens = register(http, stack.gateway, client.unique_email("rotation"))

    def refresh_once(_n: int) -> requests.Response:
        with requests.Session() as own:
            return refresh(own, stack, tokens["refresh"])

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(refresh_once, range(20)))

    assert [answer.status_code for answer in answers] == [200] * 20, [a.text for a in answers]
    successors = {answer.json()["refresh"] for answer in answers}
    assert len(successors) == 1
    (successor,) = successors
    assert successor != tokens["refresh"]

    time.sleep(GRACE_SECONDS + 1)
    replay = refresh(http, stack, tokens["refresh"])
    assert replay.status_code == 400, replay.text
    assert replay.json()["error"] == "invalid_grant"
    assert refresh(http, stack, successor).status_code == 400  # the session is over
    access = answers[0].json()["access"]
    assert refused_within(http, stack, {"access": access}, REVOCATION_WINDOW_SECONDS) is not None
