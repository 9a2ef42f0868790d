"""Durable messages from one service to the other, on the shared job queue.

The services never import each other: a service that needs the other to act (the auth service,
when an account is deleted, needs its media gone) publishes a message naming the task, and the
media service's worker runs it. The message waits in the broker until a worker takes it, so a
worker that was stopped catches up when it starts; every task is idempotent, since a message may
be delivered more than once.

`publish` raises when the broker cannot be reached: a caller for whom the message must not be
lost keeps its own record of it until `publish` has returned (an outbox).
"""

import functools
from pathlib import Path
from typing import Any

from django.conf import settings


@functools.cache
def _publisher():
    """A Celery app that only sends (its configuration is the settings' CELERY_* values)."""
    from celery import Celery  # imported on first use: most requests publish nothing

    app = Celery("media-handler-publisher")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    return app


def publish(task_name: str, **kwargs: Any) -> None:
    """Queue a run of the task named `task_name` with `kwargs` on the job queue (its queue in
    CELERY_TASK_ROUTES, else the default one)."""
    for option in ("data_folder_in", "processed_folder", "control_folder"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(option)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
    route = settings.CELERY_TASK_ROUTES.get(task_name) or {}
    _publisher().send_task(
        task_name,
        kwargs=kwargs,
        queue=route.get("queue", settings.CELERY_TASK_DEFAULT_QUEUE),
        retry=True,
        retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
    )
