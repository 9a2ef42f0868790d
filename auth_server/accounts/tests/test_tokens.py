import base64
import json
import time
from datetime import timedelta

import jwt
import pytest

from accounts.tokens import AccessToken, RefreshToken
from common.testing import assert_status

LOGIN = "/api/auth/login/"
PROFILE = "/api/auth/profile/"
REFRESH = "/api/auth/refresh/"

pytestmark = pytest.mark.django_db


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _forge(
    claims: dict,
    *,
    key: str = "a-key-that-is-not-ours-but-is-long-enough",
    algorithm: str = "HS256",
) -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _unsigned(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.fixture
def signed_in(post_json, user) -> dict:
    response = post_json(LOGIN, {"username": "jane", "password": "strongpassword"})
    assert_status(response, 200)
    return response.json()


def test_access_token_carries_the_contracts_claims(signed_in, user):
    claims = _claims(signed_in["access"])

    assert set(claims) == {
        "user_id",
        "email",
        "username",
        "token_type",
        "jti",
        "exp",
        "iat",
        "sid",
    }
    assert claims["user_id"] == user.pk
    assert claims["email"] == "jane@example.com"
    assert claims["username"] == "jane"
    assert claims["token_type"] == "access"


def test_refresh_token_carries_the_user_claims_too(signed_in, user):
    claims = _claims(signed_in["refresh"])

    assert claims["token_type"] == "refresh"
    assert (claims["user_id"], claims["email"], claims["username"]) == (user.pk, user.email, "jane")


def test_default_lifetimes_are_15_minutes_and_7_days(signed_in):
    access, refresh = _claims(signed_in["access"]), _claims(signed_in["refresh"])

    # The access token from its refresh token's issue time (below).
    assert access["exp"] - refresh["iat"] == 15 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600


def test_lifetimes_follow_the_settings(settings, user):
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "ACCESS_TOKEN_LIFETIME": timedelta(minutes=2)}

    refresh = RefreshToken.for_user(user)
    access = _claims(str(refresh.access_token))

    # An access token expires relative to its refresh token's issue time (simplejwt: a pair
    # expires together). Its own iat is when it was made, a moment later, and so a second
    # later when a second began in between (CI saw 119 once).
    assert access["exp"] - refresh["iat"] == 120


def test_hs256_tokens_carry_no_key_id(signed_in):
    header = jwt.get_unverified_header(signed_in["access"])

    assert header["alg"] == "HS256"
    assert "kid" not in header


def test_every_token_has_its_own_id(signed_in, user):
    other = RefreshToken.for_user(user)

    assert (
        len(
            {
                _claims(signed_in["access"])["jti"],
                _claims(signed_in["refresh"])["jti"],
                other["jti"],
            }
        )
        == 3
    )


def _profile_with(api_client, token: str):
    return api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_alg_none_token_is_refused(api_client, signed_in):
    forged = _unsigned(_claims(signed_in["access"]))

    assert_status(_profile_with(api_client, forged), 401)


def test_token_signed_with_a_foreign_key_is_refused(api_client, signed_in):
    forged = _forge(_claims(signed_in["access"]))

    assert_status(_profile_with(api_client, forged), 401)


def test_token_with_a_tampered_payload_is_refused(api_client, signed_in, user):
    header, _payload, signature = signed_in["access"].split(".")
    claims = {**_claims(signed_in["access"]), "user_id": user.pk + 1}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    assert_status(_profile_with(api_client, f"{header}.{payload}.{signature}"), 401)


def test_token_with_another_hmac_algorithm_is_refused(api_client, signed_in, settings):
    # Our own key, but an algorithm we do not accept: the algorithm is pinned.
    forged = _forge(
        _claims(signed_in["access"]), key=settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS512"
    )

    assert_status(_profile_with(api_client, forged), 401)


def test_expired_access_token_is_refused(api_client, expired_access):
    response = _profile_with(api_client, expired_access)

    assert_status(response, 401)
    assert "expired" in response.json()["message"]


def test_access_token_without_a_type_is_refused(api_client, signed_in, settings):
    claims = _claims(signed_in["access"])
    del claims["token_type"]
    forged = _forge(claims, key=settings.SIMPLE_JWT["SIGNING_KEY"])

    assert_status(_profile_with(api_client, forged), 401)


def test_refresh_token_is_refused_as_an_access_token(api_client, signed_in):
    response = _profile_with(api_client, signed_in["refresh"])

    assert_status(response, 401)
    assert response.json()["code"] == "token_not_valid"


def test_access_token_is_refused_as_a_refresh_token(post_json, signed_in):
    response = post_json(REFRESH, {"refresh": signed_in["access"]})

    assert_status(response, 400)
    assert response.json()["error"] == "invalid_grant"


def test_alg_none_refresh_token_is_refused(post_json, signed_in):
    forged = _unsigned({**_claims(signed_in["refresh"]), "exp": int(time.time()) + 3600})

    response = post_json(REFRESH, {"refresh": forged})

    assert_status(response, 400)
    assert response.json()["error"] == "invalid_grant"


def test_refresh_token_signed_with_a_foreign_key_is_refused(post_json, signed_in):
    response = post_json(REFRESH, {"refresh": _forge(_claims(signed_in["refresh"]))})

    assert_status(response, 400)
    assert response.json()["error"] == "invalid_grant"


def test_tokens_module_accepts_its_own_tokens(signed_in):
    assert AccessToken(signed_in["access"])["token_type"] == "access"
    assert RefreshToken(signed_in["refresh"])["token_type"] == "refresh"
