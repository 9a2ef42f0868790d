"""The real settings, adjusted for the test suite: a fast hasher, a private cache, and SQLite
(or PostgreSQL with TEST_DATABASE=postgres)."""

import tempfile
from pathlib import Path

from .settings import *  # noqa: F403 -- the test settings are the real ones, adjusted
from .settings import BASE_DIR, env, shared

DATABASES = {
    "default": shared.test_database_config(
        env, name="media_handler_auth", sqlite_path=BASE_DIR / "test.sqlite3"
    )
}
# A test run: the start-up check for production settings stays quiet (common.checks).
MEDIA_HANDLER_ENV = "test"
# A fast hasher: Argon2id at the real parameters costs tens of milliseconds a password. The
# tests of hashing itself (test_passwords.py) put the real ones back.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Mail is sent before the answer (test_password_reset.py sends one in the background too), to
# Django's in-memory outbox (pytest-django).
EMAIL_IN_BACKGROUND = False
# Revocation marks go to a file of this run's own.
REVOCATION_STORE = f"file://{tempfile.mkdtemp(prefix='auth-test-revocations-')}/marks.sqlite3"
# Messages to the media service (account deletion) go to a file queue of this run's own.
_job_queue = tempfile.mkdtemp(prefix="auth-test-jobs-")
for _folder in ("queue", "processed", "control"):
    Path(_job_queue, _folder).mkdir()
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": f"{_job_queue}/queue",
    "data_folder_out": f"{_job_queue}/queue",
    "processed_folder": f"{_job_queue}/processed",
    "store_processed": False,
    # Where the transport keeps its exchanges (a routed queue's), else the working directory.
    "control_folder": f"{_job_queue}/control",
}
# No collectstatic before the tests: an empty folder, the apps' own files served (WhiteNoise).
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="auth-test-static-"))
