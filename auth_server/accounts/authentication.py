from django.core.exceptions import ValidationError
from rest_framework import HTTP_HEADER_ENCODING
from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPES, JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.tokens import AccessToken


class AccessTokenAuthentication(JWTAuthentication):
    """simplejwt's Bearer authentication with our access tokens (keys read from the settings,
    the `kid` honoured): a refresh token, an expired, foreign or unsigned token is a 401."""

    def get_validated_token(self, raw_token: bytes) -> AccessToken:
        try:
            return AccessToken(raw_token)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc

    def get_user(self, validated_token: AccessToken):
        # A genuine token whose `user_id` is not a number (only the signing key can make one)
        # names no user: the lookup would raise ValueError or ValidationError, a 500.
        try:
            return super().get_user(validated_token)
        except (TypeError, ValueError, ValidationError) as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc


def bearer_token(request) -> str | None:
    """The token of a well-formed `Authorization: Bearer <token>` header, else None (never an
    error: logout reads the header without requiring it)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if isinstance(header, bytes):
        header = header.decode(HTTP_HEADER_ENCODING, errors="replace")
    parts = header.split()
    if len(parts) == 2 and parts[0] in AUTH_HEADER_TYPES:
        return parts[1]
    return None
