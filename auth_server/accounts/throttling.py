"""Throttles for signing in and registering: generous per client address (many real users share
one address behind carrier NAT), strict per account and address for failed sign-ins (password
guessing), without ever holding an address that has not failed (the owner)."""

import hashlib
import math
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.files import locks
from rest_framework.exceptions import ValidationError
from rest_framework.fields import CharField
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from accounts.models import fold
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


class PasswordResetAddressThrottle(_ClientAddressThrottle):
    scope = "password_reset_address"


class PasswordResetAccountThrottle(_RateThrottle):
    """Reset requests per email address (folded; whether or not an account has it, so a 429
    tells nothing)."""

    scope = "password_reset_account"

    def get_cache_key(self, request, view) -> str | None:
        email = _body(request).get("email")
        if not isinstance(email, str) or not email.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": _digest(fold(email.strip()))}


class PasswordResetConfirmThrottle(_RateThrottle):
    """Confirmations per account (`uid`) and client address, at the reset requests' rate. Per
    address too: a `uid` is no secret (the account's number), and counted from every address,
    anyone's attempts with made-up codes would hold the owner's real one (a 429 for an hour)."""

    scope = "password_reset_account"

    def get_cache_key(self, request, view) -> str | None:
        uid = _body(request).get("uid")
        if not isinstance(uid, str) or not uid.strip():
            return None
        ident = _digest(f"{uid.strip()}|{self.get_ident(request)}")
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PasswordCheckAddressThrottle(_ClientAddressThrottle):
    scope = "password_check_address"


class _SignedInAccountThrottle(_RateThrottle):
    """Requests of a signed-in account, counted per account."""

    def get_cache_key(self, request, view) -> str | None:
        if request.user is None or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"user-{request.user.pk}"}


class PasswordCheckAccountThrottle(_SignedInAccountThrottle):
    """Attempts of a signed-in account that check its password (change, deletion): a stolen
    access token must not make the password guessable."""

    scope = "password_check_account"


class ProfileWriteThrottle(_SignedInAccountThrottle):
    """Profile edits of a signed-in account: each answers whether an email, username or phone
    number is another account's ("already exists"), so unthrottled they let one account test
    addresses at full speed."""

    scope = "profile_write"


@dataclass(frozen=True)
class LoginFailurePolicy:
    """How failed sign-ins slow an attacker down without locking the owner out (the README's
    "Failed sign-ins"), from the LOGIN_FAILURE_POLICY setting."""

    # Failures of one account from one client address before each attempt must wait...
    free_failures: int = 5
    # ...this long after the last failure, doubling with each further failure, up to the cap.
    backoff_seconds: int = 60
    backoff_max_seconds: int = 900
    # Failures are forgotten this long after the last one (and on a successful sign-in).
    window_seconds: int = 3600
    # Failures of one account from all addresses within the window past which every address
    # that has failed on it waits out the window. An address that has not failed is never held.
    account_ceiling: int = 100

    @classmethod
    def from_settings(cls) -> "LoginFailurePolicy":
        return cls(**getattr(settings, "LOGIN_FAILURE_POLICY", {}))

    def backoff(self, failures: int) -> int:
        """Seconds to wait after the last of `failures` before the next attempt."""
        if failures < self.free_failures:
            return 0
        doublings = min(failures - self.free_failures, 30)
        return min(self.backoff_seconds * 2**doublings, self.backoff_max_seconds)


