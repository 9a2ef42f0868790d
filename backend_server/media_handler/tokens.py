"""Access tokens as the media service checks them, with simplejwt's own classes.

simplejwt's TokenBackend checks the signature with the pinned algorithm only (`algorithms=[
ALGORITHM]`: a token's `alg` header can select no other), HS256 with the shared key or RS256
and friends with a public key or a JWKS URL; its AccessToken checks `exp`, `jti` and
`token_type == "access"` (a refresh token is refused). No user table, no call to the auth
service.

simplejwt builds its backend once, at import; here it follows the SIMPLE_JWT settings in force,
and each worker remembers the tokens it has verified (`verified_access_token`).
"""

import functools
import threading
import time
from typing import Any

import jwt
from cachetools import TLRUCache
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, Token

# `user` columns are signed 64-bit integers: an id past them could not be stored or looked up.
MAX_USER_ID = 2**63 - 1


def user_id_claim(token: Token) -> int:
    """The `user_id` claim: a JSON integer (or its decimal string) from 1 to MAX_USER_ID.
    Raises KeyError without one, ValueError for anything else (a bool, a float, a huge id)."""
    claim = token[simplejwt_settings.api_settings.USER_ID_CLAIM]
    if isinstance(claim, str) and claim.isascii() and claim.isdigit():
        claim = int(claim)
    if type(claim) is not int or not 1 <= claim <= MAX_USER_ID:
        raise ValueError(f"unusable user id: {claim!r}")
    return claim


class RotatedKeysTokenBackend(TokenBackend):
    """simplejwt's TokenBackend with a public key from the settings that also accepts, during a
    key rotation, the tokens of earlier signing keys (JWT_PREVIOUS_PUBLIC_KEYS): a token is
    checked with the first key whose signature it carries, the current one first. No key ids
    needed (those of the auth service's JWT_KEY_ID are not known here): the keys are few, and
    each one is trusted."""

    def __init__(self, *args: Any, previous_public_keys: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.previous_keys = [self._prepare_key(pem) for pem in previous_public_keys]

    def get_verifying_key(self, token: Any) -> Any:
        current = super().get_verifying_key(token)
        if token is None:
            return current
        for key in (current, *self.previous_keys):
            try:
                jwt.PyJWS().decode_complete(token, key, algorithms=[self.algorithm])
            except jwt.InvalidTokenError:
                continue
            return key
        return current  # signed by none of them: refused by the decoding


@functools.cache
def access_token_backend() -> TokenBackend:
    """simplejwt's TokenBackend for the SIMPLE_JWT settings in force, built once per worker.

    A key from the settings is prepared (and checked) here, so a bad one fails at once rather
    than token by token, previous ones too (JWT_PREVIOUS_PUBLIC_KEYS, with JWT_PUBLIC_KEY only);
    a JWKS key is fetched per token's `kid` (the auth service publishes previous keys there)."""
    jwt_settings = simplejwt_settings.api_settings
    arguments = (
        jwt_settings.ALGORITHM,
        jwt_settings.SIGNING_KEY,
        jwt_settings.VERIFYING_KEY,
        jwt_settings.AUDIENCE,
        jwt_settings.ISSUER,
        jwt_settings.JWK_URL,
        jwt_settings.LEEWAY,
        jwt_settings.JSON_ENCODER,
    )
    previous_public_keys = [pem for _key_id, pem in settings.JWT_PREVIOUS_PUBLIC_KEYS]
    backend: TokenBackend
    if previous_public_keys and jwt_settings.VERIFYING_KEY and not jwt_settings.JWK_URL:
        backend = RotatedKeysTokenBackend(*arguments, previous_public_keys=previous_public_keys)
    else:
        backend = TokenBackend(*arguments)
    if backend.jwks_client is None:
        backend.get_verifying_key(None)  # no token: the key from the settings
    return backend


class MediaAccessToken(AccessToken):
    """simplejwt's AccessToken and its checks, decoded by `access_token_backend()`."""

    @property
    def token_backend(self) -> TokenBackend:
        return access_token_backend()


class VerifiedTokens:
    """Access tokens this worker has verified, by their exact bytes, until they expire.

    The app sends the same token with every call until it refreshes it, and a signature that
    verified once verifies again: only `exp` can change its answer (`nbf` and `iat` only ever
    become more valid), so a token seen before is checked for that alone. Bounded: past
    `maxsize` tokens the least recently used is forgotten, and forgetting only means verifying
    again. Shared by a worker's threads, hence the lock (a read reorders the cache too).
    """

    def __init__(self, *, maxsize: int = 1024, leeway_seconds: float = 0) -> None:
        # simplejwt's check_exp: expired once `exp <= now - leeway`.
        self._tokens: TLRUCache[bytes, Token] = TLRUCache(
            maxsize=maxsize,
            ttu=lambda _raw, token, _now: int(token.payload["exp"]) + leeway_seconds,
            timer=time.time,
        )
        self._lock = threading.Lock()

    def get(self, raw_token: bytes) -> Token | None:
        with self._lock:
            return self._tokens.get(raw_token)

    def add(self, raw_token: bytes, token: Token) -> None:
        with self._lock:
            self._tokens[raw_token] = token


@functools.cache
def verified_tokens() -> VerifiedTokens:
    """This worker's memory of verified tokens, for the SIMPLE_JWT settings in force: a changed
    key or algorithm starts with none."""
    return VerifiedTokens(leeway_seconds=access_token_backend().get_leeway().total_seconds())


def verified_access_token(raw_token: bytes) -> Token:
    """The access token `raw_token`, verified now or remembered from an earlier verification.

    Raises simplejwt's TokenError for any token that is not a valid access token now.
    """
    memory = verified_tokens()
    token = memory.get(raw_token)
    if token is not None:
        return token
    try:
        token = MediaAccessToken(raw_token)
    except (TypeError, ValueError, OverflowError) as exc:
        # A signed claim of the wrong type (`"exp": "soon"`), which simplejwt does not expect.
        raise TokenError("Token is invalid") from exc
    memory.add(raw_token, token)
    return token


@receiver(setting_changed)
def _forget_access_token_backend(*, setting: str, **kwargs: Any) -> None:
    if setting in {"SIMPLE_JWT", "JWT_PREVIOUS_PUBLIC_KEYS"}:
        access_token_backend.cache_clear()
        verified_tokens.cache_clear()
