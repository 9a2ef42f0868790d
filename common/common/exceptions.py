"""One JSON error shape for both services.

DRF's own handler runs first and keeps its keys (`detail`, or one list per field); this adds the
top-level `code` (machine-readable) and `message` (one sentence the mobile app shows).
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 5


class ApplicationError(Exception):
    """A domain rule refused the request. Services and selectors raise it; the handler below
    turns it into the JSON body: `{"detail": message}`, or `{field: [message]}` when the rule is
    about one input field, plus `code` and `message`."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int = status.HTTP_400_BAD_REQUEST,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.field = field


class ServiceError(APIException):
    """A domain rule that refused the request, with its own code and HTTP status."""

    def __init__(self, message: str, *, code: str, status_code: int = status.HTTP_400_BAD_REQUEST):
        super().__init__(detail=message, code=code)
        self.status_code = status_code


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return application_error_response(exc)
    if isinstance(exc, (OperationalError, InterfaceError)):
        return _database_unavailable(exc)
    if isinstance(exc, DjangoValidationError):
        # A service's (or a model's) validation: the same 400 as a serializer's.
        exc = ValidationError(as_serializer_error(exc))
    if isinstance(exc, RequestDataTooBig):
        # A body past DATA_UPLOAD_MAX_MEMORY_SIZE: Django would answer a bare 400.
        exc = ServiceError(
            "The request body is too large.",
            code="request_too_large",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's handler500 answers with JSON
    response.data = with_message(response.data, exc)
    return response


def application_error_response(exc: ApplicationError) -> Response:
    set_rollback()
    data = {exc.field: [exc.message]} if exc.field else {"detail": exc.message}
    data["code"] = exc.code
    return Response(with_message(data), status=exc.status)


def with_message(data, exc: Exception | None = None) -> dict:
    """`data` (a DRF error body) completed with a top-level `code` and `message`."""
    if isinstance(data, list):
        data = {"non_field_errors": data}
    if not isinstance(data, dict):
        data = {"detail": str(data)}
    data = dict(data)
    data.setdefault("code", _code(data, exc))
    data.setdefault("message", _message(data))
    return data


def error_body(message: str, *, code: str) -> dict:
    return {"detail": message, "code": code, "message": message}


def _code(data: dict, exc: Exception | None) -> str:
    detail = data.get("detail")
    if getattr(detail, "code", None):
        return detail.code
    if isinstance(exc, ValidationError):
        return "invalid"
    if isinstance(exc, APIException):
        return exc.default_code
    return "error"


def _message(data: dict) -> str:
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


def _first_error(errors) -> str | None:
    if isinstance(errors, dict):
        for value in errors.values():
            found = _first_error(value)
            if found:
                return found
        return None
    if isinstance(errors, (list, tuple)):
        return _first_error(errors[0]) if errors else None
    return str(errors)


def _database_unavailable(exc: DatabaseError) -> Response:
    logger.error("database unavailable: %s", exc)
    message = "The service's database is unavailable; try again shortly."
    return Response(
        error_body(message, code="database_unavailable"),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )
