"""Jobs of the media service's worker (backend_server/celery.py): each loads ids and calls a
service. Named explicitly: the auth service publishes them by name (common.messages)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from media_handler import services

# Retried until the database answers again: the request to run them is durable, so is the run.
DATABASE_OUTAGE = (OperationalError, InterfaceError)


@shared_task(
    name="media.purge_user",
    autoretry_for=DATABASE_OUTAGE,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=None,
)
def purge_user(*, user_id: int) -> int:
    """The account of `user_id` was deleted (the auth service's message): delete their media,
    files and collections."""
    return services.user_purge(user_id=user_id)
