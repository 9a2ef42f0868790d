"""The real settings, adjusted for the test suite: a private cache, a throw-away MEDIA_ROOT and
SQLite (or PostgreSQL with TEST_DATABASE=postgres). Everything else is as it ships, the list page
cache included (the tests run the on-commit hooks that retire its pages)."""

import tempfile
from pathlib import Path

import environ

from .settings import *  # noqa: F403 -- the test settings are the real ones, adjusted
from .settings import BASE_DIR, REST_FRAMEWORK, env, shared

# A test run: the start-up check for production settings stays quiet (common.checks).
MEDIA_HANDLER_ENV = "test"
DATABASES = {
    "default": shared.test_database_config(
        env, name="media_handler_media", sqlite_path=BASE_DIR / "test.sqlite3"
    )
}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"},
}
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="media-handler-test-"))
FILE_UPLOAD_TEMP_DIR = str(MEDIA_ROOT / ".incoming")
# Revocation marks are read from a file of this run's own (the tests publish to it).
REVOCATION_STORE = f"file://{tempfile.mkdtemp(prefix='media-test-revocations-')}/marks.sqlite3"
# Jobs the tests queue (an upload's derivatives) land in files of this run, never in var/jobs
# nor on a Redis some worker reads, whatever the environment says; the tests run the task
# functions themselves.
JOB_QUEUE_DIR = MEDIA_ROOT / ".jobs"
_no_broker_configured = environ.Env()
_no_broker_configured.ENVIRON = {}
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = shared.job_queue_broker(
    _no_broker_configured, directory=JOB_QUEUE_DIR
)
# JSON is what every operation but the upload reads; an upload's test says format="multipart".
REST_FRAMEWORK = {**REST_FRAMEWORK, "TEST_REQUEST_DEFAULT_FORMAT": "json"}
# No collectstatic before the tests: an empty folder, the apps' own files served (WhiteNoise).
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="media-test-static-"))
