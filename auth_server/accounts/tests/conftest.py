import json

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from accounts.tokens import AccessToken, RefreshToken


@pytest.fixture(autouse=True)
def _empty_cache():
    # Throttle counters live in the cache: each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory(username="jane", email="jane@example.com")


@pytest.fixture
def tokens(user):
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


@pytest.fixture
def expired_access(user) -> str:
    token = AccessToken()
    token["user_id"] = user.pk
    token.set_iat(at_time=token.current_time - token.lifetime * 3)
    token.set_exp(from_time=token.current_time - token.lifetime * 2)
    return str(token)


@pytest.fixture
def post_json(api_client):
    """POSTs a JSON body, with any extra headers (`HTTP_AUTHORIZATION=...`)."""

    def post(path: str, body=None, **headers):
        data = json.dumps(body) if body is not None else None
        return api_client.post(path, data=data, content_type="application/json", **headers)

    return post


@pytest.fixture
def throttle_rates(settings):
    """Sets some throttle rates for one test (the others keep their configured values)."""

    def set_rates(**rates: str) -> None:
        rest_framework = dict(settings.REST_FRAMEWORK)
        rest_framework["DEFAULT_THROTTLE_RATES"] = {
            **rest_framework["DEFAULT_THROTTLE_RATES"],
            **rates,
        }
        settings.REST_FRAMEWORK = rest_framework

    return set_rates
