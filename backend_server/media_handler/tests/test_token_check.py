"""The gateway's question before it streams an upload: is this token usable?"""

import json

import pytest

from .helpers import access_token_for

URL = "/api/media/token-check/"


def test_a_usable_access_token_is_204(alice):
    response = alice.get(URL)
    assert response.status_code == 204
    assert response.content == b""
    assert "X-Auth-Error" not in response


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
