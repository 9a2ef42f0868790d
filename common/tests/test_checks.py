"""The start-up check: development defaults refused in production, quiet elsewhere."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from common.checks import production_settings_check, refuse_unsafe_settings

REPO = Path(__file__).resolve().parents[2]
GENERATED = {"AUTH_SECRET_KEY": "generated-auth", "JWT_SIGNING_KEY": "generated-jwt"}


@pytest.fixture
def production(settings, tmp_path):
    """Settings a production operator would write: nothing the check refuses."""
    settings.MEDIA_HANDLER_ENV = "production"
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["api.example.com"]
    settings.CORS_ALLOW_ALL_ORIGINS = False
    settings.SECRET_KEY = "an operator's own secret"
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": "an operator's own key"}
    settings.DEV_SECRETS_FILE = tmp_path / "dev-secrets.json"
    settings.DEV_SECRETS_FILE.write_text(json.dumps(GENERATED))
    return settings


def test_production_settings_of_ones_own_pass(production):
    assert production_settings_check(None) == []


def test_a_generated_secret_in_production_fails_naming_its_variable(production):
    production.SIMPLE_JWT = {**production.SIMPLE_JWT, "SIGNING_KEY": "generated-jwt"}

    (error,) = production_settings_check(None)

    assert error.id == "common.E002"
    assert "JWT_SIGNING_KEY" in error.msg
    assert "Set JWT_SIGNING_KEY" in error.hint


def test_any_host_in_production_fails_naming_allowed_hosts(production):
    production.ALLOWED_HOSTS = ["*"]

    (error,) = production_settings_check(None)

    assert error.id == "common.E003"
    assert "Set ALLOWED_HOSTS" in error.hint


def test_any_origin_in_production_fails_naming_the_cors_variables(production):
    production.CORS_ALLOW_ALL_ORIGINS = True

    (error,) = production_settings_check(None)

    assert error.id == "common.E004"
    assert "CORS_ALLOWED_ORIGINS" in error.hint
    assert "CORS_ALLOW_ALL_ORIGINS=false" in error.hint


@pytest.mark.parametrize(
    ("name", "value"), [("MEDIA_HANDLER_ENV", "development"), ("MEDIA_HANDLER_ENV", "test")]
)
def test_development_defaults_are_accepted_outside_production(production, name, value):
    setattr(production, name, value)
    production.ALLOWED_HOSTS = ["*"]
    production.CORS_ALLOW_ALL_ORIGINS = True
    production.SECRET_KEY = "generated-auth"

    assert production_settings_check(None) == []


def test_debug_is_not_production(production):
    production.DEBUG = True
    production.ALLOWED_HOSTS = ["*"]

    assert production_settings_check(None) == []


def test_an_unknown_environment_name_fails(production):
    production.MEDIA_HANDLER_ENV = "prod"

    (error,) = production_settings_check(None)

    assert error.id == "common.E001"


def test_the_wsgi_start_up_refuses_with_every_message(production):
    production.ALLOWED_HOSTS = ["*"]
    production.SECRET_KEY = "generated-auth"

    with pytest.raises(ImproperlyConfigured) as refused:
        refuse_unsafe_settings()

    assert "AUTH_SECRET_KEY" in str(refused.value)
    assert "ALLOWED_HOSTS" in str(refused.value)


def start_service(
    service: str, tmp_path: Path, *args: str, **variables: str
) -> subprocess.CompletedProcess:
    """`python <args>` in the service's directory, in production with nothing configured (no
    .env, no secrets, no hosts) beyond `variables`."""
    configured = {
        "DEBUG",
        "ALLOWED_HOSTS",
        "CORS_ALLOWED_ORIGINS",
        "CORS_ALLOW_ALL_ORIGINS",
        "MEDIA_HANDLER_ENV",
        "DJANGO_SETTINGS_MODULE",
        *(name for name in os.environ if name.endswith(("_SECRET_KEY", "_SIGNING_KEY"))),
    }
    environment = {
        **{name: value for name, value in os.environ.items() if name not in configured},
        "ENV_FILE": str(tmp_path / "no.env"),
        "DEV_SECRETS_FILE": str(tmp_path / "dev-secrets.json"),
        **variables,
    }
    return subprocess.run(  # noqa: S603 -- this interpreter, the service's own modules
        [sys.executable, *args],
        cwd=REPO / service,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SERVICES = ["auth_server", "backend_server"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_refuses_to_start_in_production_with_development_defaults(tmp_path, service):
    result = start_service(service, tmp_path, "manage.py", "check")

    assert result.returncode != 0
    for variable in ("SECRET_KEY", "JWT_SIGNING_KEY", "ALLOWED_HOSTS", "CORS_ALLOWED_ORIGINS"):
        assert variable in result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_wsgi_application_refuses_to_load(tmp_path, service):
    result = start_service(service, tmp_path, "-c", f"import {service}.wsgi")

    assert "ImproperlyConfigured: Refusing to start" in result.stderr
    assert "ALLOWED_HOSTS" in result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_starts_as_a_development_stack(tmp_path, service):
    result = start_service(
        service, tmp_path, "-c", f"import {service}.wsgi", MEDIA_HANDLER_ENV="development"
    )

    assert result.returncode == 0, result.stderr
