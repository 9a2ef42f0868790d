import re

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate

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
    # Relative to the server, /api/auth; `refresh/`, an alias of `token/refresh/`, left out.
    assert set(paths) == {
        "/register/",
        "/login/",
        "/token/refresh/",
        "/profile/",
        "/logout/",
        "/sessions/",
        "/sessions/{session_id}/",
        "/password/change/",
        "/password/reset/",
        "/password/reset/confirm/",
        "/.well-known/jwks.json",
    }
    # 429 and 414 everywhere: the gateway's limit on requests in progress from one address,
    # and on an address's length.
    assert set(paths["/register/"]["post"]["responses"]) == {"201", "400", "414", "429"}
    assert set(paths["/login/"]["post"]["responses"]) == {"200", "400", "414", "429"}
    assert set(paths["/token/refresh/"]["post"]["responses"]) == {"200", "400", "414", "429"}
    assert set(paths["/logout/"]["post"]["responses"]) == {"205", "400", "414", "429"}
    assert set(paths["/password/reset/"]["post"]["responses"]) == {"202", "400", "414", "429"}
    assert set(paths["/profile/"]["delete"]["responses"]) >= {"204", "400", "401"}
    assert set(paths["/sessions/{session_id}/"]["delete"]["responses"]) == {
        "204",
        "401",
        "404",
        "414",
        "429",
    }
    assert paths["/profile/"]["get"]["security"] == [{"bearerAuth": []}]
    assert paths["/sessions/"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in paths["/password/reset/"]["post"]
    assert "security" not in paths["/login/"]["post"]
    schemes = response.json()["components"]["securitySchemes"]
    assert list(schemes) == ["bearerAuth"]  # the media service's name too
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert response.json()["servers"] == [
        {"url": "/api/auth", "description": "The gateway's auth service prefix."}
    ]


def test_schema_is_valid_under_openapi_spec_validator(api_client):
    response = api_client.get("/api/auth/schema/?format=json")

    assert_status(response, 200)
    validate(response.json())


def test_error_bodies_are_components(api_client):
    schema = api_client.get("/api/auth/schema/?format=json").json()
    profile = schema["paths"]["/profile/"]
    register = schema["paths"]["/register/"]["post"]

    def component(operation: dict, status: str) -> str:
        return operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]

    assert component(register, "400") == "#/components/schemas/ValidationError"
    assert component(register, "429") == "#/components/schemas/Error"
    assert component(profile["get"], "401") == "#/components/schemas/Error"
    components = schema["components"]["schemas"]
    field_errors = {"type": "array", "items": {"type": "string"}}
    assert components["ValidationError"]["additionalProperties"] == field_errors
    assert components["RefreshError"]["additionalProperties"] == field_errors


def test_account_deletion_documents_its_password_body(api_client):
    schema = api_client.get("/api/auth/schema/?format=json").json()
    body = schema["paths"]["/profile/"]["delete"]["requestBody"]

    assert body["required"] is True
    reference = body["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert component["required"] == ["password"]
    assert component["properties"]["password"]["writeOnly"] is True


def test_docs_load_their_assets_from_this_service_only(api_client):
    page = "/api/auth/docs/"
    response = api_client.get(page, HTTP_AUTHORIZATION="Bearer ")
    assert_status(response, 200)

    assets = re.findall(r'(?:src|href)="([^"]+)"', response.content.decode())

    assert assets
    assert all(asset.startswith("/api/auth/static/drf_spectacular_sidecar/") for asset in assets)
    for asset in assets:
        served = api_client.get(asset)
        assert_status(served, 200)
        served.close()


def test_admin_login_page_has_its_stylesheet(api_client):
    response = api_client.get("/api/auth/admin/login/")
    assert_status(response, 200)

    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', response.content.decode())

    assert "/api/auth/static/admin/css/base.css" in stylesheets
    for stylesheet in stylesheets:
        served = api_client.get(stylesheet)
        assert_status(served, 200)
        assert served["Content-Type"].startswith("text/css")
        served.close()
