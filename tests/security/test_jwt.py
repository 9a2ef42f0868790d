"""API2 broken authentication: forged, tampered, expired, wrong-type and foreign tokens are a 401
(with `WWW-Authenticate: Bearer`) on both services, directly and through the gateway."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import devstack
from devstack import client


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def hs256_by_hand(header: dict, claims: dict, key: bytes) -> str:
    """An HS256 token signed with any bytes (PyJWT refuses a PEM as an HMAC secret)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def unsigned(claims: dict, alg: str = "none") -> str:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


def protected_urls(stack) -> list[str]:
    return [
        f"{stack.gateway}/api/media/",
        f"{stack.gateway}/api/media/collections/",
        f"{stack.gateway}/api/auth/profile/",
        f"{stack.media}/api/media/",
        f"{stack.auth}/api/auth/profile/",
    ]


def assert_rejected(http, stack, token: str, label: str) -> None:
    for url in protected_urls(stack):
        response = http.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=20)
        assert response.status_code == 401, (label, url, response.status_code, response.text)
        assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), (label, url)
        body = response.json()
        assert body.get("message"), (label, url, body)
        assert body.get("code"), (label, url, body)


@pytest.fixture
def tokens(http, gw):
    return client.register(http, gw, client.unique_email("jwt"))


def forgeries(tokens: dict, signing_key: str) -> dict[str, str]:
    """Every kind of bad token, built from a genuine one of the caller."""
    access, refresh = tokens["access"], tokens["refresh"]
    claims = claims_of(access)
    key = signing_key.encode()
    now = int(time.time())
    other = dict(claims, user_id=claims["user_id"] + 1)
    head, payload, signature = access.split(".")
    return {
        "alg none": unsigned(claims),
        "alg None": unsigned(claims, "None"),
        "alg none, original signature kept": f"{unsigned(claims)}{signature}",
        "tampered payload (another user_id)": (
            f"{head}.{b64(json.dumps(other).encode())}.{signature}"
        ),
        "signature stripped": f"{head}.{payload}.",
        "expired, genuinely signed": jwt.encode(
            dict(claims, iat=now - 7200, exp=now - 3600), key, algorithm="HS256"
        ),
        "refresh token as access": refresh,
        "signed with another key": jwt.encode(claims, "another-key-" + "x" * 40, algorithm="HS256"),
        "token_type missing": jwt.encode(
            {k: v for k, v in claims.items() if k != "token_type"}, key, algorithm="HS256"
        ),
        "token_type refresh": jwt.encode(
            dict(claims, token_type="refresh"), key, algorithm="HS256"
        ),
        "exp missing": jwt.encode(
            {k: v for k, v in claims.items() if k != "exp"}, key, algorithm="HS256"
        ),
        "user_id missing": jwt.encode(
            {k: v for k, v in claims.items() if k != "user_id"}, key, algorithm="HS256"
        ),
        "user_id zero": jwt.encode(dict(claims, user_id=0), key, algorithm="HS256"),
        "user_id negative": jwt.encode(dict(claims, user_id=-5), key, algorithm="HS256"),
        "HS512 with the right key": jwt.encode(claims, key, algorithm="HS512"),
        "garbage": "not.a.token",
        "empty segments": "..",
        "huge": "a" * 8000,
    }


def test_forged_tokens_are_401_everywhere(http, stack, tokens):
    for label, token in forgeries(tokens, stack.env["JWT_SIGNING_KEY"]).items():
        assert_rejected(http, stack, token, label)


def test_genuine_token_still_works(http, stack, tokens):
    """The control: the same requests with the real token pass (so the 401s above mean
    something)."""
    for url in protected_urls(stack):
        response = http.get(url, headers=client.bearer(tokens), timeout=client.TIMEOUT)
        assert response.status_code == 200, (url, response.text)


# Bug 1 in docs/reliability.md: the auth service looked the user up with the raw claim (a 500).
@pytest.mark.parametrize("user_id", ["1 OR 1=1", "abc", "1.5", "", [1], {"a": 1}])
def test_signed_token_with_a_malformed_user_id_is_401(http, stack, tokens, user_id):
    claims = dict(claims_of(tokens["access"]), user_id=user_id)
    token = jwt.encode(claims, stack.env["JWT_SIGNING_KEY"].encode(), algorithm="HS256")
    assert_rejected(http, stack, token, f"user_id {user_id!r}")


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a b", "bearer"],
)
def test_malformed_authorization_header_is_401_on_media(http, stack, header):
    response = http.get(
        f"{stack.gateway}/api/media/", headers={"Authorization": header}, timeout=client.TIMEOUT
    )
    assert response.status_code == 401, (header, response.text)


