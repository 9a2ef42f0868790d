import pytest

from accounts.tests.factories import UserFactory
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


def test_five_failed_logins_lock_the_account_for_a_while(post_json, user):
    for _attempt in range(5):
        assert_status(post_json(LOGIN, BAD), 400)

    locked = post_json(LOGIN, GOOD)

    assert_throttled(locked)
    assert int(locked["Retry-After"]) <= 60


def test_account_lock_holds_across_addresses_and_names_of_the_account(post_json, user):
    names = ["jane", "JANE", "jane@example.com", "Jane@Example.com", "jane"]
    for n, name in enumerate(names):
        body = {"username": name, "password": "guessedpassword"}
        assert_status(post_json(LOGIN, body, **_from(f"10.0.0.{n}")), 400)

    assert_throttled(post_json(LOGIN, {"email": "jane@example.com", "password": "x"}))


def test_successful_logins_do_not_count_towards_the_account_limit(post_json, user):
    for _attempt in range(8):
        assert_status(post_json(LOGIN, GOOD), 200)


def test_a_successful_login_forgets_earlier_failures(post_json, user):
    for _attempt in range(4):
        assert_status(post_json(LOGIN, BAD), 400)
    assert_status(post_json(LOGIN, GOOD), 200)

    for _attempt in range(4):
        assert_status(post_json(LOGIN, BAD), 400)
    assert_status(post_json(LOGIN, GOOD), 200)


def test_a_locked_account_does_not_lock_others(post_json, user):
    UserFactory(username="john", email="john@example.com")
    for _attempt in range(5):
        assert_status(post_json(LOGIN, BAD), 400)
    assert_throttled(post_json(LOGIN, GOOD))

    assert_status(post_json(LOGIN, {"username": "john", "password": "strongpassword"}), 200)


def test_failed_logins_for_an_unknown_name_are_limited_too(post_json, db):
    body = {"username": "ghost", "password": "guessedpassword"}
    for _attempt in range(5):
        assert_status(post_json(LOGIN, body), 400)

    assert_throttled(post_json(LOGIN, body))


def test_the_account_limit_follows_the_setting(post_json, user, throttle_rates):
    throttle_rates(login_account="2/min")
    for _attempt in range(2):
        assert_status(post_json(LOGIN, BAD), 400)

    assert_throttled(post_json(LOGIN, GOOD))


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
    for _attempt in range(5):
        post_json(LOGIN, BAD)

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
