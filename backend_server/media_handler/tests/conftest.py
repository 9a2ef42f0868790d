import os
import uuid
from collections.abc import Callable, Iterator

import boto3
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


# `make test-media-s3`: the same suite with MEDIA_STORAGE=s3, against moto's S3 server.
TEST_MEDIA_STORAGE = os.environ.get("TEST_MEDIA_STORAGE", "local")
TEST_BUCKET = "media-handler-test"


@pytest.fixture(scope="session")
def object_store() -> Iterator[dict[str, str]]:
    """moto's S3 server, a real HTTP server on loopback (a port of its own), with the test
    bucket: the S3_* settings that reach it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    config = {
        "S3_ENDPOINT_URL": f"http://{host}:{port}",
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "S3_BUCKET": TEST_BUCKET,
    }
    boto3.client(
        "s3",
        endpoint_url=config["S3_ENDPOINT_URL"],
        region_name=config["S3_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=TEST_BUCKET)
    yield config
    server.stop()


# The smallest part S3 takes: uploads of a few parts stay cheap in tests.
PART = 5 * 1024 * 1024


@pytest.fixture
def bucket(settings, object_store):
    """The media storage is the test bucket, under a prefix of this test's own (whatever
    TEST_MEDIA_STORAGE says)."""
    for name, value in object_store.items():
        setattr(settings, name, value)
    settings.S3_PREFIX = f"test-{uuid.uuid4().hex}"
    settings.MEDIA_STORAGE = "s3"
    settings.S3_UPLOAD_PART_BYTES = PART
    return settings


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path, request):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(settings.MEDIA_ROOT / ".incoming")
    (settings.MEDIA_ROOT / ".incoming").mkdir(parents=True)
    if TEST_MEDIA_STORAGE == "s3":
        # Each test in a prefix of its own: it sees only its own objects.
        for name, value in request.getfixturevalue("object_store").items():
            setattr(settings, name, value)
        settings.S3_PREFIX = f"test-{uuid.uuid4().hex}"
        settings.MEDIA_STORAGE = "s3"


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
