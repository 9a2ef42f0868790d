from collections.abc import Callable

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from media_handler.pagination import recent_counts

from .helpers import ALICE, BOB, access_token_for

# Both path layouts of the spec: the seed README's and the mobile app's.
LAYOUTS = {
    "seed": {"media": "/api/media/media/", "collections": "/api/media/collections/"},
    "mobile": {"media": "/api/media/", "collections": "/api/media/collection/"},
}


@pytest.fixture(autouse=True)
def _nothing_cached():
    """Each test starts with empty caches (the database is rolled back, the caches are not)."""
    recent_counts.clear()
    for cache in caches.all():
        cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(settings.MEDIA_ROOT / ".incoming")
    (settings.MEDIA_ROOT / ".incoming").mkdir(parents=True)


@pytest.fixture
def api_client_for(db) -> Callable[[int], APIClient]:
    def make(user_id: int) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user_id)}")
        return client

    return make


@pytest.fixture
def alice(api_client_for) -> APIClient:
    return api_client_for(ALICE)


@pytest.fixture
def bob(api_client_for) -> APIClient:
    return api_client_for(BOB)


@pytest.fixture
def anonymous(db) -> APIClient:
    return APIClient()


@pytest.fixture(params=sorted(LAYOUTS))
def layout(request) -> dict[str, str]:
    return LAYOUTS[request.param]


@pytest.fixture
def unreachable_cache(settings):
    """Redis on a port nothing listens on: every cache call fails, as while Redis is down."""
    working = settings.CACHES
    unreachable = {"BACKEND": "common.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    settings.CACHES = {"default": unreachable, "pages": unreachable}
    yield
    settings.CACHES = working
