"""POST password/change/: the current password and a new one; the other sessions end."""

import pytest
from django.core import mail

from accounts.tests.helpers import PROFILE, REFRESH, bearer, session_of
from common import revocation
from common.testing import assert_status

URL = "/api/auth/password/change/"
LOGIN = "/api/auth/login/"
NEW = "a-new-strong-password"

pytestmark = pytest.mark.django_db


def change(api_client, tokens, old="strongpassword", new=NEW):
    return api_client.post(
        URL, {"old_password": old, "new_password": new}, format="json", **bearer(tokens)
    )


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    api_client, post_json, sign_in, user
):
    here, elsewhere = sign_in(), sign_in()

    response = change(api_client, here)

    assert_status(response, 200)
    assert response.json()["message"]
    assert_status(api_client.get(PROFILE, **bearer(here)), 200)
    assert_status(post_json(REFRESH, {"refresh": here["refresh"]}), 200)
    assert_status(post_json(REFRESH, {"refresh": elsewhere["refresh"]}), 400)
    assert_status(api_client.get(PROFILE, **bearer(elsewhere)), 401)
    assert_status(post_json(LOGIN, {"username": "jane", "password": "strongpassword"}), 400)
    assert_status(post_json(LOGIN, {"username": "jane", "password": NEW}), 200)


def test_the_other_sessions_marks_are_published(
    api_client, sign_in, published_marks, django_capture_on_commit_callbacks
):
    here, elsewhere = sign_in(), sign_in()

    with django_capture_on_commit_callbacks(execute=True):
        change(api_client, here)

    marks = published_marks()
    assert revocation.session_key(str(session_of(elsewhere).pk)) in marks
    assert revocation.session_key(str(session_of(here).pk)) not in marks


def test_a_wrong_current_password_is_400_naming_it(api_client, post_json, sign_in):
    here, elsewhere = sign_in(), sign_in()

    response = change(api_client, here, old="not-my-password")

    assert_status(response, 400)
    assert response.json()["old_password"] == ["The current password is wrong."]
    assert_status(post_json(REFRESH, {"refresh": elsewhere["refresh"]}), 200)


@pytest.mark.parametrize("weak", ["password", "short", "12345678901", "jane@example.com"])
def test_a_new_password_the_validators_refuse_is_400_naming_it(api_client, sign_in, weak):
    response = change(api_client, sign_in(), new=weak)

    assert_status(response, 400)
    assert response.json()["new_password"]


@pytest.mark.parametrize("missing", ["old_password", "new_password"])
def test_a_missing_field_is_400_naming_it(api_client, sign_in, missing):
    body = {"old_password": "strongpassword", "new_password": NEW}
    del body[missing]

    response = api_client.post(URL, body, format="json", **bearer(sign_in()))

    assert_status(response, 400)
    assert missing in response.json()


def test_changing_the_password_needs_an_access_token(api_client):
    response = api_client.post(URL, {"old_password": "a", "new_password": NEW}, format="json")

    assert_status(response, 401)


def test_password_checks_are_throttled_per_account(api_client, sign_in, throttle_rates):
    throttle_rates(password_check_account="2/hour")
    tokens = sign_in()
    for _attempt in range(2):
        assert_status(change(api_client, tokens, old="guess"), 400)

    throttled = change(api_client, tokens)

    assert_status(throttled, 429)
    assert int(throttled["Retry-After"]) >= 1


def test_the_owner_is_told_by_email(api_client, sign_in, user):
    change(api_client, sign_in())

    (message,) = mail.outbox
    assert message.to == ["jane@example.com"]
    assert message.subject == "Your Media Handler password was changed"
    assert NEW not in message.body


def test_a_refused_change_sends_no_email(api_client, sign_in):
    change(api_client, sign_in(), old="not-my-password")

    assert mail.outbox == []
