"""What several test modules use that is not a fixture."""

from accounts.models import Session

SESSIONS = "/api/auth/sessions/"
REFRESH = "/api/auth/refresh/"
PROFILE = "/api/auth/profile/"
LOGOUT = "/api/auth/logout/"


def bearer(tokens: dict) -> dict:
    """The Authorization header (as Django test client keywords) of a body with `access`."""
    return {"HTTP_AUTHORIZATION": f"Bearer {tokens['access']}"}


def session_of(tokens: dict) -> Session:
    from accounts.tokens import RefreshToken

    return Session.objects.get(pk=RefreshToken(tokens["refresh"], verify=False)["sid"])