class LoginFailureThrottle(BaseThrottle):
    """Failed sign-ins counted per account and client address, with a growing back-off, and
    per account from all addresses, with a much higher ceiling; an account is named by any of
    its names (username or email, folded), and a name with no account is counted the same way,
    so the answers tell nothing. Only failures count: both logins (the API's and the admin's)
    count each attempt as a failure before they check the password (`attempt_reserve`), so that
    attempts in flight together cannot all pass, and a successful one forgets it with the rest
    of that address's (`failures_forget`).

    Never held: an attempt from an address that has no failure on the account, however many
    other addresses fail on it, so an attacker cannot lock the owner out."""

    cache = default_cache

    def __init__(self) -> None:
        self.policy = LoginFailurePolicy.from_settings()
        self.wait_seconds: float | None = None

    def allow_request(self, request, view) -> bool:
        keys = self._keys(request)
        return keys is None or self._allows(keys, time.time())

    def wait(self) -> float | None:
        # Retry-After is whole seconds: round up, so that retrying then is never early.
        return math.ceil(self.wait_seconds) if self.wait_seconds is not None else None

    def attempt_reserve(self, request, view) -> bool:
        """Counts this attempt as a failure before its password is checked, if the policy lets
        it be made now (else False, and `wait()` says how long). Checked and counted in one
        step, under a lock: attempts in flight count as failed until they succeed, so no more
        of those sent together pass than could have failed one after another."""
        keys = self._keys(request)
        if keys is None:
            return True
        with _exclusive(f"{keys[1]}_lock"):
            now = time.time()
            if not self._allows(keys, now):
                return False
            self._count(keys, now)
        return True

    def failures_forget(self, request, view) -> None:
        """Forgets the address's failures on the account after a successful sign-in, and takes
        this attempt (counted by `attempt_reserve`) back from the account's count."""
        keys = self._keys(request)
        if keys is None:
            return
        pair_key, account_key = keys
        with _exclusive(f"{account_key}_lock"):
            self.cache.delete(pair_key)
            account = self._load(account_key, time.time())
            if account is not None and account[0] > 1:
                self.cache.set(
                    account_key, (account[0] - 1, account[1]), self.policy.window_seconds
                )
            elif account is not None:
                self.cache.delete(account_key)

    def _allows(self, keys: tuple[str, str], now: float) -> bool:
        pair_key, account_key = keys
        pair = self._load(pair_key, now)
        if pair is None:
            return True
        count, last = pair
        wait = last + self.policy.backoff(count) - now
        account = self._load(account_key, now)
        if account is not None and account[0] >= self.policy.account_ceiling:
            wait = max(wait, account[1] + self.policy.window_seconds - now)
        if wait > 0:
            self.wait_seconds = wait
            return False
        return True

    def _count(self, keys: tuple[str, str], now: float) -> None:
        for key, keep_first in zip(keys, (False, True), strict=True):
            count, since = self._load(key, now) or (0, now)
            # The pair remembers its last failure (the back-off runs from it); the account its
            # first in the window (the ceiling's window runs from it).
            stamp = since if keep_first else now
            self.cache.set(key, (count + 1, stamp), self.policy.window_seconds)

    def _load(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self.cache.get(key)
        if not entry or now - entry[1] >= self.policy.window_seconds:
            return None
        return entry

    def _keys(self, request) -> tuple[str, str] | None:
        # The account is looked up once per request, however often the keys are needed.
        if not hasattr(request, "_login_failure_keys"):
            request._login_failure_keys = self._account_keys(request)
        return request._login_failure_keys

    def _account_keys(self, request) -> tuple[str, str] | None:
        identifier = _login_identifier(_body(request))
        if not identifier:
            return None
        user = user_by_login_identifier(identifier=identifier)
        account = f"user-{user.pk}" if user else _digest(fold(identifier.strip()))
        address = _digest(self.get_ident(request) or "")
        return f"login_failures_{account}_{address}", f"login_failures_{account}"


# The longest one worker holds the lock of `_exclusive`: one killed while holding it delays the
# others no longer.
LOCK_SECONDS = 5


@contextmanager
def _exclusive(name: str) -> Iterator[None]:
    """Mutual exclusion among every worker sharing the default cache, for a read-modify-write
    of its entries (Django's cache has no atomic update of a value). Its `add` is atomic in
    Redis and in local memory, not in the file cache: there, an OS lock on a file beside its
    entries (one machine, one lock for every account: held for a few file reads and writes)."""
    store: BaseCache = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(store, FileBasedCache):
        directory = settings.CACHES[DEFAULT_CACHE_ALIAS]["LOCATION"]
        with open(os.path.join(directory, "login_failures.lock"), "a") as lock_file:
            locks.lock(lock_file, locks.LOCK_EX)
            try:
                yield
            finally:
                locks.unlock(lock_file)
        return
    token = secrets.token_hex(8)
    deadline = time.monotonic() + LOCK_SECONDS
    while not store.add(name, token, LOCK_SECONDS) and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        yield
    finally:
        if store.get(name) == token:
            store.delete(name)


def _login_identifier(data: Mapping) -> str | None:
    """The account a login names, read as the login reads it: a JSON number is a username too
    (DRF's CharField takes it as its text), so it must count as one here. None when the body
    names none the login would try."""
    value = data.get("email") or data.get("username")
    try:
        return CharField().to_internal_value(value) if value is not None else None
    except ValidationError:  # a list, an object, true: the login answers 400 without a try
        return None


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
