import pytest
import yaml
from django.core.management import call_command

from common.testing import assert_status

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")


def test_schema_describes_every_endpoint_truthfully(api_client):
    response = api_client.get("/api/auth/schema/?format=json", HTTP_AUTHORIZATION="Bearer stale")

    assert_status(response, 200)
    paths = response.json()["paths"]
    assert set(paths) == {
        "/api/auth/register/",
        "/api/auth/login/",
        "/api/auth/token/refresh/",
        "/api/auth/refresh/",
        "/api/auth/profile/",
        "/api/auth/logout/",
        "/api/auth/sessions/",
        "/api/auth/sessions/{session_id}/",
        "/api/auth/password/change/",
        "/api/auth/password/reset/",
        "/api/auth/password/reset/confirm/",
        "/api/auth/.well-known/jwks.json",
    }
    assert set(paths["/api/auth/register/"]["post"]["responses"]) == {"201", "400", "429"}
    assert set(paths["/api/auth/login/"]["post"]["responses"]) == {"200", "400", "429"}
    assert set(paths["/api/auth/refresh/"]["post"]["responses"]) == {"200", "400"}
    assert set(paths["/api/auth/logout/"]["post"]["responses"]) == {"205", "400"}
    assert set(paths["/api/auth/password/reset/"]["post"]["responses"]) == {"202", "400", "429"}
    assert set(paths["/api/auth/profile/"]["delete"]["responses"]) >= {"204", "400", "401"}
    assert set(paths["/api/auth/sessions/{session_id}/"]["delete"]["responses"]) == {
        "204",
        "401",
        "404",
    }
    assert paths["/api/auth/profile/"]["get"]["security"] == [{"jwtAuth": []}]
    assert paths["/api/auth/sessions/"]["get"]["security"] == [{"jwtAuth": []}]
    assert "security" not in paths["/api/auth/password/reset/"]["post"]
    assert "security" not in paths["/api/auth/login/"]["post"]
    schemes = response.json()["components"]["securitySchemes"]
    assert schemes["jwtAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def test_swagger_docs_are_served(api_client):
    response = api_client.get("/api/auth/docs/", HTTP_AUTHORIZATION="Bearer ")

    assert_status(response, 200)
    assert b"swagger" in response.content.lower()
