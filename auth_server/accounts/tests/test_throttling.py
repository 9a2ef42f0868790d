# ruff: noqa: RUF001 -- a fullwidth spelling of a username is one of the names tried
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.throttling import LoginFailurePolicy
from common.testing import assert_status

LOGIN = "/api/auth/login/"
REGISTER = "/api/auth/register/"
GOOD = {"username": "jane", "password": "strongpassword"}
BAD = {"username": "jane", "password": "guessedpassword"}

pytestmark = pytest.mark.django_db


def _from(address: str) -> dict:
    return {"REMOTE_ADDR": address}


def _newcomer(n: int) -> dict:
    return {
        "first_name": "New",
        "last_name": "Comer",
        "email": f"newcomer{n}@example.com",
        "password": "strongpassword",
    }


def assert_throttled(response) -> None:
    assert_status(response, 429)
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["code"] == "throttled"
    assert body["message"]
    assert body["detail"]


ATTACKER = {"REMOTE_ADDR": "198.51.100.66"}
OWNER = {"REMOTE_ADDR": "203.0.113.10"}


@pytest.fixture
def policy(settings):
    """Sets parts of the failed sign-in policy for one test (the rest keep their defaults)."""

    def set_policy(**values: int) -> None:
        settings.LOGIN_FAILURE_POLICY = {**settings.LOGIN_FAILURE_POLICY, **values}

    return set_policy


def fail(post_json, times: int, body=BAD, **headers) -> None:
    for _attempt in range(times):
        assert_status(post_json(LOGIN, body, **headers), 400)


def test_five_failures_from_one_address_hold_that_address_for_a_minute(post_json, user):
    fail(post_json, 5, **ATTACKER)

    held = post_json(LOGIN, GOOD, **ATTACKER)

    assert_throttled(held)
    assert 55 <= int(held["Retry-After"]) <= 60


def test_the_owner_signs_in_from_another_address_while_an_attacker_is_held(post_json, user):
    fail(post_json, 5, **ATTACKER)
    assert_throttled(post_json(LOGIN, BAD, **ATTACKER))

    assert_status(post_json(LOGIN, GOOD, **OWNER), 200)


def test_an_address_that_has_not_failed_is_never_held_even_past_the_account_ceiling(
    post_json, user, policy
):
    policy(account_ceiling=6)
    for n in range(6):
        fail(post_json, 1, REMOTE_ADDR=f"198.51.100.{n}")

    assert_status(post_json(LOGIN, GOOD, **OWNER), 200)
    assert_status(post_json(LOGIN, BAD, REMOTE_ADDR="192.0.2.1"), 400)


def test_past_the_account_ceiling_every_address_that_failed_waits_out_the_window(
    post_json, user, policy
):
    policy(account_ceiling=6)
    for n in range(6):
        fail(post_json, 1, REMOTE_ADDR=f"198.51.100.{n}")

    held = post_json(LOGIN, GOOD, REMOTE_ADDR="198.51.100.0")

    assert_throttled(held)
    assert int(held["Retry-After"]) > 3000  # the hour that began with the first failure


def test_the_back_off_doubles_with_each_further_failure(post_json, user, policy):
    policy(free_failures=2, backoff_seconds=1)
    fail(post_json, 2, **ATTACKER)
    assert int(post_json(LOGIN, BAD, **ATTACKER)["Retry-After"]) == 1

    time.sleep(1.05)
    fail(post_json, 1, **ATTACKER)

    held = post_json(LOGIN, GOOD, **ATTACKER)
    assert_throttled(held)
    assert int(held["Retry-After"]) == 2


def test_the_back_off_is_capped():
    policy = LoginFailurePolicy(free_failures=5, backoff_seconds=60, backoff_max_seconds=900)

    assert [policy.backoff(n) for n in (4, 5, 6, 7, 8, 9, 1000)] == [0, 60, 120, 240, 480, 900, 900]


def test_failures_count_by_every_name_of_the_account(post_json, user):
    names = ["jane", "JANE", "jane@example.com", "Jane@Example.com", "ｊａｎｅ"]
    for name in names:
        body = {"username": name, "password": "guessedpassword"}
        assert_status(post_json(LOGIN, body, **ATTACKER), 400)

    assert_throttled(post_json(LOGIN, {"email": "jane@example.com", "password": "x"}, **ATTACKER))


def test_successful_logins_do_not_count(post_json, user):
    for _attempt in range(8):
        assert_status(post_json(LOGIN, GOOD, **OWNER), 200)


def test_a_successful_login_forgets_that_addresses_failures(post_json, user):
    fail(post_json, 4, **OWNER)
    assert_status(post_json(LOGIN, GOOD, **OWNER), 200)

    fail(post_json, 4, **OWNER)
    assert_status(post_json(LOGIN, GOOD, **OWNER), 200)


def test_successful_logins_do_not_count_towards_the_account_ceiling(post_json, user, policy):
    policy(account_ceiling=3)
    for _attempt in range(3):
        assert_status(post_json(LOGIN, GOOD, **OWNER), 200)
    fail(post_json, 1, **OWNER)

    assert_status(post_json(LOGIN, GOOD, **OWNER), 200)


BURST = 12


