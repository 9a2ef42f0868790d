"""The domain exception both services' services and selectors raise.

Nothing here imports DRF's views, so any module (an authentication class included, which DRF's
views import) can raise it; `common.exception_handler` turns it into the JSON body.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from rest_framework import status


class ApplicationError(Exception):
    """A domain rule refused the request. The handler answers `status` with `{"detail": message}`;
    or `{field: [message]}` when the rule is about one input field; or one list of messages per
    field with `field_errors` (several fields at fault); plus `code`, `message` and any `extra`
    top-level keys (such as OAuth's `error`)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int = status.HTTP_400_BAD_REQUEST,
        field: str | None = None,
        field_errors: Mapping[str, Sequence[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.field = field
        self.field_errors = field_errors
        self.extra = extra
