import base64
import hashlib
import hmac
import json

import environ
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from django.conf import settings as django_settings

from accounts.tokens import jwk_thumbprint
from common import settings as shared
from common.testing import assert_status

JWKS = "/api/auth/.well-known/jwks.json"
LOGIN = "/api/auth/login/"
PROFILE = "/api/auth/profile/"
REFRESH = "/api/auth/refresh/"
CREDENTIALS = {"username": "jane", "password": "strongpassword"}

pytestmark = pytest.mark.django_db


def _pem_pair(private_key) -> tuple[str, str]:
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
    return private_pem, public_pem


def _rsa_pair() -> tuple[str, str]:
    return _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def sign_with(settings):
    """Switches the service to asymmetric signing with the given keys (for one test)."""

    def switch(private_pem, public_pem=None, *, algorithm="RS256", key_id="", previous=()):
        # `previous`: (key id, public PEM) pairs, as JWT_PREVIOUS_PUBLIC_KEYS is read.
        settings.SIMPLE_JWT = {
            **settings.SIMPLE_JWT,
            "ALGORITHM": algorithm,
            "SIGNING_KEY": private_pem,
            "VERIFYING_KEY": public_pem,
        }
        settings.JWT_KEY_ID = key_id
        settings.JWT_PREVIOUS_PUBLIC_KEYS = list(previous)

    return switch


def _sign_in(post_json) -> dict:
    response = post_json(LOGIN, CREDENTIALS)
    assert_status(response, 200)
    return response.json()


def _published_key(api_client, token: str):
    keys = api_client.get(JWKS).json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [key for key in keys if key["kid"] == kid]
    return jwt.PyJWK(jwk)


def test_hs256_mode_publishes_no_keys(api_client):
    response = api_client.get(JWKS, HTTP_AUTHORIZATION="Bearer ")

    assert_status(response, 200)
    assert response.json() == {"keys": []}


def test_rs256_mode_end_to_end_the_published_key_verifies_our_tokens(
    api_client, post_json, user, sign_with
):
    sign_with(*_rsa_pair())

    tokens = _sign_in(post_json)
    jwks = api_client.get(JWKS, HTTP_AUTHORIZATION="Bearer stale")

    assert_status(jwks, 200)
    (jwk,) = jwks.json()["keys"]
    assert jwk["kty"] == "RSA"
    assert (jwk["use"], jwk["alg"]) == ("sig", "RS256")
    assert set(jwk).isdisjoint({"d", "p", "q", "dp", "dq", "qi"})  # public parts only
    header = jwt.get_unverified_header(tokens["access"])
    assert (header["alg"], header["kid"]) == ("RS256", jwk["kid"])
    claims = jwt.decode(tokens["access"], jwt.PyJWK(jwk).key, algorithms=["RS256"])
    assert (claims["user_id"], claims["token_type"]) == (user.pk, "access")
    assert_status(api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}"), 200)
    refreshed = post_json(REFRESH, {"refresh": tokens["refresh"]})
    assert_status(refreshed, 200)
    jwt.decode(refreshed.json()["access"], jwt.PyJWK(jwk).key, algorithms=["RS256"])


def test_asymmetric_mode_from_the_environment_with_only_a_private_key(
    api_client, post_json, user, settings, monkeypatch
):
    private_pem, _public_pem = _rsa_pair()
    monkeypatch.setenv("JWT_PRIVATE_KEY", private_pem.replace("\n", "\\n"))
    settings.SIMPLE_JWT = shared.simple_jwt(environ.Env(), django_settings.BASE_DIR.parent)

    tokens = _sign_in(post_json)

    assert settings.SIMPLE_JWT["ALGORITHM"] == "RS256"
    key = _published_key(api_client, tokens["access"])
    assert jwt.decode(tokens["access"], key.key, algorithms=["RS256"])["user_id"] == user.pk


def test_default_key_id_is_the_rfc_7638_thumbprint():
    # The example of RFC 7638 §3.1.
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1"
            "L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4"
            "QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbO"
            "pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
            "Cur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }

    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_configured_key_id_is_used(api_client, post_json, user, sign_with):
    sign_with(*_rsa_pair(), key_id="2026-11-primary")

    tokens = _sign_in(post_json)

    assert jwt.get_unverified_header(tokens["access"])["kid"] == "2026-11-primary"
    assert [key["kid"] for key in api_client.get(JWKS).json()["keys"]] == ["2026-11-primary"]


