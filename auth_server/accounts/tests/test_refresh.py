import pytest

from accounts.models import User
from accounts.services import refresh_token_revoke
from accounts.tokens import AccessToken, RefreshToken
from common.testing import assert_status

PATHS = ["/api/auth/token/refresh/", "/api/auth/refresh/"]
PROFILE = "/api/auth/profile/"

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("url", PATHS)]


@pytest.fixture
def rotation(settings):
    settings.SIMPLE_JWT = {
        **settings.SIMPLE_JWT,
        "ROTATE_REFRESH_TOKENS": True,
        "BLACKLIST_AFTER_ROTATION": True,
    }


def assert_invalid_grant(response) -> None:
    assert_status(response, 400)
    body = response.json()
    assert body["error"] == "invalid_grant"
    assert body["code"] == "invalid_grant"
    assert body["message"]
    assert body["detail"] == body["message"]


def test_refresh_gives_an_access_token_and_no_refresh_token(post_json, user, tokens, url):
    response = post_json(url, {"refresh": tokens["refresh"]})

    assert_status(response, 200)
    assert set(response.json()) == {"access"}
    access = AccessToken(response.json()["access"])
    assert access["user_id"] == user.pk
    assert access["email"] == "jane@example.com"
    assert access["username"] == "jane"
    assert response["Cache-Control"] == "no-store"


def test_refresh_twice_with_the_same_token_works_while_rotation_is_off(post_json, tokens, url):
    first = post_json(url, {"refresh": tokens["refresh"]})
    second = post_json(url, {"refresh": tokens["refresh"]})

    assert_status(first, 200)
    assert_status(second, 200)
    assert first.json()["access"] != second.json()["access"]


def test_refreshed_access_token_carries_the_users_current_claims(post_json, user, tokens, url):
    User.objects.filter(pk=user.pk).update(email="jane.doe@example.com", username="janedoe")

    response = post_json(url, {"refresh": tokens["refresh"]})

    assert_status(response, 200)
    access = AccessToken(response.json()["access"])
    assert access["email"] == "jane.doe@example.com"
    assert access["username"] == "janedoe"


def test_rotation_on_gives_a_new_refresh_token_and_refuses_the_old(
    post_json, tokens, rotation, url
):
    first = post_json(url, {"refresh": tokens["refresh"]})

    assert_status(first, 200)
    assert set(first.json()) == {"access", "refresh"}
    assert first.json()["refresh"] != tokens["refresh"]
    assert_invalid_grant(post_json(url, {"refresh": tokens["refresh"]}))
    assert_status(post_json(url, {"refresh": first.json()["refresh"]}), 200)


def test_refresh_with_revoked_token_is_400_invalid_grant(post_json, tokens, url):
    refresh_token_revoke(refresh=tokens["refresh"])

    response = post_json(url, {"refresh": tokens["refresh"]})

    assert_invalid_grant(response)
    assert "blacklisted" in response.json()["message"]


def test_refresh_with_expired_token_is_400_invalid_grant(post_json, user, url):
    refresh = RefreshToken.for_user(user)
    refresh.set_exp(from_time=refresh.current_time, lifetime=-refresh.lifetime)

    response = post_json(url, {"refresh": str(refresh)})

    assert_invalid_grant(response)
    assert "expired" in response.json()["message"]


@pytest.mark.parametrize("garbage", ["not-a-token", "a.b.c", "", " "])
def test_refresh_with_garbage_is_400(post_json, url, garbage):
    response = post_json(url, {"refresh": garbage})

    assert_status(response, 400)
    assert response.json()["message"]


def test_refresh_with_an_access_token_is_400_invalid_grant(post_json, tokens, url):
    response = post_json(url, {"refresh": tokens["access"]})

    assert_invalid_grant(response)
    assert "wrong type" in response.json()["message"]


def test_refresh_for_a_deleted_user_is_400_invalid_grant(post_json, user, tokens, url):
    user.delete()

    assert_invalid_grant(post_json(url, {"refresh": tokens["refresh"]}))


def test_refresh_for_an_inactive_user_is_400_invalid_grant(post_json, user, tokens, url):
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert_invalid_grant(post_json(url, {"refresh": tokens["refresh"]}))


def test_missing_refresh_field_is_400_naming_it(post_json, url):
    response = post_json(url, {})

    assert_status(response, 400)
    assert response.json()["refresh"] == ["This field is required."]


@pytest.mark.parametrize("value", [True, ["token"], {"token": 1}, None, "x" * 5000])
def test_wrong_type_or_overlong_refresh_is_400_naming_it(post_json, url, value):
    response = post_json(url, {"refresh": value})

    assert_status(response, 400)
    assert "refresh" in response.json()


@pytest.mark.parametrize("authorization", ["Bearer ", "Bearer stale.token.value"])
def test_refresh_ignores_a_stale_or_empty_authorization_header(
    post_json, tokens, url, authorization
):
    response = post_json(url, {"refresh": tokens["refresh"]}, HTTP_AUTHORIZATION=authorization)

    assert_status(response, 200)


def test_refresh_ignores_an_expired_access_token_header(post_json, tokens, expired_access, url):
    response = post_json(
        url, {"refresh": tokens["refresh"]}, HTTP_AUTHORIZATION=f"Bearer {expired_access}"
    )

    assert_status(response, 200)


def test_the_mobile_apps_refresh_loop_ends_when_the_session_is_dead(
    api_client, post_json, user, expired_access, tokens, url
):
    """The app answers every 401 by refreshing and retrying, with no guard. With an expired
    access token and a revoked refresh token, it must be told to stop (a 400) at once."""
    refresh_token_revoke(refresh=tokens["refresh"])
    access = expired_access
    calls = []
    for _attempt in range(10):
        profile = api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {access}")
        calls.append(("profile", profile.status_code))
        if profile.status_code != 401:
            break
        refreshed = post_json(
            url, {"refresh": tokens["refresh"]}, HTTP_AUTHORIZATION=f"Bearer {access}"
        )
        calls.append(("refresh", refreshed.status_code))
        if refreshed.status_code != 200:
            break
        access = refreshed.json()["access"]

    assert calls == [("profile", 401), ("refresh", 400)]


def test_the_mobile_apps_refresh_loop_recovers_a_live_session(
    api_client, post_json, user, expired_access, tokens, url
):
    profile = api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {expired_access}")
    refreshed = post_json(
        url, {"refresh": tokens["refresh"]}, HTTP_AUTHORIZATION=f"Bearer {expired_access}"
    )
    retried = api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")

    assert_status(profile, 401)
    assert_status(refreshed, 200)
    assert_status(retried, 200)
    assert retried.json()["id"] == user.pk
