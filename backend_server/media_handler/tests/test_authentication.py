import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings as django_settings
from django.test import override_settings
from jwt import InvalidKeyError
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_encode
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from media_handler.authentication import StatelessJWTAuthentication
from media_handler.tokens import VerifiedTokens, access_token_backend, verified_tokens

from .helpers import ALICE, access_token_for, assert_status

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


def claims(**overrides) -> dict:
    """Alice's access-token claims as the auth service issues them; a claim set to None is left
    out."""
    payload = {**AccessToken(verify=False).payload, "user_id": ALICE, **overrides}
    return {claim: value for claim, value in payload.items() if value is not None}


def shared_key_token(payload: dict) -> str:
    return jwt.encode(payload, django_settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


def pin(settings, **changes) -> None:
    """The media service under other SIMPLE_JWT settings (the environment's JWT_* variables)."""
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, **changes}


def status_with(token: str) -> int:
    return client_with(f"Bearer {token}").get(MEDIA_LIST).status_code


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


@pytest.mark.parametrize("exp", ["4102444800", "soon", [4102444800]])
def test_token_with_an_exp_that_is_not_a_number_is_401(db, exp):
    token = shared_key_token(claims(exp=exp))

    assert_unauthorized(client_with(f"Bearer {token}").get(MEDIA_LIST))
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


@pytest.mark.parametrize(
    ("missing", "detail"),
    [
        ("jti", "Token has no id"),
        ("token_type", "Token has no type"),
        ("exp", "Token has no 'exp' claim"),
    ],
)
def test_token_without_a_required_claim_is_401(db, missing, detail):
    token = shared_key_token(claims(**{missing: None}))
    response = client_with(f"Bearer {token}").get(MEDIA_LIST)
    assert_unauthorized(response)
    assert response.data["detail"] == detail


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_token_not_valid_yet_is_401(db, claim):
    in_a_minute = claims()["iat"] + 60
    assert_unauthorized(
        client_with(f"Bearer {shared_key_token(claims(**{claim: in_a_minute}))}").get(MEDIA_LIST)
    )


@pytest.mark.parametrize(
    ("leeway", "expired_seconds_ago", "status"), [(0, 5, 401), (30, 5, 200), (30, 60, 401)]
)
def test_expiry_allows_the_configured_leeway_only(
    settings, db, leeway, expired_seconds_ago, status
):
    pin(settings, LEEWAY=leeway)
    expired = claims()["iat"] - expired_seconds_ago
    assert status_with(shared_key_token(claims(exp=expired))) == status


def test_signing_key_in_force_is_the_one_that_verifies(db):
    """The key is prepared once per settings, not once per process: a rotated key applies."""
    rotated_key = "the-rotated-shared-key-of-the-auth-service"
    old_token = access_token_for(ALICE)
    new_token = jwt.encode(claims(), rotated_key, algorithm="HS256")
    with override_settings(SIMPLE_JWT={**django_settings.SIMPLE_JWT, "SIGNING_KEY": rotated_key}):
        assert status_with(new_token) == 200
        assert status_with(old_token) == 401
    assert status_with(new_token) == 401
    assert status_with(old_token) == 200


def test_hs256_token_is_refused_when_hs512_is_pinned(settings, db):
    token = shared_key_token(claims())
    pin(settings, ALGORITHM="HS512")
    assert status_with(token) == 401
    hs512 = jwt.encode(claims(), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS512")
    assert status_with(hs512) == 200


@pytest.mark.parametrize(
    ("audience", "issuer", "status"),
    [
        ("media", "https://auth.example", 200),
        (None, "https://auth.example", 401),
        ("photos", "https://auth.example", 401),
        ("media", None, 401),
        ("media", "https://elsewhere.example", 401),
    ],
)
def test_audience_and_issuer_are_checked_when_configured(settings, db, audience, issuer, status):
    pin(settings, AUDIENCE="media", ISSUER="https://auth.example")
    assert status_with(shared_key_token(claims(aud=audience, iss=issuer))) == status


PRIVATE_KEYS = {
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}


def public_pem(private_key) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def hs256_by_hand(payload: dict, key: bytes) -> str:
    """An HS256 token keyed with any bytes (PyJWT refuses to sign with a PEM as HMAC secret)."""
    header = base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = header + b"." + base64url_encode(json.dumps(payload).encode())
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64url_encode(signature)).decode()


def test_public_key_configured_as_the_hmac_secret_is_refused(settings):
    """The shared secret is checked once per settings rather than per token, but checked."""
    pin(settings, ALGORITHM="HS256", SIGNING_KEY=public_pem(PRIVATE_KEYS["RS256"]()))
    with pytest.raises(InvalidKeyError):
        access_token_backend()


@pytest.fixture
def rs256(settings):
    """The media service configured as with JWT_PUBLIC_KEY: it holds the public key only."""
    private_key = PRIVATE_KEYS["RS256"]()
    pin(settings, ALGORITHM="RS256", SIGNING_KEY="", VERIFYING_KEY=public_pem(private_key))
    return private_key


@pytest.mark.parametrize("algorithm", sorted(PRIVATE_KEYS))
def test_token_signed_for_the_configured_public_key_is_accepted(settings, db, algorithm):
    private_key = PRIVATE_KEYS[algorithm]()
    pin(settings, ALGORITHM=algorithm, SIGNING_KEY="", VERIFYING_KEY=public_pem(private_key))
    assert status_with(jwt.encode(claims(), private_key, algorithm=algorithm)) == 200


