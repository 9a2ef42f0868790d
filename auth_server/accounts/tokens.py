"""The tokens this service issues: simplejwt's, with the user's claims, a `kid` header when signing
asymmetrically, and every key and lifetime read from the settings when used (simplejwt binds
them at import, so a changed setting would otherwise be ignored until a restart)."""

import base64
import hashlib
import json
import uuid
from datetime import timedelta
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import DEFAULTS
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import User

# User ids are signed 64-bit integers in both databases: a larger one could not be looked up.
MAX_USER_ID = 2**63 - 1
# The members of each key type that make up its RFC 7638 thumbprint.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
_KEY_SETTINGS = {"SIMPLE_JWT", "JWT_KEY_ID", "JWT_PREVIOUS_PUBLIC_KEYS"}


def jwt_setting(name: str) -> Any:
    return settings.SIMPLE_JWT.get(name, DEFAULTS[name])


def is_asymmetric(algorithm: str) -> bool:
    return not algorithm.startswith("HS")


class KeyedTokenBackend(TokenBackend):
    """simplejwt's backend, plus a `kid` header on the tokens it signs, and verification with the
    public key the `kid` names (the current key, or one kept from before a key rotation)."""

    def __init__(self, *, key_id: str, public_keys: dict[str, Any], **kwargs) -> None:
        super().__init__(**kwargs)
        self.key_id = key_id
        self.public_keys = public_keys

    def encode(self, payload: dict[str, Any]) -> str:
        return jwt.encode(
            payload,
            self.prepared_signing_key,
            algorithm=self.algorithm,
            headers={"kid": self.key_id} if self.key_id else None,
            json_encoder=self.json_encoder,
        )

    def get_verifying_key(self, token) -> Any:
        if not is_asymmetric(self.algorithm):
            return self.prepared_signing_key
        kid = jwt.get_unverified_header(token).get("kid", self.key_id)
        try:
            return self.public_keys[kid]
        except KeyError as exc:
            raise jwt.InvalidTokenError("unknown key id") from exc

    def decode_ignoring_expiry(self, token: str) -> dict[str, Any]:
        """The verified claims of a token whose signature is ours, expired or not."""
        try:
            return jwt.decode(
                token,
                self.get_verifying_key(token),
                algorithms=[self.algorithm],
                leeway=self.get_leeway(),
                options={"verify_exp": False, "verify_aud": False},
            )
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc


def public_key_pem(private_key_pem: str) -> str:
    private_key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_jwk(public_key: Any, *, algorithm: str) -> dict[str, str]:
    return jwt.PyJWS().get_algorithm_by_name(algorithm).to_jwk(public_key, as_dict=True)


