"""API2/API4 against the auth service: brute-force throttling (429 + Retry-After) and user
enumeration through messages, codes and timing, kept to what the contract allows."""

import statistics
import time

from devstack import client

# The per-account limits (failed sign-ins per account and address: LOGIN_FAILURES_BEFORE_BACKOFF;
# REGISTER_ACCOUNT_THROTTLE_RATE), counted in the cache every gunicorn worker shares (Redis, or
# files without REDIS_URL). Every request here comes from one address, so the attacker's.
MOST_FAILURES_BEFORE_429 = 5
MOST_REGISTRATIONS_BEFORE_429 = 10


def login(http, gw, identifier: str, password: str, field: str = "email"):
    return http.post(
        f"{gw}/api/auth/login/", json={field: identifier, "password": password}, timeout=20
    )


def test_unknown_account_and_wrong_password_answer_alike(http, gw):
    known = client.register(http, gw, client.unique_email("known"))["user"]
    wrong_password = login(http, gw, known["email"], "not-the-password")
    unknown_email = login(http, gw, client.unique_email("nobody"), "not-the-password")
    unknown_username = login(http, gw, "nobody-at-all-x", "not-the-password", field="username")
    wrong_by_username = login(http, gw, known["username"], "not-the-password", field="username")
    answers = [wrong_password, unknown_email, unknown_username, wrong_by_username]
    assert {r.status_code for r in answers} == {400}, [r.text for r in answers]
    bodies = [r.json() for r in answers]
    assert all(body == bodies[0] for body in bodies), bodies
    assert (
        "password" not in bodies[0].get("message", "").lower().replace("credentials", "")
        or bodies[0]["code"] == "invalid_credentials"
    )


def test_login_timing_does_not_tell_unknown_from_known(http, gw):
    """An unknown account is hashed anyway: the two medians stay within a factor of two."""
    accounts = [client.register(http, gw, client.unique_email("timing"))["user"] for _ in range(4)]
    known, unknown = [], []
    for round_ in range(3):
        for account in accounts:  # 3 failures per account stay under its limit of 5/min
            started = time.perf_counter()
            assert login(http, gw, account["email"], f"wrong-{round_}").status_code == 400
            known.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert login(http, gw, client.unique_email("ghost"), "wrong").status_code == 400
            unknown.append(time.perf_counter() - started)
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2.0, (statistics.median(known), statistics.median(unknown))


def test_password_guessing_is_throttled_per_account(http, gw):
    victim = client.register(http, gw, client.unique_email("brute"))["user"]
    statuses = []
    for attempt in range(MOST_FAILURES_BEFORE_429 + 2):
        field, identifier = (
            ("email", victim["email"].upper())
            if attempt % 2
            else (
                "username",
                victim["username"],
            )
        )
        response = login(http, gw, identifier, f"guess-{attempt}", field=field)
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429, statuses
    assert statuses.count(400) <= MOST_FAILURES_BEFORE_429, statuses
    throttled = response
    retry_after = throttled.headers.get("Retry-After", "")
    assert retry_after.isdigit(), throttled.headers
    assert 0 < int(retry_after) <= 60
    assert throttled.headers["Content-Type"].startswith("application/json")
    assert throttled.json().get("message")
    # The right password is refused too while the account is locked (every worker agrees)...
    assert login(http, gw, victim["email"], client.PASSWORD).status_code == 429
    # ...but another account from the same address (carrier NAT) signs in normally.
    other = client.register(http, gw, client.unique_email("neighbour"))["user"]
    assert login(http, gw, other["email"], client.PASSWORD).status_code == 200


def test_unknown_accounts_are_throttled_too(http, gw):
    """Guessing against an address that has no account is throttled like a real one (else the
    429 itself would tell which accounts exist)."""
    ghost = client.unique_email("ghost")
    attempts = range(MOST_FAILURES_BEFORE_429 + 2)
    statuses = [login(http, gw, ghost, f"guess-{n}").status_code for n in attempts]
    assert 429 in statuses, statuses


def test_register_duplicate_says_taken_without_leaking_more(http, gw):
    first = client.register(http, gw, client.unique_email("dup"))["user"]
    response = http.post(
        f"{gw}/api/auth/register/",
        json={
            "first_name": "X",
            "last_name": "Y",
            "email": first["email"].upper(),
            "password": client.PASSWORD,
        },
        timeout=client.TIMEOUT,
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert "email" in body
    text = response.text.lower()
    assert str(first["id"]) not in text.replace(first["email"].lower(), "")
    assert first["username"].lower() not in text
    assert "password" not in body


def test_register_is_throttled_per_email(http, gw):
    email = client.unique_email("flood")
    statuses = []
    for _ in range(MOST_REGISTRATIONS_BEFORE_429 + 2):
        response = http.post(
            f"{gw}/api/auth/register/",
            json={"first_name": "X", "last_name": "Y", "email": email, "password": client.PASSWORD},
            timeout=client.TIMEOUT,
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.headers.get("Retry-After", "").isdigit()
            break
    assert statuses[0] == 201
    assert statuses[-1] == 429, statuses
