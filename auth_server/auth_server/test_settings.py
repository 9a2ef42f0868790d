"""The real settings, adjusted for the test suite: a fast hasher, a private cache, and SQLite
(or PostgreSQL with TEST_DATABASE=postgres)."""

from .settings import *  # noqa: F403 -- the test settings are the real ones, adjusted
from .settings import BASE_DIR, env, shared

DATABASES = {
    "default": shared.test_database_config(
        env, name="media_handler_auth", sqlite_path=BASE_DIR / "test.sqlite3"
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, as the services use (WAL, writers queued by IMMEDIATE transactions): the tests that
    # race real threads need it; SQLite's shared in-memory database locks whole tables instead.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test_database.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;",
    }
# A test run: the start-up check for production settings stays quiet (common.checks).
MEDIA_HANDLER_ENV = "test"
# A fast hasher: Argon2id at the real parameters costs tens of milliseconds a password. The
# tests of hashing itself (test_passwords.py) put the real ones back.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
