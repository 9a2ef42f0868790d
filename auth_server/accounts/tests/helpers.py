"""What several test modules use that is not a fixture."""

from django.conf import settings as django_settings
from kombu import Connection

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


def queued_messages() -> list[tuple[str, dict]]:
    """Every message waiting on the queue of what accounts ask of the media service, taken as its
    worker would take them."""
    taken: list[tuple[str, dict]] = []
    with Connection(
        django_settings.CELERY_BROKER_URL,
        transport_options=django_settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    ) as connection:
        queue = connection.SimpleQueue(django_settings.CELERY_ACCOUNTS_QUEUE)
        try:
            while True:
                try:
                    message = queue.get(timeout=0.5)
                except queue.Empty:
                    return taken
                message.ack()
                taken.append((message.headers["task"], message.payload[1]))
        finally:
            queue.close()
