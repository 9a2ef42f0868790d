"""Jobs of the media service's worker (backend_server/celery.py): each loads ids and calls a
service. Named explicitly: they are published by name (common.messages), also by the auth
service."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from media_handler import services
from media_handler.files.storage import InsufficientStorage, StorageUnavailable, is_object_store

# Retried until the database answers again: the request to run them is durable, so is the run.
DATABASE_OUTAGE = (OperationalError, InterfaceError)


def _transient_faults() -> tuple[type[BaseException], ...]:
    """Faults that pass: the database away, the storage unreachable or full for a while. A file
    that cannot give derivatives is no fault of this kind: it is marked `failed`, not retried."""
    faults: tuple[type[BaseException], ...] = (
        *DATABASE_OUTAGE,
        OSError,
        StorageUnavailable,
        InsufficientStorage,
    )
    if is_object_store():  # boto3's own faults (the worker loads boto3 only for a bucket)
        from media_handler.files.s3 import OBJECT_STORE_ERRORS

        faults += OBJECT_STORE_ERRORS
    return faults


TRANSIENT_FAULTS = _transient_faults()


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


@shared_task(
    bind=True,
    name="media.make_derivatives",
    autoretry_for=TRANSIENT_FAULTS,
    retry_backoff=True,
    retry_backoff_max=600,
    # Delays of up to 1, 2, 4 … 512 s, then 600 s (each drawn below its bound): a storage or
    # database away for half an hour to an hour is waited out before the media is `failed`.
    max_retries=16,
    # The soft limit interrupts the job (the media is then `failed`); the hard one, a little
    # later, ends the worker process whatever it is doing.
    soft_time_limit=settings.DERIVATIVES_TIME_LIMIT_SECONDS,
    time_limit=settings.DERIVATIVES_TIME_LIMIT_SECONDS + 30,
    # Past the hard limit the message goes back to the queue (Celery's default acknowledges
    # it, and the media stayed `pending` for good): the next run counts one more attempt, and
    # past MAX_PROCESSING_ATTEMPTS the media is given up (`failed`).
    acks_on_timeout=False,
)
def make_derivatives(self, *, media_id: str, force: bool = False) -> str | None:
    """Make the thumbnail, preview and placeholder of a media (services.media_make_derivatives).
    A passing fault (the storage or database away) is tried again, with a growing delay; on
    the last try the media is marked `failed` instead (`generate_derivatives --missing` makes
    it again once the cause is fixed), so that no media stays `pending` for good."""
    try:
        return services.media_make_derivatives(media_id=media_id, force=force)
    except SoftTimeLimitExceeded:
        return services.media_processing_failed(
            media_id=media_id,
            reason=f"took longer than {settings.DERIVATIVES_TIME_LIMIT_SECONDS} s",
        )
    except TRANSIENT_FAULTS as exc:
        if self.request.retries < self.max_retries:
            raise  # autoretry_for: tried again later
        try:
            return services.media_processing_failed(
                media_id=media_id, reason=f"still failing after {self.max_retries} retries: {exc!r}"
            )
        except DATABASE_OUTAGE:
            raise exc from None  # cannot even be marked: the database is away too


@shared_task(name="media.sweep_expired", autoretry_for=DATABASE_OUTAGE, retry_backoff=True)
def sweep_expired() -> dict[str, int]:
    """Expired resumable uploads, idempotency keys and change-feed entries (as the
    sweep_expired command); scheduled by CELERY_BEAT_SCHEDULE when beat runs."""
    from media_handler.changes import changes_prune
    from media_handler.idempotency import idempotency_keys_sweep
    from media_handler.uploads.services import uploads_sweep

    return {
        "uploads": uploads_sweep(),
        "idempotency_keys": idempotency_keys_sweep(),
        "changes": changes_prune(),
    }