@pytest.mark.parametrize("algorithm", sorted(PRIVATE_KEYS))
def test_token_signed_by_another_private_key_is_refused(settings, db, algorithm):
    pin(
        settings,
        ALGORITHM=algorithm,
        SIGNING_KEY="",
        VERIFYING_KEY=public_pem(PRIVATE_KEYS[algorithm]()),
    )
    other_key = PRIVATE_KEYS[algorithm]()
    assert status_with(jwt.encode(claims(), other_key, algorithm=algorithm)) == 401


def test_hs256_token_keyed_with_the_public_key_is_refused_when_rs256_is_pinned(rs256, db):
    """The classic confusion: the public key, which everyone may hold, used as an HMAC secret."""
    forged = hs256_by_hand(claims(), public_pem(rs256).encode())
    assert_unauthorized(client_with(f"Bearer {forged}").get(MEDIA_LIST))


def test_rs256_token_is_refused_when_hs256_is_pinned(db):
    private_key = PRIVATE_KEYS["RS256"]()
    token = jwt.encode(claims(), private_key, algorithm="RS256")
    assert_unauthorized(client_with(f"Bearer {token}").get(MEDIA_LIST))


def test_refresh_token_signed_with_the_private_key_is_refused(rs256, db):
    token = jwt.encode(claims(token_type="refresh"), rs256, algorithm="RS256")
    response = client_with(f"Bearer {token}").get(MEDIA_LIST)
    assert_unauthorized(response)
    assert response.data["detail"] == "Token has wrong type"


@pytest.fixture
def jwks_server() -> Iterator[SimpleNamespace]:
    """A real JWKS endpoint on the loopback, serving whatever keys the test puts in `keys`."""
    keys: list[dict] = []

    class KeySet(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"keys": keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeySet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}/jwks.json", keys=keys)
    server.shutdown()
    server.server_close()
    thread.join()


def test_token_verified_against_the_auth_services_jwks(settings, jwks_server, db):
    """With JWT_JWKS_URL the key is picked by the token's `kid` from the published key set."""
    private_key = PRIVATE_KEYS["RS256"]()
    jwk = {**RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": "2026-11"}
    jwks_server.keys.append(jwk)
    pin(settings, ALGORITHM="RS256", SIGNING_KEY="", JWK_URL=jwks_server.url)

    signed = jwt.encode(claims(), private_key, algorithm="RS256", headers={"kid": "2026-11"})
    assert status_with(signed) == 200

    unknown_kid = jwt.encode(claims(), private_key, algorithm="RS256", headers={"kid": "old"})
    assert_unauthorized(client_with(f"Bearer {unknown_kid}").get(MEDIA_LIST))

    other_key = PRIVATE_KEYS["RS256"]()
    forged = jwt.encode(claims(), other_key, algorithm="RS256", headers={"kid": "2026-11"})
    assert_unauthorized(client_with(f"Bearer {forged}").get(MEDIA_LIST))


def test_unreachable_jwks_url_is_503_not_401(settings, db):
    """The auth service being down must not read as a bad token: the app would refresh."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nobody_listens = closed.getsockname()[1]
    pin(settings, ALGORITHM="RS256", SIGNING_KEY="", JWK_URL=f"http://127.0.0.1:{nobody_listens}/")
    private_key = PRIVATE_KEYS["RS256"]()
    signed = jwt.encode(claims(), private_key, algorithm="RS256", headers={"kid": "2026-11"})

    response = client_with(f"Bearer {signed}").get(MEDIA_LIST)
    assert_status(response, 503)
    assert response.data["code"] == "jwks_unavailable"


def authenticate(token: str):
    request = APIRequestFactory().get(MEDIA_LIST, HTTP_AUTHORIZATION=f"Bearer {token}")
    return StatelessJWTAuthentication().authenticate(request)


def test_a_token_seen_before_is_refused_once_it_expires(db):
    expires = int(time.time()) + 1
    token = access_token_for(ALICE, exp=expires)
    user, _ = authenticate(token)  # verified, and remembered
    assert user.id == ALICE
    while time.time() <= expires:
        time.sleep(0.05)

    with pytest.raises(InvalidToken, match="Token is expired"):
        authenticate(token)
    assert_unauthorized(client_with(f"Bearer {token}").get(MEDIA_LIST))


def test_a_token_seen_before_is_refused_once_the_key_changes(settings, db):
    token = shared_key_token(claims())
    assert status_with(token) == 200

    pin(settings, SIGNING_KEY="a-rotated-shared-key-" * 3)

    assert status_with(token) == 401


def test_a_token_seen_before_still_needs_a_usable_user_id(db):
    token = shared_key_token(claims(user_id="abc"))

    assert status_with(token) == 401
    assert status_with(token) == 401


def test_only_verified_tokens_are_remembered(db):
    good, forged = access_token_for(ALICE), shared_key_token(claims())[:-2] + "xx"
    authenticate(good)
    with pytest.raises(InvalidToken):
        authenticate(forged)

    verified = verified_tokens()
    assert verified.get(good.encode())["user_id"] == ALICE
    assert verified.get(forged.encode()) is None


def test_verified_tokens_forget_the_oldest_past_their_size():
    tokens = VerifiedTokens(maxsize=2)
    alive = SimpleNamespace(payload={"exp": time.time() + 60})
    for raw in (b"one", b"two", b"three"):
        tokens.add(raw, alive)

    assert tokens.get(b"one") is None
    assert tokens.get(b"two") is alive
    assert tokens.get(b"three") is alive
