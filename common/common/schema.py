"""What both services' OpenAPI schemas share (drf-spectacular): the two error bodies every
operation may answer with, their field errors, the 429 any of them may get, and the one
security scheme name."""

from typing import Any

from rest_framework import serializers

# The name both schemas give their Bearer access-token scheme.
SECURITY_SCHEME = "bearerAuth"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An access token from the auth service (`POST /api/auth/login/`).",
}


class ErrorSerializer(serializers.Serializer):
    """A request-level error (401, 403, 404, 413, 429, ...): DRF's `detail`, plus `code` and
    `message` (schema only: the error handler writes the body)."""

    detail = serializers.CharField()
    code = serializers.CharField(help_text="Machine-readable.")
    message = serializers.CharField(help_text="One human-readable sentence.")


class ValidationErrorSerializer(serializers.Serializer):
    """Invalid input (400): one list of messages per field at fault (`non_field_errors` for the
    body as a whole, `detail` for a body that could not be read), plus `code` and `message`."""

    code = serializers.CharField(help_text="`invalid`, or `parse_error` for a malformed body.")
    message = serializers.CharField(help_text="The first problem, naming its field.")
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    detail = serializers.CharField(required=False, help_text="A body that could not be read.")


# The lists of messages of the fields at fault, by the field's name.
FIELD_ERRORS = {"type": "array", "items": {"type": "string"}}


def describe_field_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: every component derived from ValidationError takes the fields at
    fault as additional properties, each a list of messages (a serializer cannot say so)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("ValidationError") or name == "RefreshError":
            component["additionalProperties"] = FIELD_ERRORS
    return result


GATEWAY_THROTTLED = {
    "description": "Too many requests: the service's own limits where it has them, and the "
    "gateway's on requests in progress at once from one address "
    "(GATEWAY_CONNECTIONS_PER_ADDRESS). Retry after `Retry-After` seconds when given.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


GATEWAY_URI_TOO_LONG = {
    "description": "The address (path and query) is longer than the gateway reads (8 KiB).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def document_throttling(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: a 429 (the Error body) on every operation, which the gateway can
    answer to any request; operations that describe their own keep it. And the gateway's 414,
    which it answers to any request whose address is too long (a query of long values)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation["responses"].setdefault("429", GATEWAY_THROTTLED)
            operation["responses"].setdefault("414", GATEWAY_URI_TOO_LONG)
    return result
