from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import PyJWKClientConnectionError
from jwt.algorithms import RSAAlgorithm
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt import state
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from media_handler.authentication import StatelessJWTAuthentication

from .conftest import ALICE, access_token_for, assert_status

MEDIA_LIST = "/api/media/media/"


def client_with(header: str | None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


def assert_unauthorized(response) -> None:
    assert_status(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.data["code"]
    assert response.data["message"]


def test_valid_access_token_is_accepted(alice):
    assert_status(alice.get(MEDIA_LIST), 200)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Bearer not.a.token", "Bearer a b", "Bearer " + "x" * 300],
)
def test_missing_or_malformed_token_is_401_with_www_authenticate(db, header):
    assert_unauthorized(client_with(header).get(MEDIA_LIST))


def test_expired_token_is_401(db):
    token = AccessToken()
    token["user_id"] = ALICE
    token.set_exp(lifetime=-timedelta(seconds=1))
    response = client_with(f"Bearer {token}").get(MEDIA_LIST)
    assert_unauthorized(response)
    assert response.data["detail"] == "Token is expired"


def test_refresh_token_is_not_an_access_token(db):
    refresh = RefreshToken()
    refresh["user_id"] = ALICE
    response = client_with(f"Bearer {refresh}").get(MEDIA_LIST)
    assert_unauthorized(response)
    assert response.data["detail"] == "Token has wrong type"


def test_token_signed_with_another_key_is_401(db):
    token = AccessToken()
    token["user_id"] = ALICE
    forged = jwt.encode(token.payload, "not-the-shared-key-" * 3, algorithm="HS256")
    assert_unauthorized(client_with(f"Bearer {forged}").get(MEDIA_LIST))


def test_unsigned_token_is_401(db):
    token = AccessToken()
    token["user_id"] = ALICE
    unsigned = jwt.encode(token.payload, None, algorithm="none")
    assert_unauthorized(client_with(f"Bearer {unsigned}").get(MEDIA_LIST))


@pytest.mark.parametrize(
    "user_id", [None, "abc", 0, -3, "-3", True, 1.5, [ALICE], 2**63, "\u0661", " 7"]
)
def test_token_without_a_usable_user_id_is_401(db, user_id):
    token = AccessToken()
    if user_id is not None:
        token["user_id"] = user_id
    assert_unauthorized(client_with(f"Bearer {token}").get(MEDIA_LIST))


def test_user_id_as_a_decimal_string_is_accepted(db):
    token = AccessToken()
    token["user_id"] = str(ALICE)
    response = client_with(f"Bearer {token}").get(MEDIA_LIST)
    assert_status(response, 200)


def test_authentication_reads_no_database(django_assert_num_queries, db):
    request = APIRequestFactory().get(
        MEDIA_LIST, HTTP_AUTHORIZATION=f"Bearer {access_token_for(ALICE)}"
    )
    with django_assert_num_queries(0):
        user, validated_token = StatelessJWTAuthentication().authenticate(request)
    assert user.id == ALICE
    assert user.email == f"user{ALICE}@example.com"
    assert user.is_authenticated
    assert validated_token["token_type"] == "access"


@pytest.fixture
def rs256(settings, monkeypatch):
    """The media service configured as with JWT_PUBLIC_KEY: it holds the public key only."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings.SIMPLE_JWT = {
        **settings.SIMPLE_JWT,
        "ALGORITHM": "RS256",
        "SIGNING_KEY": "",
        "VERIFYING_KEY": public_pem,
    }
    monkeypatch.setattr(state, "token_backend", TokenBackend("RS256", None, public_pem))
    return {"private": private_pem, "public": public_pem}


def rs256_token(private_pem: str, **overrides) -> str:
    payload = {**AccessToken(verify=False).payload, "user_id": ALICE, **overrides}
    return jwt.encode(payload, private_pem, algorithm="RS256")


def test_rs256_token_from_the_auth_service_is_accepted(rs256, db):
    token = rs256_token(rs256["private"])
    assert_status(client_with(f"Bearer {token}").get(MEDIA_LIST), 200)


def test_hs256_token_is_refused_when_rs256_is_pinned(rs256, db):
    payload = {**AccessToken(verify=False).payload, "user_id": ALICE}
    # Once the algorithm is pinned, no HMAC token passes, whatever its key.
    confused = jwt.encode(payload, "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256")
    assert_unauthorized(client_with(f"Bearer {confused}").get(MEDIA_LIST))


def test_rs256_token_signed_by_another_key_is_refused(rs256, db):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    assert_unauthorized(client_with(f"Bearer {rs256_token(other_pem)}").get(MEDIA_LIST))


def test_token_verified_against_the_auth_services_jwks(settings, monkeypatch, db):
    """With JWT_JWKS_URL the key is picked by the token's `kid` from the published key set."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": "2026-11"}
    backend = TokenBackend("RS256", None, None, jwk_url="https://auth.invalid/jwks.json")
    monkeypatch.setattr(backend.jwks_client, "fetch_data", lambda: {"keys": [jwk]})
    monkeypatch.setattr(state, "token_backend", backend)
    payload = {**AccessToken(verify=False).payload, "user_id": ALICE}

    signed = jwt.encode(payload, private_key, algorithm="RS256", headers={"kid": "2026-11"})
    assert_status(client_with(f"Bearer {signed}").get(MEDIA_LIST), 200)

    unknown_kid = jwt.encode(payload, private_key, algorithm="RS256", headers={"kid": "old"})
    assert_unauthorized(client_with(f"Bearer {unknown_kid}").get(MEDIA_LIST))


def test_unreachable_jwks_url_is_503_not_401(monkeypatch, db):
    """The auth service being down must not read as a bad token: the app would refresh."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    backend = TokenBackend("RS256", None, None, jwk_url="https://auth.invalid/jwks.json")

    def unreachable():
        raise PyJWKClientConnectionError("Fail to fetch data from the url")

    monkeypatch.setattr(backend.jwks_client, "fetch_data", unreachable)
    monkeypatch.setattr(state, "token_backend", backend)
    payload = {**AccessToken(verify=False).payload, "user_id": ALICE}
    signed = jwt.encode(payload, private_key, algorithm="RS256", headers={"kid": "2026-11"})

    response = client_with(f"Bearer {signed}").get(MEDIA_LIST)
    assert_status(response, 503)
    assert response.data["code"] == "jwks_unavailable"
