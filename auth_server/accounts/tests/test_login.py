import pytest

from accounts.selectors import user_by_login_identifier
from accounts.tests.factories import UserFactory
from accounts.tokens import AccessToken, RefreshToken
from common.testing import assert_status

URL = "/api/auth/login/"

pytestmark = pytest.mark.django_db


def test_seed_example_logs_in_with_username(post_json, user):
    response = post_json(URL, {"username": "jane", "password": "strongpassword"})

    assert_status(response, 200)
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"]["id"] == user.pk
    assert body["user"]["username"] == "jane"
    assert AccessToken(body["access"])["user_id"] == user.pk
    assert RefreshToken(body["refresh"])["user_id"] == user.pk
    assert response["Cache-Control"] == "no-store"


def test_mobile_app_logs_in_with_email(post_json, user):
    response = post_json(URL, {"email": "jane@example.com", "password": "strongpassword"})

    assert_status(response, 200)
    assert response.json()["user"]["id"] == user.pk


def test_email_in_the_username_field_logs_in(post_json, user):
    response = post_json(URL, {"username": "jane@example.com", "password": "strongpassword"})

    assert_status(response, 200)
    assert response.json()["user"]["id"] == user.pk


@pytest.mark.parametrize(
    "body",
    [
        {"username": "JANE", "password": "strongpassword"},
        {"email": "Jane@Example.COM", "password": "strongpassword"},
        {"username": " jane@EXAMPLE.com ", "password": "strongpassword"},
    ],
)
def test_username_and_email_match_in_any_case(post_json, user, body):
    response = post_json(URL, body)

    assert_status(response, 200)
    assert response.json()["user"]["id"] == user.pk


def test_email_wins_when_both_are_sent(post_json, user):
    UserFactory(username="other", email="other@example.com")

    response = post_json(
        URL, {"username": "other", "email": "jane@example.com", "password": "strongpassword"}
    )

    assert_status(response, 200)
    assert response.json()["user"]["id"] == user.pk


@pytest.mark.parametrize(
    "body",
    [
        {"username": "jane", "password": "wrongpassword"},
        {"email": "jane@example.com", "password": "Strongpassword"},
        {"username": "nobody", "password": "strongpassword"},
        {"email": "nobody@example.com", "password": "strongpassword"},
    ],
)
def test_wrong_credentials_are_400_not_401(post_json, user, body):
    response = post_json(URL, body)

    # Not a 401: the mobile app answers any 401 by refreshing, and retrying.
    assert_status(response, 400)
    assert response.json() == {
        "detail": "No active account found with the given credentials.",
        "code": "invalid_credentials",
        "message": "No active account found with the given credentials.",
    }
    assert "access" not in response.json()


def test_inactive_user_cannot_log_in(post_json):
    UserFactory(username="gone", is_active=False)

    response = post_json(URL, {"username": "gone", "password": "strongpassword"})

    assert_status(response, 400)
    assert response.json()["code"] == "invalid_credentials"


def test_missing_username_and_email_is_400_naming_username(post_json, user):
    response = post_json(URL, {"password": "strongpassword"})

    assert_status(response, 400)
    assert "username" in response.json()


def test_missing_password_is_400_naming_password(post_json, user):
    response = post_json(URL, {"username": "jane"})

    assert_status(response, 400)
    assert response.json()["password"] == ["This field is required."]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", ["jane"]),
        ("username", "j" * 300),
        ("email", "not-an-email"),
        ("password", {"secret": 1}),
        ("password", "p" * 129),
        # The failure throttle looks the account up before validation: PostgreSQL refuses NUL.
        ("username", "jane\x00"),
        ("email", "jane@example.com\x00"),
        # Nor a lone surrogate (valid JSON, but not UTF-8), known account or not.
        ("username", "jane\ud800"),
        ("email", "\ud800@example.com"),
    ],
)
def test_bad_field_is_400_naming_it(post_json, user, field, value):
    response = post_json(URL, {"username": "jane", "password": "strongpassword", field: value})

    assert_status(response, 400)
    assert field in response.json()


def test_malformed_json_is_400(api_client, user):
    response = api_client.post(URL, data="{username: jane}", content_type="application/json")

    assert_status(response, 400)
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize(
    "authorization", ["Bearer ", "Bearer stale.token.value", "Basic Zm9vOmJhcg=="]
)
def test_login_ignores_a_stale_or_empty_authorization_header(post_json, user, authorization):
    response = post_json(
        URL,
        {"email": "jane@example.com", "password": "strongpassword"},
        HTTP_AUTHORIZATION=authorization,
    )

    assert_status(response, 200)


def test_login_ignores_an_expired_access_token(post_json, user, expired_access):
    response = post_json(
        URL,
        {"email": "jane@example.com", "password": "strongpassword"},
        HTTP_AUTHORIZATION=f"Bearer {expired_access}",
    )

    assert_status(response, 200)


def test_password_never_appears_in_the_answer_or_the_logs(post_json, user, caplog):
    caplog.set_level("DEBUG")

    ok = post_json(URL, {"username": "jane", "password": "strongpassword"})
    refused = post_json(URL, {"username": "jane", "password": "guessedpassword"})

    assert_status(ok, 200)
    assert_status(refused, 400)
    for response in (ok, refused):
        assert b"strongpassword" not in response.content
        assert b"guessedpassword" not in response.content
        assert user.password.encode() not in response.content
    assert "strongpassword" not in caplog.text
    assert "guessedpassword" not in caplog.text
    assert user.password not in caplog.text


def test_login_costs_five_queries(post_json, user, django_assert_num_queries):
    # The account (for the failure throttle), the password check, the account read again under
    # its lock (unchanged since the check), the outstanding token, the session; and the
    # savepoint (made and released) of their transaction inside the test's.
    with django_assert_num_queries(5 + 2):
        assert_status(post_json(URL, {"username": "jane", "password": "strongpassword"}), 200)


@pytest.mark.parametrize(
    "identifier", ["jane\x00", "jane@example.com\x00", "\x00", "jane\ud800", "\udfff@example.com"]
)
def test_identifier_with_a_nul_names_no_account_without_a_query(
    user, identifier, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert user_by_login_identifier(identifier=identifier) is None
