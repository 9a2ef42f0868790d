"""The gateway's question before it streams an upload: is this token usable?"""

import json
import time

import pytest

from .helpers import access_token_for

URL = "/api/media/token-check/"


def test_a_usable_access_token_is_204(alice):
    response = alice.get(URL)
    assert response.status_code == 204
    assert response.content == b""
    assert "X-Auth-Error" not in response


def test_the_gateway_may_remember_a_yes_for_the_configured_seconds(alice, settings):
    settings.GATEWAY_TOKEN_CHECK_SECONDS = 7
    assert alice.get(URL)["X-Accel-Expires"] == "7"


def test_the_gateway_never_remembers_a_yes_past_the_tokens_expiry(anonymous, settings):
    settings.GATEWAY_TOKEN_CHECK_SECONDS = 60
    token = access_token_for(101, exp=int(time.time()) + 5)
    response = anonymous.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 204
    assert 0 < int(response["X-Accel-Expires"]) <= 4


def test_with_no_seconds_configured_the_gateway_asks_every_time(alice, settings):
    settings.GATEWAY_TOKEN_CHECK_SECONDS = 0
    assert "X-Accel-Expires" not in alice.get(URL)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer ",
        "Bearer not-a-token",
        f"Bearer {access_token_for(101, exp=1)}",
    ],
    ids=["none", "empty", "junk", "expired"],
)
def test_a_refused_token_is_the_usual_401_with_its_body_in_a_header(anonymous, authorization):
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = anonymous.get(URL, **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(response["X-Auth-Error"]) == response.json()
    assert response.json()["message"]
    assert response["X-Auth-Error"].isascii()
    assert "X-Accel-Expires" not in response  # a refusal is never remembered
