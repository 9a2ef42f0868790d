"""The media service's only idea of a user: a verified access token (media_handler.tokens).

`authenticate()` runs no database query: the caller is a TokenOwner built from the claims. A
token the auth service has since revoked (its session ended, or every token of its user) is
refused from this worker's in-memory copy of the revocation marks (common.revocation).
"""

from typing import cast

from django.http import HttpRequest
from django.utils.functional import cached_property
from jwt import PyJWKClientConnectionError
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.tokens import Token

from common.revocation import revocation_list
from media_handler.tokens import user_id_claim, verified_access_token


class JWKSUnavailable(APIException):
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
            return verified_access_token(raw_token)
        except TokenError as exc:
            if _jwks_unreachable(exc):
                # Not the token's fault: a 401 would send the app to refresh a good session.
                raise JWKSUnavailable from exc
            # One flat body ("Token is expired", "Token has wrong type", ...), not simplejwt's
            # nested list of attempts per token class.
            raise InvalidToken(exc.args[0]) from exc

    def get_user(self, validated_token: Token) -> TokenOwner:
        try:
            user_id = user_id_claim(validated_token)
        except (KeyError, ValueError) as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        if is_revoked(validated_token, user_id=user_id):
            raise InvalidToken("Token has been revoked")
        return TokenOwner(validated_token)


def is_revoked(token: Token, *, user_id: int) -> bool:
    """Whether the auth service has since ended the token's session or every token of its user:
    this worker's copy of the revocation marks (common.revocation), in memory, no I/O."""
    session_id = token.get("sid")
    iat = token.get("iat")
    return revocation_list().is_revoked(
        user_id=user_id,
        session_id=session_id if isinstance(session_id, str) else None,
        iat=iat if isinstance(iat, int | float) and not isinstance(iat, bool) else 0,
    )


def caller_id(request: HttpRequest) -> int:
    """The user id of the authenticated caller of a view behind IsAuthenticated."""
    return cast(TokenOwner, request.user).id


def _jwks_unreachable(exc: BaseException) -> bool:
    """Whether simplejwt's TokenError was caused by the JWKS URL not answering (simplejwt
    reports that as an invalid token; the cause chain keeps PyJWT's connection error)."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, PyJWKClientConnectionError):
            return True
        cause = cause.__cause__
    return False
