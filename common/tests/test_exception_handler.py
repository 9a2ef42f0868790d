"""The one JSON error shape: DRF's keys plus `code` and `message`, for domain errors too."""

import pytest
from rest_framework.test import APIClient

from common.testing import assert_status


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def test_an_application_error_is_its_status_with_detail_code_and_message(client):
    response = client.get("/raise/application-error/")

    assert_status(response, 404)
    assert response.json() == {
        "detail": "That collection is not yours.",
        "code": "collection_not_found",
        "message": "That collection is not yours.",
    }


def test_an_application_error_about_one_field_is_that_fields_list(client):
    response = client.get("/raise/field-error/")

    assert_status(response, 400)
    assert response.json() == {
        "name": ["Choose another name."],
        "code": "name_taken",
        "message": "name: Choose another name.",
    }


def test_an_application_error_about_several_fields_lists_each(client):
    response = client.get("/raise/field-errors/")

    assert_status(response, 400)
    assert response.json() == {
        "email": ["Taken."],
        "password": ["Too short.", "Too common."],
        "code": "invalid",
        "message": "email: Taken.",
    }


def test_an_application_errors_extra_keys_join_the_body(client):
    response = client.get("/raise/extra/")

    assert_status(response, 400)
    assert response.json() == {
        "detail": "The refresh token was refused.",
        "error": "invalid_grant",
        "code": "invalid_grant",
        "message": "The refresh token was refused.",
    }


def test_a_body_past_the_memory_limit_is_a_json_413(client):
    response = client.get("/raise/too-large/")

    assert_status(response, 413)
    assert response.json()["code"] == "request_too_large"
    assert response.json()["message"] == "The request body is too large."


def test_an_unreachable_database_is_a_503_with_retry_after(client):
    response = client.get("/raise/database-down/")

    assert_status(response, 503)
    assert response.json()["code"] == "database_unavailable"
    assert response["Retry-After"] == "5"


def test_a_models_validation_error_is_a_400_with_field_lists(client):
    response = client.get("/raise/model-validation/")

    assert_status(response, 400)
    assert response.json() == {
        "size": ["Must be positive."],
        "code": "invalid",
        "message": "size: Must be positive.",
    }


def test_an_unknown_path_is_a_json_404(client):
    response = client.get("/nowhere/")

    assert_status(response, 404)
    assert response.json()["code"] == "not_found"