def jwk_thumbprint(jwk: dict[str, str]) -> str:
    """The RFC 7638 thumbprint of a public JWK: the default `kid` of a key."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode())
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def _thumbprint(public_key: Any, *, algorithm: str) -> str:
    return jwk_thumbprint(public_jwk(public_key, algorithm=algorithm))


@cache
def token_backend() -> KeyedTokenBackend:
    """The backend for the current settings (rebuilt when a test or a reload changes them)."""
    algorithm = jwt_setting("ALGORITHM")
    signing_key = jwt_setting("SIGNING_KEY")
    key_id = ""
    public_keys: dict[str, Any] = {}
    if is_asymmetric(algorithm):
        jws_algorithm = jwt.PyJWS().get_algorithm_by_name(algorithm)
        current = jws_algorithm.prepare_key(
            jwt_setting("VERIFYING_KEY") or public_key_pem(signing_key)
        )
        key_id = getattr(settings, "JWT_KEY_ID", "") or _thumbprint(current, algorithm=algorithm)
        public_keys[key_id] = current
        for previous_id, pem in getattr(settings, "JWT_PREVIOUS_PUBLIC_KEYS", []):
            key = jws_algorithm.prepare_key(pem)
            # Under the key id its tokens carry (the JWT_KEY_ID it signed with), and under its
            # thumbprint, the default one: the same trusted key either way.
            for kid in (previous_id, _thumbprint(key, algorithm=algorithm)):
                if kid:
                    public_keys.setdefault(kid, key)
    return KeyedTokenBackend(
        key_id=key_id,
        public_keys=public_keys,
        algorithm=algorithm,
        signing_key=signing_key,
        verifying_key=jwt_setting("VERIFYING_KEY"),
        audience=jwt_setting("AUDIENCE"),
        issuer=jwt_setting("ISSUER"),
        leeway=jwt_setting("LEEWAY"),
    )


@receiver(setting_changed)
def _forget_token_backend(*, setting: str, **kwargs) -> None:
    if setting in _KEY_SETTINGS:
        token_backend.cache_clear()


def jwks() -> dict[str, list[dict[str, str]]]:
    """The public keys that verify our tokens, as a JWK Set (empty when signing with HMAC)."""
    backend = token_backend()
    return {
        "keys": [
            {
                **public_jwk(key, algorithm=backend.algorithm),
                "kid": kid,
                "use": "sig",
                "alg": backend.algorithm,
            }
            for kid, key in backend.public_keys.items()
        ]
    }


class _SettingsBound:
    lifetime_setting = ""

    @property
    def lifetime(self) -> timedelta:
        return jwt_setting(self.lifetime_setting)

    @property
    def token_backend(self) -> KeyedTokenBackend:
        return token_backend()


# The session a token belongs to (accounts.models.Session), in refresh and access tokens alike.
SESSION_ID_CLAIM = "sid"


def _set_user_claims(token: tokens.Token, user: User) -> None:
    token[jwt_setting("USER_ID_CLAIM")] = user.pk
    token["email"] = user.email
    token["username"] = user.username


def session_id_claim(token: Any) -> str | None:
    """The `sid` of a verified token: None for a token from before sessions, else a session id
    (a UUID); anything else raises TokenError."""
    if SESSION_ID_CLAIM not in token:
        return None
    claim = token[SESSION_ID_CLAIM]
    if isinstance(claim, str) and len(claim) <= 36:
        try:
            return str(uuid.UUID(claim))
        except ValueError:
            pass
    raise TokenError("Token has an unusable session id")


class AccessToken(_SettingsBound, tokens.AccessToken):
    lifetime_setting = "ACCESS_TOKEN_LIFETIME"


class RefreshToken(_SettingsBound, tokens.RefreshToken):
    """A refresh token carrying the user's claims (copied into the access tokens made from it)
    and recorded as outstanding, so it can be revoked."""

    lifetime_setting = "REFRESH_TOKEN_LIFETIME"
    access_token_class = AccessToken

    @classmethod
    def for_user(cls, user: User, *, session_id: str | None = None) -> "RefreshToken":
        # simplejwt records the outstanding token before a subclass could add its claims;
        # this records the token exactly as issued.
        token = cls()
        _set_user_claims(token, user)
        if session_id is not None:
            token[SESSION_ID_CLAIM] = session_id
        OutstandingToken.objects.create(
            user=user,
            jti=token[jwt_setting("JTI_CLAIM")],
            token=str(token),
            created_at=token.current_time,
            expires_at=datetime_from_epoch(token["exp"]),
        )
        return token

    @classmethod
    def signed_again(cls, *, user: User, session_id: str, jti: str, iat: int, exp: int):
        """The refresh token a session recorded (same id, issue time and expiry), signed again:
        what a refresh within the rotation grace window answers."""
        token = cls()
        _set_user_claims(token, user)
        token[SESSION_ID_CLAIM] = session_id
        token[jwt_setting("JTI_CLAIM")] = jti
        token["iat"] = iat
        token["exp"] = exp
        return token

    def access_token_for(self, user: User) -> AccessToken:
        """An access token from this refresh token, with the user's claims as they are now."""
        access = self.access_token
        _set_user_claims(access, user)
        return access


def user_id_claim(claims: Any) -> int:
    """The `user_id` of a verified token: a JSON integer (or its decimal string) from 1 to
    MAX_USER_ID. Anything else (only the signing key can put it there) raises TokenError, so a
    strange claim is a refused token, never a failed database lookup."""
    try:
        claim = claims[jwt_setting("USER_ID_CLAIM")]
    except KeyError:
        claim = None
    if isinstance(claim, str) and claim.isascii() and claim.isdigit() and len(claim) < 20:
        claim = int(claim)
    if type(claim) is not int or not 1 <= claim <= MAX_USER_ID:
        raise TokenError("Token contained no recognizable user identification")
    return claim


def verified_claims_ignoring_expiry(raw_token: str, *, token_type: str) -> dict[str, Any]:
    """The claims of a genuine token of ours of the given type, even an expired one (logout
    revokes with such tokens). Raises TokenError when it is not ours or not of that type."""
    try:
        claims = token_backend().decode_ignoring_expiry(raw_token)
    except TokenBackendError as exc:
        raise TokenError("Token is invalid") from exc
    if claims.get(jwt_setting("TOKEN_TYPE_CLAIM")) != token_type:
        raise TokenError("Token has wrong type")
    if not isinstance(claims.get("exp"), int):
        raise TokenError("Token has no expiry")
    user_id_claim(claims)
    return claims
