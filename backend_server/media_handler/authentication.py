"""The media service's only idea of a user: a verified access token.

simplejwt's stateless authentication checks the signature with the pinned algorithm (HS256 with
the shared key, or RS256 and friends with a public key or a JWKS URL), `exp`, `jti` and
`token_type == "access"` (a refresh token is refused). No user table is read and the auth
service is never called: `authenticate()` runs no database query.

Tokens are decoded by one backend per worker and SIMPLE_JWT settings (`access_token_backend`):
its PyJWT knows the pinned algorithm only, with the key prepared once instead of per token.
"""

import functools
import re
import threading
import time

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from jwt import (
    DecodeError,
    ExpiredSignatureError,
    InvalidAlgorithmError,
    InvalidTokenError,
    PyJWKClientConnectionError,
    PyJWS,
    PyJWT,
)
from jwt.algorithms import HMACAlgorithm, get_default_algorithms
from jwt.utils import base64url_decode, base64url_encode
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import (
    InvalidToken,
    TokenBackendError,
    TokenBackendExpiredToken,
    TokenError,
)
from rest_framework_simplejwt.models import TokenUser
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


class PreparedSecretHMACAlgorithm(HMACAlgorithm):
    """PyJWT's HMAC algorithm for one shared secret, checked once when built.

    PyJWT's `prepare_key` re-checks an HMAC secret (not empty, not a PEM, DER or JWK key) on
    every decode, about a quarter of an HS256 verification. The secret comes from our settings,
    never from a token, so the object it returned once needs no second look; any other key is
    still checked. Signing and verifying stay PyJWT's own.
    """

    def __init__(self, hash_alg, secret: str | bytes) -> None:
        super().__init__(hash_alg)
        self.secret = super().prepare_key(secret)

    def prepare_key(self, key: str | bytes) -> bytes:
        if key is self.secret:
            return key
        return super().prepare_key(key)


class SegmentCheckingPyJWS(PyJWS):
    """PyJWS, checking that each of a token's segments is base64url with one regular expression.

    PyJWS tests every character of a token against the alphabet in a Python loop, a quarter of
    an HS256 verification. Same rules, same error: the alphabet, at most two `=` and only where
    they pad the segment to a multiple of four, no length that leaves a lone character, and the
    canonical encoding (re-encoding the bytes gives the segment back).
    """

    _SEGMENT = re.compile(rb"([A-Za-z0-9_-]*)(={0,2})")

    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        match = SegmentCheckingPyJWS._SEGMENT.fullmatch(segment)
        if match is None or (match[2] and len(segment) % 4) or len(match[1]) % 4 == 1:
            raise DecodeError(f"Invalid {name} padding")
        stripped = match[1]
        decoded = base64url_decode(stripped)
        if base64url_encode(decoded) != stripped:
            raise DecodeError(f"Invalid {name} padding")
        return decoded


class VerifiedTokens:
    """Access tokens this worker has verified, by their exact bytes, until they expire.

    The app sends the same token with every call until it refreshes it, and a signature that
    verified once verifies again: only `exp` can change its answer (`nbf` and `iat` only ever
    become more valid), so a token seen before is checked for that alone. Bounded: past `size`
    tokens the oldest is forgotten, and forgetting only means verifying again. Held by the
    backend of the settings in force, so a changed key or algorithm starts with none.
    """

    def __init__(self, size: int = 1024, leeway_seconds: float = 0) -> None:
        self._tokens: dict[bytes, Token] = {}
        self._size = size
        self._leeway = leeway_seconds
        self._lock = threading.Lock()

    def get(self, raw_token: bytes) -> Token | None:
        token = self._tokens.get(raw_token)
        # simplejwt's check_exp: expired once `exp <= now - leeway`.
        if token is None or token.payload["exp"] <= time.time() - self._leeway:
            return None
        return token

    def add(self, raw_token: bytes, token: Token) -> None:
        with self._lock:
            if len(self._tokens) >= self._size:
                del self._tokens[next(iter(self._tokens))]
            self._tokens[raw_token] = token