def test_key_rotation_keeps_earlier_tokens_valid_while_their_key_is_published(
    api_client, post_json, user, sign_with
):
    old_private, old_public = _rsa_pair()
    new_private, new_public = _rsa_pair()
    sign_with(old_private, old_public)
    old_tokens = _sign_in(post_json)

    sign_with(new_private, new_public, previous=[("", old_public)])
    new_tokens = _sign_in(post_json)
    keys = api_client.get(JWKS).json()["keys"]

    old_kid = jwt.get_unverified_header(old_tokens["access"])["kid"]
    new_kid = jwt.get_unverified_header(new_tokens["access"])["kid"]
    assert old_kid != new_kid
    assert [key["kid"] for key in keys] == [new_kid, old_kid]
    for token in (old_tokens["access"], new_tokens["access"]):
        jwt.decode(token, _published_key(api_client, token).key, algorithms=["RS256"])
        assert_status(api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {token}"), 200)
    assert_status(post_json(REFRESH, {"refresh": old_tokens["refresh"]}), 200)


def test_key_rotation_with_configured_key_ids_keeps_the_old_key_ids_tokens_valid(
    api_client, post_json, user, sign_with
):
    old_private, old_public = _rsa_pair()
    sign_with(old_private, old_public, key_id="2026-11")
    old_tokens = _sign_in(post_json)

    sign_with(*_rsa_pair(), key_id="2027-01", previous=[("2026-11", old_public)])

    refreshed = post_json(REFRESH, {"refresh": old_tokens["refresh"]})
    assert_status(refreshed, 200)
    assert jwt.get_unverified_header(refreshed.json()["access"])["kid"] == "2027-01"
    profile = api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {old_tokens['access']}")
    assert_status(profile, 200)
    # Published under its key id (what a media service with JWT_JWKS_URL looks up), and under
    # its thumbprint too: the same key.
    keys = api_client.get(JWKS).json()["keys"]
    assert [key["kid"] for key in keys] == ["2027-01", "2026-11", jwk_thumbprint(keys[1])]
    assert keys[2] == {**keys[1], "kid": keys[2]["kid"]}
    old_key = _published_key(api_client, old_tokens["access"]).key
    assert jwt.decode(old_tokens["access"], old_key, algorithms=["RS256"])["user_id"] == user.pk


def test_previous_keys_are_read_with_their_key_ids(tmp_path, monkeypatch):
    pems = [_pem_pair(ed25519.Ed25519PrivateKey.generate())[1] for _ in range(4)]
    path = tmp_path / "keys=2026.pub"  # a path may hold an `=`
    path.write_text(pems[2])
    kid_path = tmp_path / "2026-08.pub"
    kid_path.write_text(pems[3])
    inline = [pem.replace("\n", "\\n") for pem in pems[:2]]  # inline, with `=` padding
    assert all("=" in pem for pem in inline)
    entries = [inline[0], f"2026-11={inline[1]}", str(path), f" 2026-08 = {kid_path}"]
    monkeypatch.setenv("JWT_PREVIOUS_PUBLIC_KEYS", ",".join(entries))

    assert shared.previous_public_keys(environ.Env()) == [
        ("", pems[0]),
        ("2026-11", pems[1]),
        ("", pems[2]),
        ("2026-08", pems[3]),
    ]


def test_tokens_of_a_retired_key_are_refused(api_client, post_json, user, sign_with):
    old_private, old_public = _rsa_pair()
    sign_with(old_private, old_public)
    old_tokens = _sign_in(post_json)

    sign_with(*_rsa_pair())

    profile = api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {old_tokens['access']}")
    assert_status(profile, 401)
    refreshed = post_json(REFRESH, {"refresh": old_tokens["refresh"]})
    assert_status(refreshed, 400)
    assert refreshed.json()["error"] == "invalid_grant"


def test_token_signed_by_a_foreign_key_under_our_key_id_is_refused(
    api_client, post_json, user, sign_with
):
    sign_with(*_rsa_pair())
    tokens = _sign_in(post_json)
    header = jwt.get_unverified_header(tokens["access"])
    claims = jwt.decode(tokens["access"], options={"verify_signature": False})
    foreign_private, _ = _rsa_pair()

    forged = jwt.encode(claims, foreign_private, algorithm="RS256", headers={"kid": header["kid"]})

    assert_status(api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {forged}"), 401)


def test_hmac_token_keyed_with_our_public_key_is_refused(api_client, post_json, user, sign_with):
    # The classic algorithm confusion: HS256 with the (public) verifying key as the secret.
    private_pem, public_pem = _rsa_pair()
    sign_with(private_pem, public_pem)
    claims = jwt.decode(_sign_in(post_json)["access"], options={"verify_signature": False})

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{b64(signature)}"

    assert_status(api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {forged}"), 401)


def test_eddsa_mode_end_to_end(api_client, post_json, user, sign_with):
    sign_with(*_pem_pair(ed25519.Ed25519PrivateKey.generate()), algorithm="EdDSA")

    tokens = _sign_in(post_json)
    (jwk,) = api_client.get(JWKS).json()["keys"]

    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    assert jwt.get_unverified_header(tokens["access"])["kid"] == jwk["kid"] == jwk_thumbprint(jwk)
    claims = jwt.decode(tokens["access"], jwt.PyJWK(jwk).key, algorithms=["EdDSA"])
    assert claims["user_id"] == user.pk
    assert_status(api_client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}"), 200)


def test_back_in_hs256_mode_after_a_settings_change(
    api_client, post_json, user, sign_with, settings
):
    original = dict(settings.SIMPLE_JWT)
    sign_with(*_rsa_pair())
    settings.SIMPLE_JWT = original

    tokens = _sign_in(post_json)

    assert jwt.get_unverified_header(tokens["access"])["alg"] == "HS256"
    assert api_client.get(JWKS).json() == {"keys": []}
