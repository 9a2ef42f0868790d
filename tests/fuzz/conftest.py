"""The fuzz suite runs against the session's stack (tests/conftest.py) through the gateway,
authenticated as a real user registered for it."""

import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from devstack import client

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="session")
def fuzz_user(http, gw) -> dict:
    return client.register(http, gw, client.unique_email("fuzz"))


@pytest.fixture(scope="session")
def schemas(gw) -> dict:
    return {
        service: schemathesis.openapi.from_url(f"{gw}/api/{service}/schema/")
        for service in ("auth", "media")
    }


@pytest.fixture
def validate(gw, fuzz_user, schemas):
    """Calls one operation as schemathesis would and applies the fuzz suite's checks."""

    def call(service: str, path: str, method: str, *, headers: dict | None = None, **parts):
        operation = schemas[service][path][method]
        case = operation.Case(**parts)
        return case.call_and_validate(
            base_url=f"{gw}/api/{service}",  # the schema's paths are relative to its server
            headers=client.bearer(fuzz_user) if headers is None else headers,
            checks=CHECKS,
            timeout=client.TIMEOUT,
        )

    return call
