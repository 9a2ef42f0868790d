"""One JSON error shape for both services (DRF's `EXCEPTION_HANDLER`).

DRF's own handler runs first and keeps its keys (`detail`, or one list per field); this adds the
top-level `code` (machine-readable) and `message` (one sentence the mobile app shows), and maps
the domain's `ApplicationError` to the same shape.
"""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import Error, InterfaceError, OperationalError
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from common.exceptions import ApplicationError

logger = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 5


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        # A body past DATA_UPLOAD_MAX_MEMORY_SIZE: Django would answer a bare 400.
        exc = ApplicationError(
            "The request body is too large.",
            code="request_too_large",
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, ApplicationError):
        return application_error_response(exc)
    if isinstance(exc, (OperationalError, InterfaceError)):
        return _database_unavailable(exc)
    if isinstance(exc, DjangoValidationError):
        # A model's validation: the same 400 as a serializer's.
        exc = ValidationError(as_serializer_error(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's handler500 answers with JSON
    response.data = with_message(response.data, exc)
    return response


def application_error_response(exc: ApplicationError) -> Response:
    set_rollback()
    data: dict[str, Any]
    if exc.field_errors:
        data = {field: list(messages) for field, messages in exc.field_errors.items()}
    elif exc.field:
        data = {exc.field: [exc.message]}
    else:
        data = {"detail": exc.message}
    data.update(exc.extra or {})
    data["code"] = exc.code
    return Response(with_message(data), status=exc.status)


def with_message(data: Any, exc: Exception | None = None) -> dict[str, Any]:
    """`data` (a DRF error body) completed with a top-level `code` and `message`."""
    if isinstance(data, list):
        data = {"non_field_errors": data}
    if not isinstance(data, dict):
        data = {"detail": str(data)}
    data = dict(data)
    data.setdefault("code", _code(data, exc))
    data.setdefault("message", _message(data))
    return data


def error_body(message: str, *, code: str) -> dict[str, str]:
    return {"detail": message, "code": code, "message": message}


def _code(data: dict[str, Any], exc: Exception | None) -> str:
    code = getattr(data.get("detail"), "code", None)  # an ErrorDetail's
    if code:
        return str(code)
    if isinstance(exc, ValidationError):
        return "invalid"
    if isinstance(exc, APIException):
        return str(exc.default_code)
    return "error"


def _message(data: dict[str, Any]) -> str:
    if "detail" in data:
        return str(data["detail"])
    if "error_description" in data:
        return str(data["error_description"])
    for field, errors in data.items():
        first = _first_error(errors)
        if first is None:
            continue
        if field in ("non_field_errors", "detail"):
            return first
        return f"{field}: {first}"
    return "The request could not be processed."


def _first_error(errors: Any) -> str | None:
    if isinstance(errors, dict):
        for value in errors.values():
            found = _first_error(value)
            if found:
                return found
        return None
    if isinstance(errors, (list, tuple)):
        return _first_error(errors[0]) if errors else None
    return str(errors)


def _database_unavailable(exc: Error) -> Response:
    logger.error("database unavailable: %s", exc)
    message = "The service's database is unavailable; try again shortly."
    return Response(
        error_body(message, code="database_unavailable"),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )
