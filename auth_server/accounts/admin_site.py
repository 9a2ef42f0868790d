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
        failures = LoginFailureThrottle()
        for throttle, allowed in (
            (LoginAddressThrottle(), LoginAddressThrottle.allow_request),
            (failures, LoginFailureThrottle.attempt_reserve),
        ):
            if not allowed(throttle, request, None):  # type: ignore[arg-type]
                wait = math.ceil(throttle.wait() or 1)
                message = f"Too many sign-in attempts; try again in {wait} seconds."
                return JsonResponse(
                    error_body(message, code="throttled"),
                    status=429,
                    headers={"Retry-After": str(wait)},
                )
        response = super().login(request, extra_context)
        if request.user.is_authenticated:
            failures.failures_forget(request, None)
        return response
