"""The media service's only idea of a user: a verified access token.

simplejwt's stateless authentication checks the signature with the pinned algorithm (HS256 with
the shared key, or RS256 and friends with a public key or a JWKS URL), `exp`, `jti` and
`token_type == "access"` (a refresh token is refused). No user table is read and the auth
service is never called: `authenticate()` runs no database query.
"""

from django.utils.functional import cached_property
from jwt import PyJWKClientConnectionError
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, Token

# `user` columns are signed 64-bit integers: an id past them could not be stored or looked up.
MAX_USER_ID = 2**63 - 1


def user_id_claim(token: Token) -> int:
    """The `user_id` claim: a JSON integer (or its decimal string) from 1 to MAX_USER_ID.
    Raises KeyError without one, ValueError for anything else (a bool, a float, a huge id)."""
    claim = token[api_settings.USER_ID_CLAIM]
    if isinstance(claim, str) and claim.isascii() and claim.isdigit():
        claim = int(claim)
    if type(claim) is not int or not 1 <= claim <= MAX_USER_ID:
        raise ValueError(f"unusable user id: {claim!r}")
    return claim


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
        try:
            return AccessToken(raw_token)
        except TokenError as exc:
            if _jwks_unreachable(exc):
                # Not the token's fault: a 401 would send the app to refresh a good session.
                raise JWKSUnavailable from exc
            # One flat body ("Token is expired", "Token has wrong type", ...), not simplejwt's
            # nested list of attempts per token class.
            raise InvalidToken(exc.args[0]) from exc

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
