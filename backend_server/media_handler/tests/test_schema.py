import re

import pytest
from openapi_spec_validator import validate

from .helpers import assert_status

# One operation per action: the seed layout's paths, relative to the server's /api/media.
CANONICAL_OPERATIONS = {
    ("get", "/media/"): "media_list",
    ("post", "/media/"): "media_create",
    ("get", "/media/{id}/"): "media_retrieve",
    ("put", "/media/{id}/"): "media_update",
    ("patch", "/media/{id}/"): "media_partial_update",
    ("delete", "/media/{id}/"): "media_destroy",
    ("post", "/media/{id}/restore/"): "media_restore",
    ("post", "/media/{id}/add-to-collection/"): "media_add_to_collection",
    ("post", "/media/{id}/remove-from-collection/"): "media_remove_from_collection",
    ("get", "/media/{id}/file/"): "media_file",
    ("post", "/media/bulk-check/"): "media_bulk_check",
    ("get", "/changes/"): "changes_list",
    ("post", "/uploads/"): "uploads_create",
    ("patch", "/uploads/{upload_id}/"): "uploads_partial_update",
    ("delete", "/uploads/{upload_id}/"): "uploads_destroy",
    ("get", "/collections/"): "collections_list",
    ("post", "/collections/"): "collections_create",
    ("get", "/collections/{id}/"): "collections_retrieve",
    ("put", "/collections/{id}/"): "collections_update",
    ("patch", "/collections/{id}/"): "collections_partial_update",
    ("delete", "/collections/{id}/"): "collections_destroy",
    ("get", "/files/{media_id}/"): "files_retrieve",
    ("get", "/files/{media_id}/thumbnail/"): "files_thumbnail_retrieve",
    ("get", "/files/{media_id}/preview/"): "files_preview_retrieve",
}
FILE_CONTENT_TYPES = ["application/octet-stream", "image/*", "video/*", "audio/*"]


@pytest.fixture
def schema(anonymous) -> dict:
    response = anonymous.get("/api/media/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert_status(response, 200)
    return response.json()


def body_schema(schema: dict, operation: dict, content_type: str) -> dict:
    ref = operation["requestBody"]["content"][content_type]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def response_component(operation: dict, status: str) -> str:
    return operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]


def test_schema_is_valid_under_openapi_spec_validator(schema):
    validate(schema)


def test_schema_is_relative_to_the_gateways_media_prefix(schema):
    assert [server["url"] for server in schema["servers"]] == ["/api/media"]


def test_each_action_is_one_operation_and_the_aliases_are_left_out(schema):
    operations = {
        (method, path): operation["operationId"]
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }

    assert operations == CANONICAL_OPERATIONS


def test_one_bearer_scheme_guards_every_media_operation(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert set(schema["components"]["securitySchemes"]) == {"bearerAuth"}
    media = schema["paths"]["/media/"]
    assert media["get"]["security"] == [{"bearerAuth": []}]
    assert "401" in media["get"]["responses"]
    assert schema["paths"]["/files/{media_id}/"]["get"]["security"] == [{}]


def test_json_create_and_multipart_upload_are_separate_bodies(schema):
    create = schema["paths"]["/media/"]["post"]
    assert list(create["requestBody"]["content"]) == ["application/json", "multipart/form-data"]

    record = body_schema(schema, create, "application/json")
    upload = body_schema(schema, create, "multipart/form-data")

    assert "file" not in record["properties"]
    assert {"size", "storage_path"} <= set(record["properties"])
    assert upload["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": "The image, video or audio file.",
    }
    assert {"file", "name", "type"} <= set(upload["required"])
    assert "size" not in upload["properties"]
    assert "413" in create["responses"]


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/media/{id}/", "put"),
        ("/media/{id}/", "patch"),
        ("/media/{id}/add-to-collection/", "post"),
        ("/collections/", "post"),
        ("/collections/{id}/", "put"),
        ("/collections/{id}/", "patch"),
    ],
)
def test_operations_without_a_file_take_json_only(schema, path, method):
    assert list(schema["paths"][path][method]["requestBody"]["content"]) == ["application/json"]


def test_a_form_body_where_no_file_is_accepted_is_415(alice):
    created = alice.post("/api/media/collections/", {"name": "json"}, format="json")
    assert_status(created, 201)

    response = alice.patch(
        f"/api/media/collections/{created.json()['id']}/", {"name": "form"}, format="multipart"
    )

    assert_status(response, 415)
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "path", ["/media/{id}/file/", "/files/{media_id}/", "/files/{media_id}/thumbnail/"]
)
def test_file_responses_are_bytes_whole_or_ranged(schema, path):
    operation = schema["paths"][path]["get"]

    for status in ("200", "206"):
        content = operation["responses"][status]["content"]
        assert list(content) == FILE_CONTENT_TYPES
        assert all(c["schema"] == {"type": "string", "format": "binary"} for c in content.values())
    assert "Range" in {p["name"] for p in operation["parameters"] if p["in"] == "header"}


def test_error_bodies_are_components(schema):
    components = schema["components"]["schemas"]
    create = schema["paths"]["/media/"]["post"]
    retrieve = schema["paths"]["/media/{id}/"]["get"]

    assert response_component(create, "400") == "#/components/schemas/ValidationError"
    for operation, status in [(create, "401"), (create, "413"), (retrieve, "404")]:
        assert response_component(operation, status) == "#/components/schemas/Error"
    assert components["ValidationError"]["additionalProperties"] == {
        "type": "array",
        "items": {"type": "string"},
    }
    assert set(components["Error"]["required"]) == {"detail", "code", "message"}


def test_every_operation_documents_the_gateways_429(schema):
    for methods in schema["paths"].values():
        for operation in methods.values():
            assert response_component(operation, "429") == "#/components/schemas/Error"


def test_every_operation_documents_the_gateways_414(schema):
    # The gateway answers it to any address longer than it reads (a query of long values).
    for methods in schema["paths"].values():
        for operation in methods.values():
            assert response_component(operation, "414") == "#/components/schemas/Error"


def test_docs_load_their_assets_from_this_service_only(anonymous):
    page = "/api/media/docs/"
    response = anonymous.get(page)
    assert_status(response, 200)

    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert assets
    assert all(asset.startswith("/api/media/static/drf_spectacular_sidecar/") for asset in assets)
    for asset in assets:
        served = anonymous.get(asset)
        assert_status(served, 200)
        served.close()


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