def test_public_endpoints_ignore_a_forged_header(http, stack, tokens):
    forged = {"Authorization": f"Bearer {unsigned(claims_of(tokens['access']))}"}
    registered = http.post(
        f"{stack.gateway}/api/auth/register/",
        headers=forged,
        json={
            "first_name": "A",
            "last_name": "B",
            "email": client.unique_email("hdr"),
            "password": client.PASSWORD,
        },
        timeout=client.TIMEOUT,
    )
    assert registered.status_code == 201, registered.text
    refreshed = http.post(
        f"{stack.gateway}/api/auth/token/refresh/",
        headers=forged,
        json={"refresh": tokens["refresh"]},
        timeout=client.TIMEOUT,
    )
    assert refreshed.status_code == 200, refreshed.text


def test_access_token_is_not_a_refresh_token(http, stack, tokens):
    for path in ("/api/auth/token/refresh/", "/api/auth/refresh/"):
        for token in (tokens["access"], unsigned(claims_of(tokens["refresh"]))):
            response = http.post(
                f"{stack.gateway}{path}", json={"refresh": token}, timeout=client.TIMEOUT
            )
            assert response.status_code == 400, response.text
            assert response.json()["error"] == "invalid_grant"


def test_logout_with_a_forged_access_token_revokes_nothing(http, stack, tokens):
    forged = unsigned(claims_of(tokens["access"]))
    response = http.post(
        f"{stack.gateway}/api/auth/logout/",
        headers={"Authorization": f"Bearer {forged}"},
        timeout=client.TIMEOUT,
    )
    assert response.status_code == 400, response.text
    refreshed = http.post(
        f"{stack.gateway}/api/auth/token/refresh/",
        json={"refresh": tokens["refresh"]},
        timeout=client.TIMEOUT,
    )
    assert refreshed.status_code == 200, refreshed.text


# Asymmetric keys: HS/RS key confusion, `kid` games, and what the JWKS publishes.


@pytest.fixture(scope="module")
def rsa_stack(stack_spec):
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
    spec = stack_spec(
        "rsa-stack", env={"JWT_PRIVATE_KEY": private_pem, "JWT_PUBLIC_KEY": public_pem}
    )
    with devstack.running(spec) as running:
        yield running


def test_rs256_key_confusion_and_kid_games_are_401(http, rsa_stack):
    tokens = client.register(http, rsa_stack.gateway, client.unique_email("rsa"))
    access = tokens["access"]
    assert header_of(access)["alg"] == "RS256"
    claims, kid = claims_of(access), header_of(access).get("kid")
    public_pem = rsa_stack.env["JWT_PUBLIC_KEY"].encode()
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacks = {
        "HS256 signed with the public key PEM": hs256_by_hand(
            {"alg": "HS256", "typ": "JWT", "kid": kid}, claims, public_pem
        ),
        "HS256 signed with the PEM without its newline": hs256_by_hand(
            {"alg": "HS256", "typ": "JWT"}, claims, public_pem.strip()
        ),
        "alg none": unsigned(claims),
        "RS256 from another key, same kid": jwt.encode(
            claims, other_key, algorithm="RS256", headers={"kid": kid}
        ),
        "RS256 from another key, path kid": jwt.encode(
            claims, other_key, algorithm="RS256", headers={"kid": "../../../../etc/passwd"}
        ),
        "RS256 from another key, no kid": jwt.encode(claims, other_key, algorithm="RS256"),
        "refresh as access": tokens["refresh"],
    }
    for label, token in attacks.items():
        assert_rejected(http, rsa_stack, token, label)
    for url in protected_urls(rsa_stack):
        assert http.get(url, headers=client.bearer(tokens), timeout=20).status_code == 200, url


def test_jwks_publishes_no_private_key_material(http, rsa_stack):
    response = http.get(f"{rsa_stack.gateway}/api/auth/.well-known/jwks.json", timeout=20)
    assert response.status_code == 200, response.text
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(key), key
