"""Starting and stopping the real stack (./run_with_gateway.sh) for the end-to-end suite; the
fixtures in conftest.py use it, and so does the test that starts a second run."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
RUN_SCRIPT = REPO / "run_with_gateway.sh"
MAX_UPLOAD_SIZE = 2 * 1024 * 1024
STARTUP_TIMEOUT = 120
STOP_TIMEOUT = 45


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def choose_ports(preferred: tuple[int, int, int]) -> tuple[int, int, int]:
    pinned = [os.environ.get(f"E2E_{name}_PORT") for name in ("GATEWAY", "AUTH", "MEDIA")]
    if all(pinned):
        return tuple(int(port) for port in pinned)
    if not any(port_is_open(port) for port in preferred):
        return preferred
    return tuple(free_ports(3))


def processes_in_group(pgid: int) -> list[str]:
    """`pid command` of every live process of the group (zombies are already gone)."""
    survivors = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            state, process_group = fields[0], int(fields[2])
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, ValueError):
            continue
        if process_group == pgid and state != "Z":
            survivors.append(f"{proc.name} {command}")
    return survivors


@dataclass
class Stack:
    """One running `run_with_gateway.sh` and the addresses it serves."""

    process: subprocess.Popen
    workdir: Path
    var_dir: Path
    log_path: Path
    gateway_port: int
    auth_port: int
    media_port: int

    @property
    def gateway(self) -> str:
        return f"http://localhost:{self.gateway_port}"

    @property
    def auth(self) -> str:
        return f"http://127.0.0.1:{self.auth_port}"

    @property
    def media(self) -> str:
        return f"http://127.0.0.1:{self.media_port}"

    @property
    def ports(self) -> tuple[int, int, int]:
        return (self.gateway_port, self.auth_port, self.media_port)

    @property
    def media_root(self) -> Path:
        return self.workdir / "media"

    def pid(self, name: str) -> int:
        return int((self.var_dir / "run" / f"{name}.pid").read_text())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def access_log_line(self, request_id: str) -> str:
        """The gateway's access log line of a request, found by its X-Request-ID."""
        log_path = self.var_dir / "gateway" / "logs" / "access.log"
        # nginx logs a request once it is finished, which can be just after the client has its
        # answer (a refused upload is still being drained, for one).
        deadline = time.monotonic() + 5
        while True:
            log = log_path.read_text(errors="replace").splitlines()
            lines = [line for line in log if f"rid={request_id} " in line]
            if lines or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert lines, f"no gateway log line for request id {request_id}"
        return lines[-1]

    def wait_until_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"run_with_gateway.sh exited ({self.process.returncode}):\n{self.tail()}"
                )
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.gateway}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.25)
        pytest.fail(f"/health did not turn 200 within {timeout}s:\n{self.tail()}")

    def stop(self, sig: int = signal.SIGINT, *, whole_group: bool = True) -> int:
        """Stops the stack as a person would and returns the script's exit status."""
        if self.process.poll() is None:
            if whole_group:
                os.killpg(self.process.pid, sig)  # Ctrl-C reaches the whole foreground group
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                pytest.fail(f"run_with_gateway.sh did not stop within {STOP_TIMEOUT}s")
        return self.process.returncode

    def leftovers(self) -> list[str]:
        """What the stack left behind: open ports and live processes of its group."""
        deadline = time.monotonic() + 10
        while True:
            problems = [f"port {port} still open" for port in self.ports if port_is_open(port)]
            problems += [f"process left: {p}" for p in processes_in_group(self.process.pid)]
            if not problems or time.monotonic() > deadline:
                return problems
            time.sleep(0.2)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


class Databases:
    """Fresh databases for one stack: SQLite files, or throw-away PostgreSQL databases."""

    def __init__(self, workdir: Path):
        self.kind = os.environ.get("E2E_DATABASE", "sqlite")
        self.server = os.environ.get("E2E_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
        self.names: list[str] = []
        if self.kind == "postgres":
            suffix = uuid.uuid4().hex[:8]
            self.names = [f"e2e_auth_{suffix}", f"e2e_media_{suffix}"]
            self._execute([f'CREATE DATABASE "{name}"' for name in self.names])
            self.env = {
                "AUTH_DATABASE_URL": f"{self.server}/{self.names[0]}",
                "BACKEND_DATABASE_URL": f"{self.server}/{self.names[1]}",
            }
        elif self.kind == "sqlite":
            self.env = {
                "AUTH_DATABASE_URL": f"sqlite:///{workdir / 'auth.sqlite3'}",
                "BACKEND_DATABASE_URL": f"sqlite:///{workdir / 'media.sqlite3'}",
            }
        else:
            raise pytest.UsageError("E2E_DATABASE must be sqlite or postgres")

    def drop(self) -> None:
        if self.names:
            self._execute([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.names])

    def _execute(self, statements: list[str]) -> None:
        import psycopg2  # only needed for PostgreSQL runs; installed with the services

        connection = psycopg2.connect(f"{self.server}/postgres")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            connection.close()


def start_stack(workdir: Path, ports: tuple[int, int, int], extra_env: dict) -> Stack:
    """Starts run_with_gateway.sh on `ports`; `workdir` holds its .env, media and databases."""
    gateway_port, auth_port, media_port = ports
    var_dir = workdir / f"var-{gateway_port}"
    # Nothing of the caller's own stack configuration leaks in (a developer's DATABASE_URL...).
    inherited = ("AUTH_", "BACKEND_", "DB_", "DATABASE_URL", "GATEWAY_", "MEDIA_", "VAR_DIR")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(inherited)},
        "ENV_FILE": str(workdir / ".env"),
        "VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(workdir / "media"),
        "MAX_UPLOAD_SIZE": str(MAX_UPLOAD_SIZE),
        "GATEWAY_PORT": str(gateway_port),
        "AUTH_PORT": str(auth_port),
        "MEDIA_PORT": str(media_port),
        "GUNICORN_WORKERS": "2",
        "RESTART_DELAY_SECONDS": "3",
        "READY_TIMEOUT_SECONDS": str(STARTUP_TIMEOUT),
        **extra_env,
    }
    log_path = workdir / f"run_with_gateway.{gateway_port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(RUN_SCRIPT)],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
    return Stack(process, workdir, var_dir, log_path, gateway_port, auth_port, media_port)
