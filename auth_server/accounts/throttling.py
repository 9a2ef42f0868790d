"""Throttles for signing in and registering: generous per client address (many real users share
one address behind carrier NAT), strict per account (password guessing)."""

import hashlib
import math
from collections.abc import Mapping

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.selectors import user_by_login_identifier


class _RateThrottle(SimpleRateThrottle):
    cache_format = "throttle_%(scope)s_%(ident)s"
    scope: str
    # Set by SimpleRateThrottle.__init__ from the rate (undeclared in DRF's type stubs).
    num_requests: int
    duration: int

    def get_rate(self) -> str | None:
        # DRF binds THROTTLE_RATES at import; read them now, so the setting is the one in force.
        rates: dict[str, str | None] = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        return rates[self.scope]

    def wait(self) -> float | None:
        # Retry-After is whole seconds: round up, so that retrying then is never early.
        wait = super().wait()
        return math.ceil(wait) if wait is not None else None


class _ClientAddressThrottle(_RateThrottle):
    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginAddressThrottle(_ClientAddressThrottle):
    scope = "login_address"


class RegisterAddressThrottle(_ClientAddressThrottle):
    scope = "register_address"


class RegisterAccountThrottle(_RateThrottle):
    """Registration attempts per email address, whoever sends them."""

    scope = "register_account"

    def get_cache_key(self, request, view) -> str | None:
        email = _body(request).get("email")
        if not isinstance(email, str) or not email.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": _digest(email.strip().lower())}


class LoginFailureThrottle(_RateThrottle):
    """Failed logins per account, from any address and by any of its names (username or email,
    in any case). Only failures count: the login view records them with `failure_record`, and a
    successful login forgets them."""

    scope = "login_account"

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        self.history = self._recent_history()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return True

    def failure_record(self, request, view) -> None:
        self.key = self.get_cache_key(request, view)
        if self.key is None or self.rate is None:
            return
        self.now = self.timer()
        self.history = self._recent_history()
        self.throttle_success()

    def failures_forget(self, request, view) -> None:
        key = self.get_cache_key(request, view)
        if key is not None:
            self.cache.delete(key)

    def get_cache_key(self, request, view) -> str | None:
        # The account is looked up once per request, however often the key is needed.
        if not hasattr(request, "_login_failure_key"):
            request._login_failure_key = self._account_key(request)
        return request._login_failure_key

    def _account_key(self, request) -> str | None:
        data = _body(request)
        identifier = data.get("email") or data.get("username")
        if not isinstance(identifier, str) or not identifier.strip():
            return None
        user = user_by_login_identifier(identifier=identifier)
        ident = f"user-{user.pk}" if user else _digest(identifier.strip().lower())
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def _recent_history(self) -> list[float]:
        return [at for at in self.cache.get(self.key, []) if at > self.now - self.duration]


def _body(request) -> Mapping:
    # DRF's parsed body, or a Django form's (the admin's login).
    data = getattr(request, "data", None)
    if data is None:
        data = request.POST
    return data if isinstance(data, Mapping) else {}


def _digest(value: str) -> str:
    # Cache keys carry no raw email addresses (and no characters a cache might refuse);
    # "surrogatepass": a lone surrogate from the JSON body must not make this a 500.
    return hashlib.sha256(value.encode(errors="surrogatepass")).hexdigest()
