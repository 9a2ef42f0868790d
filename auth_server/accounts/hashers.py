"""Password hashing: Argon2id (Django's Argon2PasswordHasher, which is argon2id) with the
parameters of the ARGON2 setting, at or above OWASP's recommendation (the README's "Passwords").
Hashes made with other parameters, or by PBKDF2 before, are made again at the next sign-in."""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    @property
    def time_cost(self) -> int:  # type: ignore[override]  # a setting, not a class constant
        return settings.ARGON2["time_cost"]

    @property
    def memory_cost(self) -> int:  # type: ignore[override]
        return settings.ARGON2["memory_cost"]

    @property
    def parallelism(self) -> int:  # type: ignore[override]
        return settings.ARGON2["parallelism"]
