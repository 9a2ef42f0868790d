"""POST password/reset/ (always 202, no enumeration) and password/reset/confirm/ (uid, token,
new password: every session ends). The email goes through Django's backend (in-memory here)."""

import os
import re
import subprocess
import sys
import time

import pytest
from django.core import mail

from accounts import backends
from accounts.models import Session
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import PROFILE, REFRESH, bearer, session_of
from common import revocation
from common.testing import assert_status

RESET = "/api/auth/password/reset/"
CONFIRM = "/api/auth/password/reset/confirm/"
LOGIN = "/api/auth/login/"
NEW = "a-new-strong-password"

pytestmark = pytest.mark.django_db


def reset_code(message) -> dict:
    uid = re.search(r"uid:\s+(\S+)", message.body)
    token = re.search(r"token:\s+(\S+)", message.body)
    assert uid, message.body
    assert token, message.body
    return {"uid": uid[1], "token": token[1]}


def request_code(post_json, email="jane@example.com") -> dict:
    assert_status(post_json(RESET, {"email": email}), 202)
    return reset_code(mail.outbox[-1])


def test_a_reset_request_for_an_account_is_202_and_emails_a_code(post_json, user):
    response = post_json(RESET, {"email": "Jane@Example.com"})

    assert_status(response, 202)
    assert response.json()["message"]
    (message,) = mail.outbox
    assert message.to == ["jane@example.com"]
    assert message.subject == "Reset your Media Handler password"
    assert reset_code(message)["uid"]


def test_a_reset_request_for_no_account_answers_the_same_and_sends_nothing(post_json, user):
    known = post_json(RESET, {"email": "jane@example.com"})
    unknown = post_json(RESET, {"email": "nobody@example.com"})

    assert_status(unknown, 202)
    assert unknown.json() == known.json()
    assert [message.to for message in mail.outbox] == [["jane@example.com"]]


def test_an_inactive_account_gets_no_email(post_json):
    UserFactory(username="gone", email="gone@example.com", is_active=False)

    assert_status(post_json(RESET, {"email": "gone@example.com"}), 202)

    assert mail.outbox == []


def test_the_reset_link_is_in_the_email_when_configured(post_json, user, settings):
    settings.PASSWORD_RESET_URL = "https://app.example.com/reset?uid={uid}&token={token}"

    code = request_code(post_json)

    assert f"https://app.example.com/reset?uid={code['uid']}&token={code['token']}" in (
        mail.outbox[-1].body
    )


def test_confirming_sets_the_password_and_ends_every_session(api_client, post_json, sign_in, user):
    phone, laptop = sign_in(), sign_in()
    code = request_code(post_json)

    response = post_json(CONFIRM, {**code, "new_password": NEW})

    assert_status(response, 200)
    for tokens in (phone, laptop):
        assert_status(post_json(REFRESH, {"refresh": tokens["refresh"]}), 400)
        assert_status(api_client.get(PROFILE, **bearer(tokens)), 401)
    assert_status(post_json(LOGIN, {"username": "jane", "password": "strongpassword"}), 400)
    assert_status(post_json(LOGIN, {"username": "jane", "password": NEW}), 200)


def test_confirming_publishes_marks_for_every_session_and_the_user(
    post_json, sign_in, user, published_marks, django_capture_on_commit_callbacks
):
    phone = sign_in()
    code = request_code(post_json)

    with django_capture_on_commit_callbacks(execute=True):
        post_json(CONFIRM, {**code, "new_password": NEW})

    marks = published_marks()
    assert revocation.session_key(str(session_of(phone).pk)) in marks
    assert revocation.user_key(user.pk) in marks


def test_after_a_reset_the_owner_is_told_by_email(post_json, user):
    code = request_code(post_json)

    assert_status(post_json(CONFIRM, {**code, "new_password": NEW}), 200)

    assert [m.subject for m in mail.outbox] == [
        "Reset your Media Handler password",
        "Your Media Handler password was changed",
    ]


def test_a_code_works_once(post_json, user):
    code = request_code(post_json)
    assert_status(post_json(CONFIRM, {**code, "new_password": NEW}), 200)

    again = post_json(CONFIRM, {**code, "new_password": "yet-another-password"})

    assert_status(again, 400)
    assert again.json()["code"] == "invalid_reset_code"


