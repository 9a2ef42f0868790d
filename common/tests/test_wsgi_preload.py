"""What each service's wsgi module loads: gunicorn's master imports it once (preload_app) and
forks every worker from it, so the views are loaded there, and nothing is opened there that the
workers would then share."""

import json

import pytest

from .test_checks import SERVICES, start_service

# Run after `import <service>.wsgi`: what is loaded, and what is open.
REPORT = """
import json, os, sys, threading
from django.conf import settings
from django.db import connections

sockets = 0
for fd in os.listdir("/proc/self/fd"):
    try:
        sockets += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    except OSError:
        pass  # the listing's own descriptor, closed already
print(json.dumps({
    "modules": sorted(sys.modules),
    "urlconf": settings.ROOT_URLCONF,
    "threads": threading.active_count(),
    "sockets": sockets,
    "database_connections": sum(c.connection is not None for c in connections.all()),
}))
"""

BUCKET = {
    "MEDIA_STORAGE": "s3",
    "S3_BUCKET": "media",
    # Nothing listens there: importing the bucket's code must not connect.
    "S3_ENDPOINT_URL": "http://127.0.0.1:9",
    "S3_ACCESS_KEY_ID": "key",
    "S3_SECRET_ACCESS_KEY": "secret",
}


def loaded(service: str, tmp_path, **variables: str) -> dict:
    result = start_service(
        service,
        tmp_path,
        "-c",
        f"import {service}.wsgi\n{REPORT}",
        MEDIA_HANDLER_ENV="development",
        **variables,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("service", SERVICES)
def test_the_wsgi_module_loads_every_view_before_the_workers_fork(tmp_path, service):
    report = loaded(service, tmp_path)

    assert report["urlconf"] in report["modules"]
    views = {"auth_server": "accounts.views", "backend_server": "media_handler.views"}[service]
    assert views in report["modules"]


@pytest.mark.parametrize("service", SERVICES)
def test_the_wsgi_module_opens_nothing_the_workers_would_share(tmp_path, service):
    report = loaded(service, tmp_path, **(BUCKET if service == "backend_server" else {}))

    assert report["threads"] == 1
    assert report["sockets"] == 0
    # SQLite here (a file, not a socket): a connection made at import is caught here instead.
    assert report["database_connections"] == 0


def test_the_media_wsgi_module_loads_the_bucket_code_when_the_media_are_in_a_bucket(tmp_path):
    report = loaded("backend_server", tmp_path, **BUCKET)

    assert "media_handler.files.s3" in report["modules"]
    assert "boto3" in report["modules"]


def test_the_media_wsgi_module_never_loads_boto3_for_a_local_store(tmp_path):
    report = loaded("backend_server", tmp_path, MEDIA_STORAGE="local")

    assert "media_handler.views" in report["modules"]
    assert "boto3" not in report["modules"]
    assert "botocore" not in report["modules"]
