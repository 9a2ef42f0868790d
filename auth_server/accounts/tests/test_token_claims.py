"""Genuinely signed tokens (only the signing key can make them) whose claims have the wrong
type or range: every place the auth service reads a token refuses them with its usual 4xx,
never a 500 (issue 12, item 10)."""

import pytest

from accounts.tokens import AccessToken, RefreshToken
from common.testing import assert_status

LOGOUT = "/api/auth/logout/"
REFRESH_PATHS = ["/api/auth/refresh/", "/api/auth/token/refresh/"]
PROFILE = "/api/auth/profile/"

pytestmark = pytest.mark.django_db

BAD_USER_IDS = ["abc", 2**64, 2**63, -1, 0, True, 1.5, None, [1], {"id": 1}, "1" * 30]


def _signed(token_class, user_id) -> str:
    token = token_class()
    token["user_id"] = user_id
    return str(token)


@pytest.mark.parametrize("user_id", BAD_USER_IDS)
def test_bare_logout_with_a_strange_user_id_is_400(api_client, user_id):
    response = api_client.post(LOGOUT, HTTP_AUTHORIZATION=f"Bearer {_signed(AccessToken, user_id)}")

    assert_status(response, 400)
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.parametrize("user_id", BAD_USER_IDS)
def test_logout_of_a_refresh_token_with_a_strange_user_id_is_400(post_json, user_id):
    response = post_json(LOGOUT, {"refresh": _signed(RefreshToken, user_id)})

    assert_status(response, 400)
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.parametrize("url", REFRESH_PATHS)
@pytest.mark.parametrize("user_id", BAD_USER_IDS)
def test_refresh_with_a_strange_user_id_is_invalid_grant(post_json, url, user_id):
    response = post_json(url, {"refresh": _signed(RefreshToken, user_id)})

    assert_status(response, 400)
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("user_id", BAD_USER_IDS)
def test_profile_with_a_strange_user_id_is_401(api_client, user_id):
    response = api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {_signed(AccessToken, user_id)}")

    assert_status(response, 401)


def test_a_user_id_given_as_a_decimal_string_still_names_the_user(api_client, user):
    response = api_client.get(
        PROFILE, HTTP_AUTHORIZATION=f"Bearer {_signed(AccessToken, str(user.pk))}"
    )

    assert_status(response, 200)
    assert response.json()["id"] == user.pk
