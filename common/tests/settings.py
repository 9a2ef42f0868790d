"""Settings for common's own tests: the shared base, a test database and a few views."""

from pathlib import Path

from common import settings as shared
from common.base_settings import *  # noqa: F403 -- the shared base, as the services use it
from common.base_settings import env

MEDIA_HANDLER_ENV = "test"
SECRET_KEY = "common-tests-only"
SERVICE_NAME = "common-tests"
ROOT_URLCONF = "tests.urls"
MIDDLEWARE = [
    "common.request_id.RequestIdMiddleware",
    "common.health.HealthCheckMiddleware",
    "django.middleware.common.CommonMiddleware",
]
DATABASES = {
    "default": shared.test_database_config(
        env, name="media_handler_common", sqlite_path=Path(__file__).parent / "test.sqlite3"
    )
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
