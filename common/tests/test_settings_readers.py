"""The settings readers in `common.settings`, as the services' settings call them."""

import multiprocessing

import environ
import pytest
from django.core.cache import CacheHandler

from common import settings as shared


def write_in_another_process(config: dict, key: str, value) -> None:
    """Set `key` from a separate process, as another gunicorn worker would."""

    def write():
        CacheHandler(config).create_connection("default").set(key, value, 60)

    worker = multiprocessing.get_context("fork").Process(target=write)
    worker.start()
    worker.join(timeout=10)
    assert worker.exitcode == 0


def test_without_redis_the_cache_is_shared_between_workers(tmp_path, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    config = shared.cache_config(environ.Env(), key_prefix="auth", directory=tmp_path)

    write_in_another_process(config, "throttle_login_jane", ["attempt"])

    assert CacheHandler(config).create_connection("default").get("throttle_login_jane") == [
        "attempt"
    ]


def test_with_redis_url_the_cache_is_redis(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/9")
    config = shared.cache_config(environ.Env(), key_prefix="auth", directory=tmp_path)

    assert config["default"]["BACKEND"] == "common.cache.RedisCache"
    assert config["default"]["LOCATION"] == "redis://127.0.0.1:6379/9"


@pytest.mark.parametrize(
    ("variables", "engine"),
    [
        ({}, "django.db.backends.sqlite3"),
        ({"AUTH_DB_NAME": "media_auth"}, "common.postgresql"),
        ({"DATABASE_URL": "postgres://u@db:5432/shared"}, "common.postgresql"),
        ({"AUTH_DATABASE_URL": "sqlite:////tmp/auth.sqlite3"}, "django.db.backends.sqlite3"),
    ],
)
def test_database_is_chosen_from_the_environment(tmp_path, monkeypatch, variables, engine):
    for name in ("AUTH_DATABASE_URL", "DATABASE_URL", "AUTH_DB_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    config = shared.database_config(environ.Env(), prefix="AUTH", sqlite_path=tmp_path / "db")

    assert config["ENGINE"] == engine


def test_service_database_url_wins_over_the_shared_one(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/shared")
    monkeypatch.setenv("AUTH_DATABASE_URL", "postgres://u@db:5432/auth_only")

    config = shared.database_config(environ.Env(), prefix="AUTH", sqlite_path=tmp_path / "db")

    assert config["NAME"] == "auth_only"
    assert config["CONN_HEALTH_CHECKS"] is True


def test_dev_secrets_are_generated_once_and_shared(tmp_path, monkeypatch):
    monkeypatch.setenv("DEV_SECRETS_FILE", str(tmp_path / "secrets.json"))

    first = shared.dev_secret(tmp_path, "JWT_SIGNING_KEY")
    again = shared.dev_secret(tmp_path, "JWT_SIGNING_KEY")

    assert first == again
    assert len(first) >= 48
    assert first != shared.dev_secret(tmp_path, "FILE_URL_SIGNING_KEY")