@pytest.mark.parametrize(
    "change",
    [
        {"token": "bad-token"},
        {"uid": "bad"},
        {"uid": "MTA"},  # base64 of a user id that does not exist
        {"uid": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk"},  # an id past 64 bits
        {"uid": "_w"},  # not UTF-8
    ],
)
def test_a_wrong_code_is_400_naming_the_token(post_json, user, change):
    code = request_code(post_json)

    response = post_json(CONFIRM, {**code, **change, "new_password": NEW})

    assert_status(response, 400)
    assert response.json()["token"]
    assert_status(post_json(LOGIN, {"username": "jane", "password": "strongpassword"}), 200)


def test_an_expired_code_is_refused(post_json, user, settings):
    code = request_code(post_json)
    settings.PASSWORD_RESET_TIMEOUT = -1

    assert_status(post_json(CONFIRM, {**code, "new_password": NEW}), 400)


def test_a_weak_new_password_is_400_naming_it_and_keeps_the_code_usable(post_json, user):
    code = request_code(post_json)

    weak = post_json(CONFIRM, {**code, "new_password": "password"})

    assert_status(weak, 400)
    assert weak.json()["new_password"]
    assert_status(post_json(CONFIRM, {**code, "new_password": NEW}), 200)


@pytest.mark.parametrize("email", ["", "not-an-email", None, ["jane@example.com"]])
def test_a_malformed_email_is_400(post_json, email):
    assert_status(post_json(RESET, {"email": email}), 400)


@pytest.mark.parametrize("exists", [True, False])
def test_reset_requests_are_throttled_per_email_whether_or_not_it_has_an_account(
    post_json, user, exists
):
    email = "jane@example.com" if exists else "nobody@example.com"
    for n in range(5):
        assert_status(post_json(RESET, {"email": email}, REMOTE_ADDR=f"10.0.0.{n}"), 202)

    throttled = post_json(RESET, {"email": email.upper()}, REMOTE_ADDR="10.0.1.1")

    assert_status(throttled, 429)
    assert int(throttled["Retry-After"]) >= 1


def test_made_up_codes_from_elsewhere_never_hold_the_owners_confirmation(
    post_json, user, throttle_rates
):
    # A uid is the account's number, no secret: anyone can send codes for it.
    throttle_rates(password_reset_account="3/hour")
    code = request_code(post_json)
    for _ in range(3):
        made_up = {**code, "token": "made-up-token", "new_password": NEW}
        assert_status(post_json(CONFIRM, made_up, REMOTE_ADDR="203.0.113.9"), 400)
    held = post_json(
        CONFIRM, {**code, "token": "x", "new_password": NEW}, REMOTE_ADDR="203.0.113.9"
    )
    assert_status(held, 429)

    owners = post_json(CONFIRM, {**code, "new_password": NEW}, REMOTE_ADDR="198.51.100.7")

    assert_status(owners, 200)


def test_reset_requests_are_throttled_per_address(post_json, db, throttle_rates):
    throttle_rates(password_reset_address="3/hour")
    for n in range(3):
        assert_status(post_json(RESET, {"email": f"u{n}@example.com"}), 202)

    assert_status(post_json(RESET, {"email": "u9@example.com"}), 429)


def test_reset_ignores_a_stale_authorization_header(post_json, user):
    response = post_json(RESET, {"email": "jane@example.com"}, HTTP_AUTHORIZATION="Bearer old")

    assert_status(response, 202)


def test_the_email_is_sent_after_the_answer_when_in_background(post_json, user, settings):
    settings.EMAIL_IN_BACKGROUND = True

    assert_status(post_json(RESET, {"email": "jane@example.com"}), 202)

    deadline = time.monotonic() + 5
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [message.to for message in mail.outbox] == [["jane@example.com"]]


@pytest.mark.parametrize(
    ("email_url", "backend", "host"),
    [
        ("", "django.core.mail.backends.console.EmailBackend", "None"),
        ("smtp://127.0.0.1:2525", "django.core.mail.backends.smtp.EmailBackend", "127.0.0.1"),
    ],
)
def test_the_service_mails_through_the_console_unless_email_url_says_otherwise(
    email_url, backend, host
):
    # The service's settings module, read afresh in a process of its own with EMAIL_URL set.
    read = "from auth_server import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST)"
    env = {**os.environ, "EMAIL_URL": email_url, "MEDIA_HANDLER_ENV": "test"}
    output = subprocess.run(  # noqa: S603 -- our own Python, with arguments written here
        [sys.executable, "-c", read], env=env, capture_output=True, text=True, check=True
    ).stdout.split()

    assert output == [backend, host]


def test_a_sign_in_that_checked_the_old_password_as_the_reset_saved_gets_no_session(
    post_json, user, monkeypatch
):
    # The owner's reset lands between an attacker's password check (the old password, right
    # then) and the start of the attacker's session: "every session ends" covers that one too.
    code = request_code(post_json)
    check = backends.EmailOrUsernameBackend.authenticate

    def check_then_reset(self, request, **credentials):
        checked = check(self, request, **credentials)
        assert_status(post_json(CONFIRM, {**code, "new_password": NEW}), 200)
        return checked

    monkeypatch.setattr(backends.EmailOrUsernameBackend, "authenticate", check_then_reset)

    attacker = post_json(LOGIN, {"username": "jane", "password": PASSWORD})

    assert_status(attacker, 400)
    assert attacker.json()["code"] == "invalid_credentials"
    assert not Session.objects.filter(user=user).exists()
