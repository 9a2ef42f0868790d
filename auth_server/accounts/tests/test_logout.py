import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.tests.factories import UserFactory
from accounts.tokens import RefreshToken
from common.testing import assert_status

URL = "/api/auth/logout/"
REFRESH = "/api/auth/refresh/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions(user):
    """Three signed-in devices of the same user."""
    return [str(RefreshToken.for_user(user)) for _ in range(3)]


def test_logout_with_refresh_token_revokes_it(post_json, tokens):
    response = post_json(
        URL, {"refresh": tokens["refresh"]}, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}"
    )

    assert_status(response, 205)
    assert response.content == b""
    refused = post_json(REFRESH, {"refresh": tokens["refresh"]})
    assert_status(refused, 400)
    assert refused.json()["error"] == "invalid_grant"


def test_logout_with_refresh_token_needs_no_access_token(post_json, tokens, sessions):
    response = post_json(URL, {"refresh": tokens["refresh"]})

    assert_status(response, 205)
    assert_status(post_json(REFRESH, {"refresh": tokens["refresh"]}), 400)
    # The user's other sessions live on.
    for refresh in sessions:
        assert_status(post_json(REFRESH, {"refresh": refresh}), 200)


def test_logging_out_twice_with_the_same_refresh_token_is_fine(post_json, tokens):
    assert_status(post_json(URL, {"refresh": tokens["refresh"]}), 205)
    assert_status(post_json(URL, {"refresh": tokens["refresh"]}), 205)
    assert BlacklistedToken.objects.count() == 1


def test_logout_with_an_expired_refresh_token_is_205(post_json, user):
    refresh = RefreshToken.for_user(user)
    refresh.set_exp(from_time=refresh.current_time, lifetime=-refresh.lifetime)

    assert_status(post_json(URL, {"refresh": str(refresh)}), 205)


def test_bare_logout_with_an_access_token_revokes_all_refresh_tokens(
    api_client, post_json, tokens, sessions
):
    other_user_refresh = str(RefreshToken.for_user(UserFactory()))

    response = api_client.post(URL, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    assert_status(response, 205)
    for refresh in [tokens["refresh"], *sessions]:
        assert_status(post_json(REFRESH, {"refresh": refresh}), 400)
    assert_status(post_json(REFRESH, {"refresh": other_user_refresh}), 200)


def test_bare_logout_with_an_expired_access_token_revokes_all(
    api_client, post_json, expired_access, tokens, sessions
):
    response = api_client.post(URL, HTTP_AUTHORIZATION=f"Bearer {expired_access}")

    assert_status(response, 205)
    for refresh in [tokens["refresh"], *sessions]:
        assert_status(post_json(REFRESH, {"refresh": refresh}), 400)


def test_logout_with_an_empty_json_body_and_an_access_token_revokes_all(post_json, tokens):
    response = post_json(URL, {}, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    assert_status(response, 205)
    assert_status(post_json(REFRESH, {"refresh": tokens["refresh"]}), 400)


def test_logout_then_refresh_is_refused_and_ends_the_app_loop(api_client, post_json, tokens):
    assert_status(api_client.post(URL, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}"), 205)

    refused = post_json(REFRESH, {"refresh": tokens["refresh"]})

    assert_status(refused, 400)
    assert refused.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer ", "Bearer not.a.token", "Basic Zm9vOmJhcg=="]
)
def test_logout_with_nothing_usable_is_400_never_401(api_client, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}

    response = api_client.post(URL, **headers)

    assert_status(response, 400)
    assert response.json()["message"]
    assert response.json()["code"] in {"logout_without_token", "token_not_valid"}


def test_bare_logout_with_a_refresh_token_in_the_header_is_400(api_client, tokens):
    response = api_client.post(URL, HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}")

    assert_status(response, 400)
    assert "wrong type" in response.json()["message"]


def test_logout_with_an_access_token_as_the_refresh_token_is_400(post_json, tokens):
    response = post_json(URL, {"refresh": tokens["access"]})

    assert_status(response, 400)
    assert response.json()["code"] == "token_not_valid"
    assert not BlacklistedToken.objects.exists()


@pytest.mark.parametrize("garbage", ["not-a-token", "a.b.c"])
def test_logout_with_a_garbage_refresh_token_is_400(post_json, tokens, garbage):
    response = post_json(URL, {"refresh": garbage}, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    assert_status(response, 400)
    # A refresh token that is not ours does not fall back to revoking everything.
    assert_status(post_json(REFRESH, {"refresh": tokens["refresh"]}), 200)


def test_logout_with_a_wrongly_typed_refresh_field_is_400_naming_it(post_json):
    response = post_json(URL, {"refresh": ["token"]})

    assert_status(response, 400)
    assert "refresh" in response.json()