class PinnedKeyTokenBackend(TokenBackend):
    """simplejwt's TokenBackend, decoding with a PyJWT that knows the pinned algorithm only,
    its key prepared once (an HMAC secret, as simplejwt already does for a public key), and
    remembering the tokens it verified (`verified`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.verified = VerifiedTokens(leeway_seconds=self.get_leeway().total_seconds())
        algorithm = get_default_algorithms()[self.algorithm]
        if isinstance(algorithm, HMACAlgorithm):
            algorithm = PreparedSecretHMACAlgorithm(algorithm.hash_alg, self.signing_key)
            # What simplejwt's get_verifying_key() hands to decode for HS*: the checked object.
            self.prepared_signing_key = algorithm.secret
        self._jwt = PyJWT()
        # PyJWT has no public way to give an instance its own PyJWS; this one holds nothing but
        # the pinned algorithm, so a token's `alg` header can select no other.
        self._jwt._jws = SegmentCheckingPyJWS(algorithms=[])
        self._jwt._jws.register_algorithm(self.algorithm, algorithm)

    def decode(self, token: Token, verify: bool = True) -> dict:
        # simplejwt's decode() on our PyJWT instance instead of the module's global one.
        try:
            return self._jwt.decode(
                token,
                self.get_verifying_key(token),
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.get_leeway(),
                options={"verify_aud": self.audience is not None, "verify_signature": verify},
            )
        except InvalidAlgorithmError as exc:
            raise TokenBackendError(_("Invalid algorithm specified")) from exc
        except ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken(_("Token is expired")) from exc
        except InvalidTokenError as exc:
            raise TokenBackendError(_("Token is invalid")) from exc


@functools.cache
def access_token_backend() -> PinnedKeyTokenBackend:
    """The backend for the SIMPLE_JWT settings in force, built once per worker (simplejwt's own
    is built at import and never follows a settings change)."""
    jwt_settings = simplejwt_settings.api_settings
    return PinnedKeyTokenBackend(
        jwt_settings.ALGORITHM,
        jwt_settings.SIGNING_KEY,
        jwt_settings.VERIFYING_KEY,
        jwt_settings.AUDIENCE,
        jwt_settings.ISSUER,
        jwt_settings.JWK_URL,
        jwt_settings.LEEWAY,
        jwt_settings.JSON_ENCODER,
    )


@receiver(setting_changed)
def _forget_access_token_backend(*, setting: str, **kwargs) -> None:
    if setting == "SIMPLE_JWT":
        access_token_backend.cache_clear()


class MediaAccessToken(AccessToken):
    """simplejwt's AccessToken and its checks, decoded by `access_token_backend()`."""

    @property
    def token_backend(self) -> TokenBackend:
        return access_token_backend()


class JWKSUnavailable(APIException):
    # Not common.exceptions.ServiceError: that module imports DRF's views, which import this.
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The keys that verify tokens cannot be fetched; try again shortly."
    default_code = "jwks_unavailable"


class TokenOwner(TokenUser):
    """The caller, built from the claims: an integer `id` (the owner of media rows) and `email`."""

    @cached_property
    def id(self) -> int:
        return user_id_claim(self.token)

    @cached_property
    def email(self) -> str:
        return self.token.get("email", "")


class StatelessJWTAuthentication(JWTStatelessUserAuthentication):
    """Bearer access tokens only; any failure is a 401 with `WWW-Authenticate: Bearer`.

    A request without an Authorization header is anonymous, and the permission check turns it
    into a 401 too: this class provides `authenticate_header`, so DRF never answers 403.
    """

    www_authenticate_realm = "media"

    def get_validated_token(self, raw_token: bytes) -> Token:
        verified = access_token_backend().verified
        token = verified.get(raw_token)
        if token is not None:
            return token
        try:
            token = MediaAccessToken(raw_token)
        except TokenError as exc:
            if _jwks_unreachable(exc):
                # Not the token's fault: a 401 would send the app to refresh a good session.
                raise JWKSUnavailable from exc
            # One flat body ("Token is expired", "Token has wrong type", ...), not simplejwt's
            # nested list of attempts per token class.
            raise InvalidToken(exc.args[0]) from exc
        verified.add(raw_token, token)
        return token

    def get_user(self, validated_token: Token) -> TokenOwner:
        try:
            user_id_claim(validated_token)
        except (KeyError, ValueError) as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        return TokenOwner(validated_token)


def _jwks_unreachable(exc: BaseException) -> bool:
    """Whether simplejwt's TokenError was caused by the JWKS URL not answering (simplejwt
    reports that as an invalid token; the cause chain keeps pyjwt's connection error)."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, PyJWKClientConnectionError):
            return True
        cause = cause.__cause__
    return False
