"""The media service's job queue (Celery): derivatives, clean-ups and the other service's
requests (common.messages) run here, in `celery -A backend_server worker`, never in a request.

Its settings are the CELERY_* values of backend_server.settings (common.settings.job_queue_config):
Redis when REDIS_URL is set, else a server-less queue of files under JOB_QUEUE_DIR.
"""

import os
import resource
import sys
from pathlib import Path

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend_server.settings")

app = Celery("backend_server")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_queue_folders(sender: Celery, **kwargs) -> None:
    # kombu's filesystem transport expects its folders to exist.
    options = sender.conf.broker_transport_options or {}
    for option in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(option):
            Path(options[option]).mkdir(parents=True, exist_ok=True)


@worker_process_init.connect
def _limit_memory(**kwargs) -> None:
    # Each process that runs jobs gets an address-space ceiling: an allocation past it fails
    # (MemoryError, the job's media `failed`) instead of growing the process without bound.
    from django.conf import settings

    limit = settings.JOB_WORKER_MEMORY_LIMIT_MB * 1024 * 1024
    if limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@worker_init.connect
def _refuse_incomplete_storage_settings(**kwargs) -> None:
    # Django runs no checks in a worker: the storage settings are checked here, as at WSGI start.
    # (Celery logs and ignores a signal handler's exception: the worker is stopped by hand.)
    from django.core.exceptions import ImproperlyConfigured

    from media_handler.checks import refuse_incomplete_storage_settings

    try:
        refuse_incomplete_storage_settings()
    except ImproperlyConfigured as exc:
        print(exc, file=sys.stderr, flush=True)
        raise SystemExit(1) from exc
