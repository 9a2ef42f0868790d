from .helpers import assert_status


def test_schema_is_public_and_describes_bearer_auth(anonymous):
    response = anonymous.get("/api/media/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert_status(response, 200)
    schema = response.json()
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    media = schema["paths"]["/api/media/media/"]
    assert media["get"]["security"] == [{"bearerAuth": []}]
    assert "401" in media["get"]["responses"]
    create = media["post"]
    assert set(create["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "413" in create["responses"]
    assert {"/api/media/", "/api/media/collection/", "/api/media/collections/"} <= set(
        schema["paths"]
    )
    assert schema["paths"]["/api/media/files/{media_id}/"]["get"]["security"] == [{}]


def test_swagger_ui_is_served(anonymous):
    response = anonymous.get("/api/media/docs/")
    assert_status(response, 200)
    assert b"swagger" in response.content.lower()


def test_ping_and_health_need_no_token(anonymous):
    assert_status(anonymous.get("/api/media/ping/"), 200)
    assert_status(anonymous.get("/api/media/ping"), 200)
    assert anonymous.get("/api/media/health/").json()["database"] == "ok"


def test_cache_ping_needs_no_token(anonymous):
    response = anonymous.get("/api/media/ping/cache/")

    assert_status(response, 200)
    assert response.json() == {"ping": "pong"}


def test_cache_ping_is_503_while_the_cache_is_unreachable(anonymous, unreachable_cache):
    response = anonymous.get("/api/media/ping/cache/")

    assert_status(response, 503)
    assert response.json()["code"] == "cache_unavailable"
