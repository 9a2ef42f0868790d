"""The admin site, whose login form is another way to guess a password: it is held to the same
per-address and per-account limits as the API's login (accounts.throttling)."""

import math

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts.throttling import LoginAddressThrottle, LoginFailureThrottle
from common.exception_handler import error_body


class AdminSite(admin.AdminSite):
    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if request.method != "POST":
            return super().login(request, extra_context)
        # The throttles read only META and the form's body, which a Django request has. The
        # attempt is counted as failed before the password is checked, as the API's login
        # counts it: attempts sent together cannot all pass while their checks run.
        addresses, failures = LoginAddressThrottle(), LoginFailureThrottle()
        if not addresses.allow_request(request, None):  # type: ignore[arg-type]
            return _throttled(addresses.wait())
        if not failures.attempt_reserve(request, None):
            return _throttled(failures.wait())
        response = super().login(request, extra_context)
        if request.user.is_authenticated:
            failures.failures_forget(request, None)
        return response


def _throttled(wait: float | None) -> JsonResponse:
    seconds = math.ceil(wait or 1)
    message = f"Too many sign-in attempts; try again in {seconds} seconds."
    return JsonResponse(
        error_body(message, code="throttled"), status=429, headers={"Retry-After": str(seconds)}
    )
