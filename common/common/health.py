"""The health check, answered before anything looks at the request's Host header.

A probe (the gateway's /health, a load balancer, Docker) asks for the service's health by
whatever name it knows the service by; Django's host validation would answer a name missing
from ALLOWED_HOSTS with a 400 and the probe would report a healthy service as down.
"""

from django.conf import settings

from common.views import health


class HealthCheckMiddleware:
    """Answers `GET /health/` (and `/api/<service>/health/`) itself; must come before
    SecurityMiddleware and CommonMiddleware, which read the Host header."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        prefix = f"/api/{settings.SERVICE_NAME}/health"
        self.paths = {"/health/", prefix, f"{prefix}/"}

    def __call__(self, request):
        if request.path_info in self.paths and request.method in ("GET", "HEAD"):
            return health(request)
        return self.get_response(request)
