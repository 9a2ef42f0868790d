"""A private copy of the real stack for the reliability and security suites.

`./run_with_gateway.sh` runs in its own process group with its own `.env`, MEDIA_ROOT, databases
and ports (3100/8100/8101 when free, else free ports), so these suites never clash with `make
e2e`, the benchmarks or a developer's stack on 3000. It is stopped as Ctrl-C stops it (SIGINT to
the group), and killed if it does not stop in time.
"""

import contextlib
import os
import re
import secrets
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests
from launcher import free_ports, port_is_open

REPO = Path(__file__).resolve().parents[2]
RUN_SCRIPT = REPO / "run_with_gateway.sh"
PREFERRED_PORTS = (3100, 8100, 8101)
STARTUP_TIMEOUT = 120
STOP_TIMEOUT = 45
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"
# Where the suites write their figures (docs/reliability.md quotes them).
REPORT_DIR = Path(os.environ.get("REL_REPORT_DIR", REPO / "var" / "reliability"))


def _configuration_names() -> set[str]:
    """Every variable .env.example documents: none of them leaks in from the caller's shell."""
    text = (REPO / ".env.example").read_text()
    return set(re.findall(r"^#\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE)) | {"DATABASE_URL"}


def choose_ports() -> tuple[int, int, int]:
    if not any(port_is_open(port) for port in PREFERRED_PORTS):
        return PREFERRED_PORTS
    gateway, auth, media = free_ports(3)
    return gateway, auth, media


def postgres_execute(server: str, statements: list[str]) -> None:
    import psycopg2  # installed with the services

    connection = psycopg2.connect(f"{server}/postgres", connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


class Databases:
    """Fresh databases for one stack: SQLite files, or throw-away PostgreSQL databases."""

    def __init__(self, workdir: Path, *, postgres: str | None = None):
        self.server = postgres
        self.names: list[str] = []
        if postgres:
            suffix = uuid.uuid4().hex[:8]
            self.names = [f"rel_auth_{suffix}", f"rel_media_{suffix}"]
            postgres_execute(postgres, [f'CREATE DATABASE "{name}"' for name in self.names])
            self.env = {
                "AUTH_DATABASE_URL": f"{postgres}/{self.names[0]}",
                "BACKEND_DATABASE_URL": f"{postgres}/{self.names[1]}",
            }
        else:
            self.env = {
                "AUTH_DATABASE_URL": f"sqlite:///{workdir / 'auth.sqlite3'}",
                "BACKEND_DATABASE_URL": f"sqlite:///{workdir / 'media.sqlite3'}",
            }

    @property
    def media_url(self) -> str:
        return self.env["BACKEND_DATABASE_URL"]

    def drop(self) -> None:
        if self.names:
            with contextlib.suppress(Exception):
                postgres_execute(
                    self.server,
                    [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.names],
                )


@dataclass
class Stack:
    """One running `run_with_gateway.sh`, its addresses and its files."""

    process: subprocess.Popen
    workdir: Path
    media_root: Path
    databases: Databases
    ports: tuple[int, int, int]
    jwt_signing_key: str
    env: dict = field(repr=False)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    @property
    def auth(self) -> str:
        return f"http://127.0.0.1:{self.ports[1]}"

    @property
    def media(self) -> str:
        return f"http://127.0.0.1:{self.ports[2]}"

    @property
    def var_dir(self) -> Path:
        return self.workdir / "var"

    @property
    def log_path(self) -> Path:
        return self.workdir / "run_with_gateway.log"

    def pid(self, name: str) -> int:
        """The pid of `auth` or `media` (the gunicorn master) or `gateway` (nginx)."""
        return int((self.var_dir / "run" / f"{name}.pid").read_text())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def health(self) -> requests.Response:
        return requests.get(f"{self.gateway}/health", timeout=10)

    def wait_until_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"run_with_gateway.sh exited ({self.process.returncode}):\n{self.tail()}"
                )
            with contextlib.suppress(requests.RequestException):
                if self.health().status_code == 200:
                    return
            time.sleep(0.25)
        raise RuntimeError(f"/health did not turn 200 within {timeout}s:\n{self.tail()}")

    def manage(self, service: str, *args: str, timeout: float = 120) -> str:
        """`manage.py <args>` of `auth_server` or `backend_server` with this stack's settings."""
        result = subprocess.run(  # noqa: S603 -- fixed interpreter and script, our own arguments
            [str(REPO / ".venv" / "bin" / "python"), str(REPO / service / "manage.py"), *args],
            cwd=REPO / service,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return result.stdout

    def stop(self) -> int:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        # A worker the script lost track of (never expected) must not outlive the suite.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.databases.drop()
        return self.process.returncode


def start_stack(
    workdir: Path,
    *,
    env: dict | None = None,
    postgres: str | None = None,
    media_root: Path | None = None,
    ports: tuple[int, int, int] | None = None,
) -> Stack:
    """Starts run_with_gateway.sh and waits for /health; `env` overrides the configuration."""
    workdir.mkdir(parents=True, exist_ok=True)
    ports = ports or choose_ports()
    media_root = media_root or workdir / "media"
    databases = Databases(workdir, postgres=postgres)
    signing_key = secrets.token_urlsafe(48)
    names = _configuration_names()
    process_env = {
        **{key: value for key, value in os.environ.items() if key not in names},
        "ENV_FILE": str(workdir / ".env"),
        "DEV_SECRETS_FILE": str(workdir / ".dev-secrets.json"),
        "VAR_DIR": str(workdir / "var"),
        # The throttle counters too: the file cache's default directory is the checkout's.
        "CACHE_DIR": str(workdir / "cache"),
        "MEDIA_ROOT": str(media_root),
        "GATEWAY_PORT": str(ports[0]),
        "AUTH_PORT": str(ports[1]),
        "MEDIA_PORT": str(ports[2]),
        "JWT_SIGNING_KEY": signing_key,
        "GUNICORN_WORKERS": "2",
        "RESTART_DELAY_SECONDS": "1",
        "READY_TIMEOUT_SECONDS": str(STARTUP_TIMEOUT),
        # One client address (127.0.0.1) stands for a whole crowd here, as behind carrier NAT.
        "LOGIN_IP_THROTTLE_RATE": "100000/min",
        "REGISTER_IP_THROTTLE_RATE": "100000/min",
        **databases.env,
        **(env or {}),
    }
    log_path = workdir / "run_with_gateway.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 -- the repository's own run script
            [str(RUN_SCRIPT)],
            cwd=REPO,
            env=process_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
    stack = Stack(
        process=process,
        workdir=workdir,
        media_root=media_root,
        databases=databases,
        ports=ports,
        jwt_signing_key=process_env["JWT_SIGNING_KEY"],
        env=process_env,
    )
    try:
        stack.wait_until_healthy()
    except BaseException:
        stack.stop()
        raise
    return stack
