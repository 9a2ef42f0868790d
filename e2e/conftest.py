"""The real stack for the end-to-end suite, started the way a newcomer starts it (devstack).

`./run_with_gateway.sh` runs in its own process group with a fresh `.env` (the script writes
it), a fresh MEDIA_ROOT, fresh databases (SQLite files, or throw-away PostgreSQL databases with
E2E_DATABASE=postgres) and a small MAX_UPLOAD_SIZE, so the 413 paths are cheap to reach. It is
stopped at the end the way a person stops it (SIGINT to the group, as Ctrl-C does), and the
suite fails if the script does not exit 130, a port stays open or a process survives. Tests talk
HTTP, and read nothing but the stack's own logs (the gateway's access log, the script's output).

Environment: E2E_DATABASE=sqlite|postgres, E2E_POSTGRES_URL (postgres://postgres@127.0.0.1:5432),
E2E_MEDIA_STORAGE=local|s3 (s3: the files in a bucket of moto's S3 server, started for the run,
`object_store`; make e2e-s3),
E2E_GATEWAY_PORT / E2E_AUTH_PORT / E2E_MEDIA_PORT (preferred ports, default 3000/8000/8001; free
ports when any is taken). Nothing else of the caller's environment configures the stack (see
devstack/README.md): the stack is started from a shell holding a developer's own settings
(`developer_shell`), and test_environment.py checks that none of them reached it. The stack's
log, .env and var/ stay in pytest's temporary directory.
"""

import contextlib
import os

import pytest
import requests

import devstack
from devstack import DEFAULT_POSTGRES, StackSpec, client
from devstack import object_store as object_stores
from devstack.ports import preferred_from_env
from devstack.stack import DEFAULT_PORTS


@pytest.fixture(scope="session")
def developer_shell() -> dict[str, str]:
    """Settings of a developer's own stack, left in the shell that runs the suite."""
    return {
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "LIST_PAGE_CACHE": "false",
        "JWT_SIGNING_KEY": "a-developers-own-signing-key",
        "JWT_ACCESS_TOKEN_MINUTES": "1",
        "DEBUG": "true",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing",
        "MEDIA_ROOT": "/nonexistent/media",
        "DJANGO_SETTINGS_MODULE": "nowhere.settings",
    }


@pytest.fixture(scope="session")
def object_store(tmp_path_factory):
    """With E2E_MEDIA_STORAGE=s3, moto's S3 server holding the stack's bucket; else None."""
    storage = os.environ.get("E2E_MEDIA_STORAGE", "local")
    if storage not in ("local", "s3"):
        raise pytest.UsageError("E2E_MEDIA_STORAGE must be local or s3")
    if storage == "local":
        yield None
        return
    with object_stores.running(tmp_path_factory.mktemp("object-store")) as store:
        yield store


@pytest.fixture(scope="session")
def is_stored(object_store):
    """Whether a stack has a stored file: `is_stored(stack, storage_path)`, on its disk or in the
    bucket (under the prefix the stack's env names)."""

    def check(stack, storage_path: str) -> bool:
        if object_store is None:
            return (stack.media_root / storage_path).is_file()
        key = f"{stack.env['S3_PREFIX']}/{storage_path}"
        return key in object_store.keys(key)  # derivatives' keys start with their original's

    return check


@pytest.fixture(scope="session")
def stack(tmp_path_factory, developer_shell, object_store):
    database = os.environ.get("E2E_DATABASE", "sqlite")
    if database not in ("sqlite", "postgres"):
        raise pytest.UsageError("E2E_DATABASE must be sqlite or postgres")
    storage_env = object_store.env(prefix="e2e") if object_store is not None else {}
    spec = StackSpec(
        label="e2e",
        workdir=tmp_path_factory.mktemp("stack"),
        database=database,
        postgres_url=os.environ.get("E2E_POSTGRES_URL", DEFAULT_POSTGRES),
        ports=preferred_from_env("E2E", DEFAULT_PORTS),
        env={
            "MAX_UPLOAD_SIZE": str(2 * 1024 * 1024),
            "GUNICORN_WORKERS": "2",
            "RESTART_DELAY_SECONDS": "3",
            **storage_env,
        },
    )
    with contextlib.ExitStack() as cleanup:
        with pytest.MonkeyPatch.context() as shell:
            for name, value in developer_shell.items():
                shell.setenv(name, value)
            running = cleanup.enter_context(devstack.running(spec))
        yield running
    status = running.process.returncode
    assert status == 130, f"run_with_gateway.sh exited {status} on Ctrl-C:\n{running.tail()}"


@pytest.fixture(scope="session")
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def unique_email() -> str:
    return client.unique_email("e2e")
