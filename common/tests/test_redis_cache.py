"""common.cache.RedisCache against the real Redis at 127.0.0.1:6379 (database 9).

Marked `redis`: `make test` needs no server and leaves these out; `make test-postgres` (the
suite on the machine's PostgreSQL and Redis) runs them.
"""

import environ
import pytest
from django.core.cache import CacheHandler

from common import settings as shared
from tests.test_settings_readers import write_in_another_process

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/9"


@pytest.fixture
def redis_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    config = shared.cache_config(environ.Env(), key_prefix="common-tests", directory=tmp_path)
    cache = CacheHandler(config).create_connection("default")
    yield config, cache
    cache.delete_many(["throttle_login_jane", "reused"])


def test_redis_cache_is_shared_between_workers(redis_cache):
    config, cache = redis_cache
    cache.delete("throttle_login_jane")

    write_in_another_process(config, "throttle_login_jane", ["attempt"])

    assert cache.get("throttle_login_jane") == ["attempt"]


def test_redis_cache_reuses_one_client_for_every_call(redis_cache):
    _, cache = redis_cache

    cache.set("reused", 1)
    assert cache.incr("reused") == 2
    assert cache.get("reused") == 2
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