@pytest.mark.parametrize("store", ["locmem", "files"])
@pytest.mark.django_db(transaction=True)
def test_wrong_passwords_sent_at_once_from_one_address_get_only_the_free_failures(
    settings, tmp_path, monkeypatch, store
):
    if store == "files":  # the store of a deployment without Redis, shared by its workers
        backend = "django.core.cache.backends.filebased.FileBasedCache"
        settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}}
    UserFactory(username="jane", email="jane@example.com")
    check_password = User.check_password

    def slow_check_password(self, raw_password):
        time.sleep(0.3)  # Argon2id takes tens of milliseconds: every guess is in flight at once
        return check_password(self, raw_password)

    monkeypatch.setattr(User, "check_password", slow_check_password)
    start = threading.Barrier(BURST)

    def guess(n: int) -> int:
        body = json.dumps({"username": "jane", "password": f"guess{n}"})
        try:
            start.wait()
            address = ATTACKER["REMOTE_ADDR"]
            response = APIClient().post(
                LOGIN, body, content_type="application/json", REMOTE_ADDR=address
            )
            return response.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        statuses = list(pool.map(guess, range(BURST)))

    free = LoginFailurePolicy.from_settings().free_failures
    assert sorted(statuses) == [400] * free + [429] * (BURST - free)


def test_a_held_account_does_not_hold_others_from_the_same_address(post_json, user):
    UserFactory(username="john", email="john@example.com")
    fail(post_json, 5, **ATTACKER)
    assert_throttled(post_json(LOGIN, GOOD, **ATTACKER))

    john = {"username": "john", "password": "strongpassword"}
    assert_status(post_json(LOGIN, john, **ATTACKER), 200)


def test_failed_logins_for_an_unknown_name_are_held_too(post_json, db):
    body = {"username": "ghost", "password": "guessedpassword"}
    fail(post_json, 5, body, **ATTACKER)

    assert_throttled(post_json(LOGIN, body, **ATTACKER))


def test_failed_logins_with_the_username_as_a_json_number_are_held_too(post_json, db):
    # The login takes 5551234 as the username "5551234": so must the failure count.
    UserFactory(username="5551234")
    fail(post_json, 5, {"username": 5551234, "password": "guessedpassword"}, **ATTACKER)

    assert_throttled(
        post_json(LOGIN, {"username": 5551234, "password": "strongpassword"}, **ATTACKER)
    )
    assert_throttled(post_json(LOGIN, {"username": "5551234", "password": "x"}, **ATTACKER))


def test_the_policy_follows_the_setting(post_json, user, policy):
    policy(free_failures=2)
    fail(post_json, 2, **ATTACKER)

    assert_throttled(post_json(LOGIN, GOOD, **ATTACKER))


def test_address_limit_throttles_logins_from_one_address(post_json, throttle_rates, db):
    throttle_rates(login_address="3/min")
    bodies = [{"username": f"crowd{n}", "password": "strongpassword"} for n in range(4)]
    for body in bodies:
        UserFactory(username=body["username"])
    for body in bodies[:3]:
        assert_status(post_json(LOGIN, body, **_from("203.0.113.7")), 200)

    assert_throttled(post_json(LOGIN, bodies[3], **_from("203.0.113.7")))
    assert_status(post_json(LOGIN, bodies[3], **_from("198.51.100.1")), 200)


def test_address_limit_is_generous_by_default(post_json, db):
    # A crowd behind one carrier-NAT address: 30 people sign in within a minute.
    users = [UserFactory() for _ in range(30)]
    for signed_up in users:
        body = {"username": signed_up.username, "password": "strongpassword"}
        assert_status(post_json(LOGIN, body, **_from("203.0.113.7")), 200)


def test_address_limit_throttles_registrations_from_one_address(post_json, throttle_rates, db):
    throttle_rates(register_address="2/min")
    for n in range(2):
        assert_status(post_json(REGISTER, _newcomer(n), **_from("203.0.113.7")), 201)

    assert_throttled(post_json(REGISTER, _newcomer(2), **_from("203.0.113.7")))
    assert_status(post_json(REGISTER, _newcomer(3), **_from("198.51.100.1")), 201)


def test_registration_attempts_per_email_are_limited(post_json, db):
    attempt = {**_newcomer(0), "password": "123"}
    for n in range(10):
        assert_status(post_json(REGISTER, attempt, **_from(f"10.0.0.{n}")), 400)

    throttled = post_json(REGISTER, {**_newcomer(0), "email": "NEWCOMER0@example.com"})

    assert_throttled(throttled)
    assert_status(post_json(REGISTER, _newcomer(1)), 201)


def test_throttled_answer_never_contains_the_password(post_json, user):
    fail(post_json, 5)

    response = post_json(LOGIN, GOOD)

    assert_throttled(response)
    assert b"strongpassword" not in response.content


def test_behind_the_gateway_the_address_is_the_one_the_gateway_saw(
    post_json, user, settings, throttle_rates
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    throttle_rates(login_address="2/min")
    gateway = {"REMOTE_ADDR": "127.0.0.1"}

    # The client may prepend anything to X-Forwarded-For; the gateway appends what it saw.
    for spoofed in ("1.1.1.1", "2.2.2.2"):
        forwarded = {"HTTP_X_FORWARDED_FOR": f"{spoofed}, 203.0.113.7"}
        assert_status(post_json(LOGIN, GOOD, **gateway, **forwarded), 200)

    throttled = post_json(LOGIN, GOOD, **gateway, HTTP_X_FORWARDED_FOR="3.3.3.3, 203.0.113.7")
    assert_throttled(throttled)
    other = post_json(LOGIN, GOOD, **gateway, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert_status(other, 200)
