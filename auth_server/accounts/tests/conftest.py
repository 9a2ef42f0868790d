import json
import threading

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tokens import AccessToken, RefreshToken
from common import revocation


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


@pytest.fixture
def sign_in(post_json, user):
    """Signs `user` (jane) in through the API, as a device would; returns the login's body."""

    def login(device_name: str | None = None, **headers) -> dict:
        body = {"username": "jane", "password": PASSWORD}
        if device_name is not None:
            body["device_name"] = device_name
        response = post_json("/api/auth/login/", body, **headers)
        assert response.status_code == 200, response.content
        return response.json()

    return login


@pytest.fixture
def published_marks():
    """The revocation marks published so far, read back from the store as a media worker would."""

    def read() -> dict:
        loaded: dict = {}
        stop = threading.Event()

        def replace_all(marks):
            loaded.update({mark.key: mark for mark in marks})
            stop.set()

        revocation.revocation_store().follow(replace_all=replace_all, add=replace_all, stop=stop)
        return loaded

    return read
