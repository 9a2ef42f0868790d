"""Request ids: taken from the gateway's `X-Request-ID` (or made here), echoed on the response and
stamped on every log line of the request."""

import contextvars
import logging
import re
import uuid

_current = contextvars.ContextVar("request_id", default="-")
# A client-supplied id is logged, so it must not be able to forge log lines.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get()
        return True
