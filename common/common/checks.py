"""The start-up check that keeps development defaults out of production.

Production is the default (`MEDIA_HANDLER_ENV` unset) whenever DEBUG is off: the run scripts and
docker-compose declare `development`, the test settings `test`. In production a generated
development secret, `ALLOWED_HOSTS=*` or CORS open to every origin fails the start: Django runs
the check before `manage.py` commands (migrate, runserver...), and `refuse_unsafe_settings()`
runs it when a WSGI server loads the application, where Django runs no checks.
"""

import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured

ENVIRONMENTS = ("production", "development", "test")
DEVELOPMENT_HINT = "(or MEDIA_HANDLER_ENV=development, for a development stack)"


def production_settings_check(
    app_configs: Iterable[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    environment = settings.MEDIA_HANDLER_ENV
    if environment not in ENVIRONMENTS:
        return [
            Error(
                f"MEDIA_HANDLER_ENV is {environment!r}.",
                hint=f"Set MEDIA_HANDLER_ENV to one of: {', '.join(ENVIRONMENTS)}.",
                id="common.E001",
            )
        ]
    if settings.DEBUG or environment != "production":
        return []
    errors: list[CheckMessage] = [
        Error(
            f"{name} is a development secret generated into {settings.DEV_SECRETS_FILE}.",
            hint=f"Set {name} in the environment or .env to a secret of your own "
            f"{DEVELOPMENT_HINT}.",
            id="common.E002",
        )
        for name in generated_secrets_in_force()
    ]
    if "*" in settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                "ALLOWED_HOSTS allows every host name (*).",
                hint="Set ALLOWED_HOSTS to the host names clients and health checks use, "
                f"comma-separated {DEVELOPMENT_HINT}.",
                id="common.E003",
            )
        )
    if settings.CORS_ALLOW_ALL_ORIGINS:
        errors.append(
            Error(
                "CORS allows every origin.",
                hint="Set CORS_ALLOWED_ORIGINS to the web app's origins, comma-separated, or "
                "CORS_ALLOW_ALL_ORIGINS=false when no browser app calls the API "
                f"{DEVELOPMENT_HINT}.",
                id="common.E004",
            )
        )
    return errors


def generated_secrets_in_force() -> list[str]:
    """The names of the development secrets (`.dev-secrets.json`) this service's settings use."""
    try:
        generated = json.loads(settings.DEV_SECRETS_FILE.read_text())
    except FileNotFoundError:
        return []
    in_force = {
        settings.SECRET_KEY,
        settings.SIMPLE_JWT.get("SIGNING_KEY"),
        getattr(settings, "FILE_URL_SIGNING_KEY", None),
    }
    return [name for name, value in generated.items() if value in in_force]


def refuse_unsafe_settings() -> None:
    """Raises ImproperlyConfigured with the check's errors, if any (for WSGI start-up)."""
    errors = production_settings_check(None)
    if errors:
        raise ImproperlyConfigured(
            "Refusing to start with development settings in production:\n"
            + "\n".join(f"  {error.msg} {error.hint}" for error in errors)
        )
