import json

import pytest

from common.testing import assert_status

pytestmark = pytest.mark.django_db


def test_unknown_path_is_a_json_404(api_client):
    response = api_client.get("/api/auth/nowhere/")

    assert_status(response, 404)
    assert response.json()["code"] == "not_found"
    assert response.json()["message"]


def test_oversized_body_is_a_json_413(api_client):
    body = json.dumps({"email": "jane@example.com", "first_name": "x" * 3_000_000})

    response = api_client.post("/api/auth/register/", data=body, content_type="application/json")

    assert_status(response, 413)
    assert response.json()["code"] == "request_too_large"
    assert response.json()["message"] == "The request body is too large."


def test_form_encoded_body_is_415_json(api_client):
    response = api_client.post(
        "/api/auth/login/",
        data="username=jane&password=x",
        content_type="application/x-www-form-urlencoded",
    )

    assert_status(response, 415)
    assert response.json()["code"] == "unsupported_media_type"


def test_profile_of_a_deactivated_user_is_401(api_client, user, tokens):
    user.is_active = False
    user.save()

    response = api_client.get("/api/auth/profile/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    assert_status(response, 401)


@pytest.mark.parametrize("body", ["[" * 100_000, '{"username": ' + "[" * 100_000])
def test_json_nested_too_deeply_is_400_not_500(api_client, body):
    response = api_client.post("/api/auth/login/", data=body, content_type="application/json")

    assert_status(response, 400)
    assert response.json()["code"] == "parse_error"
