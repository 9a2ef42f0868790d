"""The gateway's question before it streams an upload: is this token usable?"""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .helpers import ALICE, access_token_for

URL = "/api/media/token-check/"


def test_a_usable_access_token_is_204(alice):
    response = alice.get(URL)
    assert response.status_code == 204
    assert response.content == b""
    assert "X-Auth-Error" not in response


def test_the_gateway_may_remember_a_yes_for_the_configured_seconds(alice, settings):
    settings.GATEWAY_TOKEN_CHECK_SECONDS = 7
    assert alice.get(URL)["X-Accel-Expires"] == "7"


def test_the_gateway_never_remembers_a_yes_past_the_tokens_expiry(anonymous, settings):
    settings.GATEWAY_TOKEN_CHECK_SECONDS = 60
    token = access_token_for(101, exp=int(time.time()) + 5)
    response = anonymous.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 204
    assert 0 < int(response["X-Accel-Expires"]) <= 4


def test_with_no_seconds_configured_the_gateway_asks_every_time(alice, settings):
    settings.GATEWAY_TOKEN_CHECK_SECONDS = 0
    assert "X-Accel-Expires" not in alice.get(URL)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer ",
        "Bearer not-a-token",
        f"Bearer {access_token_for(101, exp=1)}",
    ],
    ids=["none", "empty", "junk", "expired"],
)
def test_a_refused_token_is_the_usual_401_with_its_body_in_a_header(anonymous, authorization):
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = anonymous.get(URL, **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(response["X-Auth-Error"]) == response.json()
    assert response.json()["message"]
    assert response["X-Auth-Error"].isascii()
    assert "X-Accel-Expires" not in response  # a refusal is never remembered


def _rsa_key() -> tuple[rsa.RSAPrivateKey, str]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_key, public_pem


def _signed(private_key, key_id: str) -> str:
    claims = jwt.decode(access_token_for(ALICE), options={"verify_signature": False})
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": key_id})


def test_during_a_key_rotation_tokens_of_the_previous_key_are_usable(anonymous, settings):
    # JWT_PUBLIC_KEY is the new key, JWT_PREVIOUS_PUBLIC_KEYS the old one (as the auth service's).
    old_key, old_public = _rsa_key()
    new_key, new_public = _rsa_key()
    settings.SIMPLE_JWT = {
        **settings.SIMPLE_JWT,
        "ALGORITHM": "RS256",
        "SIGNING_KEY": "",
        "VERIFYING_KEY": new_public,
    }
    settings.JWT_PREVIOUS_PUBLIC_KEYS = [("2026-11", old_public)]
    old_token, new_token = _signed(old_key, "2026-11"), _signed(new_key, "2027-01")
    foreign_token = _signed(_rsa_key()[0], "2026-11")

    def status(token: str) -> int:
        return anonymous.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}").status_code

    assert (status(old_token), status(new_token), status(foreign_token)) == (204, 204, 401)

    settings.JWT_PREVIOUS_PUBLIC_KEYS = []  # the rotation is over

    assert (status(old_token), status(new_token)) == (401, 204)
