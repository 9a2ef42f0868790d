from rest_framework import HTTP_HEADER_ENCODING
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPES, JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.models import Session, User
from accounts.tokens import AccessToken, session_id_claim, user_id_claim


class AccessTokenAuthentication(JWTAuthentication):
    """simplejwt's Bearer authentication with our access tokens (keys read from the settings,
    the `kid` honoured): a refresh token, an expired, foreign or unsigned token is a 401, and so
    is a token whose session has ended (looked up with its user, in one query)."""

    def get_validated_token(self, raw_token: bytes) -> AccessToken:
        try:
            return AccessToken(raw_token)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc

    def get_user(self, validated_token: AccessToken) -> User:
        # A genuine token whose `user_id` is no usable id (only the signing key can make one)
        # names no user: looking it up would be a 500.
        try:
            user_id = user_id_claim(validated_token)
            session_id = session_id_claim(validated_token)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        if session_id is None:
            user = User.objects.filter(pk=user_id).first()
        else:
            session = (
                Session.objects.select_related("user")
                .filter(pk=session_id, user_id=user_id)
                .first()
            )
            if session is None or session.ended_at is not None:
                raise AuthenticationFailed("The session has ended", code="session_ended")
            user = session.user
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return user


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
