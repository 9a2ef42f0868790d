"""Views every service mounts: health, a no-database ping, and JSON answers for Django's own
error pages (unknown URL, crash), so no error is ever an HTML page. Also the ping with one cache
read, which the media service mounts for its benchmark."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from common.exception_handler import error_body

logger = logging.getLogger(__name__)


@never_cache
def health(request):
    """200 when this service can reach its database, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("health: database unavailable: %s", exc)
        body = error_body("The database is unavailable.", code="database_unavailable")
        return JsonResponse(
            {
                "status": "unavailable",
                "service": settings.SERVICE_NAME,
                "database": "unavailable",
                **body,
            },
            status=503,
        )
    return JsonResponse({"status": "ok", "service": settings.SERVICE_NAME, "database": "ok"})


@never_cache
def ping(request):
    """The cheapest JSON answer the stack can give: the ceiling benchmarks compare against."""
    return JsonResponse({"ping": "pong"})


@never_cache
def ping_cache(request):
    """The ping plus one read of the shared cache: the cheapest answer that consults state every
    worker shares, as a cached list page must (docs/performance.md). 503 while the cache is
    unreachable."""
    try:
        cache.get("ping")
    except Exception as exc:  # whatever the backend raises (redis.ConnectionError, OSError...)
        logger.warning("ping: cache unavailable: %s", exc)
        return JsonResponse(
            error_body("The cache is unavailable.", code="cache_unavailable"), status=503
        )
    return JsonResponse({"ping": "pong"})


def bad_request(request, exception=None):
    return JsonResponse(error_body("Bad request.", code="bad_request"), status=400)


def permission_denied(request, exception=None):
    return JsonResponse(
        error_body("You do not have permission to perform this action.", code="permission_denied"),
        status=403,
    )


def page_not_found(request, exception=None):
    return JsonResponse(error_body("Not found.", code="not_found"), status=404)


def server_error(request):
    return JsonResponse(
        error_body("The server hit an unexpected error; it has been logged.", code="server_error"),
        status=500,
    )
