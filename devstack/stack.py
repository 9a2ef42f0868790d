"""One private copy of the real stack: `./run_with_gateway.sh` (nginx, both services under
gunicorn) in a process group of its own, with its own .env, VAR_DIR, MEDIA_ROOT, databases and
ports, started the way a newcomer starts it and stopped the way a person stops it (Ctrl-C to
the whole group). Its environment follows devstack.environment's policy.
"""

import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devstack import ports as port_choice
from devstack import processes
from devstack.databases import DEFAULT_POSTGRES, Databases, Kind
from devstack.environment import REPO, stack_environment
from devstack.polling import wait_until
from devstack.ports import Ports

RUN_SCRIPT = REPO / "run_with_gateway.sh"
PYTHON = REPO / ".venv" / "bin" / "python"
STOP_TIMEOUT = 45
# Tries to start a stack when another process takes one of its ports first.
START_ATTEMPTS = 3
# What the run script, gunicorn and nginx say when a port is taken.
PORT_TAKEN_MESSAGES = ("already in use", "Connection in use")
# run_with_gateway.sh's own defaults.
DEFAULT_PORTS = Ports(3000, 8000, 8001)
# .env.example's default, for a spec that does not set MAX_UPLOAD_SIZE.
DEFAULT_MAX_UPLOAD_SIZE = 1024**3


class StackError(RuntimeError):
    """The stack did not start, or did not stop cleanly."""


class PortTaken(StackError):
    """Another process took one of the stack's ports between their choice and the bind."""


@dataclass(frozen=True)
class StackSpec:
    """What one stack is. `env` is its explicit configuration, applied last (it wins); nothing
    else of the caller's configuration reaches it (devstack.environment)."""

    env: Mapping[str, str] = field(default_factory=dict)
    database: Kind = "sqlite"
    postgres_url: str = DEFAULT_POSTGRES
    # Preferred: taken ones fall back to free ports.
    ports: Ports = DEFAULT_PORTS
    # Holds .env, var-<port>/, media/, SQLite files and the log; None: a temporary directory,
    # removed when the stack is closed.
    workdir: Path | None = None
    media_root: Path | None = None
    # Another stack's databases, to start a second run on them (they stay that stack's).
    databases: Databases | None = None
    # Names the temporary directory and the PostgreSQL databases.
    label: str = "devstack"
    startup_timeout: float = 120
    keep_databases: bool = False


@dataclass
class Stack:
    spec: StackSpec
    process: subprocess.Popen
    workdir: Path
    ports: Ports
    databases: Databases
    log_path: Path
    env: dict[str, str] = field(repr=False)
    owns_workdir: bool = False
    owns_databases: bool = False
    stop_timed_out: bool = False

    @property
    def gateway(self) -> str:
        return f"http://{self.gateway_host}"

    @property
    def gateway_host(self) -> str:
        """The Host a client of the gateway sends (links in answers are built on it): an
        address, not "localhost", which Chromium tries as ::1 first, where nginx is not."""
        return f"{port_choice.LOOPBACK}:{self.ports.gateway}"

    @property
    def auth(self) -> str:
        return f"http://{port_choice.LOOPBACK}:{self.ports.auth}"

    @property
    def media(self) -> str:
        return f"http://{port_choice.LOOPBACK}:{self.ports.media}"

    @property
    def var_dir(self) -> Path:
        return Path(self.env["VAR_DIR"])

    @property
    def media_root(self) -> Path:
        return Path(self.env["MEDIA_ROOT"])

    @property
    def max_upload_size(self) -> int:
        return int(self.env.get("MAX_UPLOAD_SIZE", DEFAULT_MAX_UPLOAD_SIZE))

    def pid(self, service: str) -> int:
        """The pid of `auth` or `media` (the gunicorn master) or `gateway` (nginx's master)."""
        return int((self.var_dir / "run" / f"{service}.pid").read_text())

    def workers(self, service: str) -> list[int]:
        """The pids of the gunicorn workers of `auth` or `media`."""
        return processes.children(self.pid(service))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def access_log_line(self, request_id: str, timeout: float = 5) -> str:
        """The gateway's access log line of a request, found by its X-Request-ID. nginx logs a
        request once it is over, which can be just after the client has its answer (a refused
        upload still being drained, for one)."""
        log_path = self.var_dir / "gateway" / "logs" / "access.log"
        lines: list[str] = []

        def logged() -> bool:
            log = log_path.read_text(errors="replace").splitlines()
            lines[:] = [line for line in log if f"rid={request_id} " in line]
            return bool(lines)

        if not wait_until(logged, timeout):
            raise AssertionError(f"no gateway log line for request id {request_id}")
        return lines[-1]

    def health(self) -> requests.Response:
        return requests.get(f"{self.gateway}/health", timeout=10)

    def wait_until_healthy(self, timeout: float) -> None:
        """Returns once the gateway's /health is 200 and both services behind it are this
        stack's own (PortTaken when another process answers on one of its ports)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log()
                error = PortTaken if any(m in log for m in PORT_TAKEN_MESSAGES) else StackError
                raise error(
                    f"run_with_gateway.sh exited ({self.process.returncode}):\n{self.tail()}"
                )
            with contextlib.suppress(requests.RequestException):
                if self.health().status_code == 200:
                    if not self.answers_itself():
                        raise PortTaken(f"another stack answers on {self.ports}:\n{self.tail()}")
                    return
            time.sleep(0.25)
        raise StackError(f"/health did not turn 200 within {timeout}s:\n{self.tail()}")

    def answers_itself(self) -> bool:
        """Whether a request through the gateway to each service reaches this stack's own
        gateway and services: it shows in this stack's gateway access log and in its services'
        access log (the run script's output). The script checks its ports are free, but another
        run may take one in between."""
        access_log = self.var_dir / "gateway" / "logs" / "access.log"
        for service in ("auth", "media"):
            request_id = f"devstack-{uuid.uuid4().hex}"
            requests.get(
                f"{self.gateway}/api/{service}/ping/",
                headers={"X-Request-ID": request_id},
                timeout=10,
            )

            def logged(rid: str = request_id) -> bool:
                return (
                    f"rid={rid}" in self.log()
                    and access_log.exists()
                    and f"rid={rid} " in access_log.read_text(errors="replace")
                )

            if not wait_until(logged, timeout=5):
                return False
        return True

    def manage(self, service: str, *args: str, timeout: float = 120) -> str:
        """The output of `manage.py <args>` of `auth_server` or `backend_server`, run with this
        stack's environment."""
        result = subprocess.run(  # noqa: S603 -- the venv's Python, the service's manage.py
            [str(PYTHON), str(REPO / service / "manage.py"), *args],
            cwd=REPO / service,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return result.stdout

    def stop(self, sig: int = signal.SIGINT, *, whole_group: bool = True) -> int:
        """Stops the stack as a person would (Ctrl-C reaches the whole foreground group; a
        `kill` reaches the script alone) and returns the script's exit status. Killed after
        STOP_TIMEOUT seconds (`stop_timed_out`)."""
        if self.process.poll() is None:
            if whole_group:
                processes.signal_group(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.stop_timed_out = True
                processes.signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def leftovers(self, timeout: float = 10) -> list[str]:
        """What the stopped stack left behind: its ports still open, processes of its group
        still alive (given `timeout` seconds to go)."""
        found: list[str] = []

        def clean() -> bool:
            found[:] = [
                f"port {port} still open" for port in self.ports if port_choice.is_open(port)
            ]
            found.extend(
                f"process left: {p.pid} {p.command}" for p in processes.in_group(self.process.pid)
            )
            return not found

        wait_until(clean, timeout, interval=0.2)
        return found

    def close(self) -> list[str]:
        """Stops the stack if it still runs, kills whatever of it survived, drops the databases
        and removes the directory it made; returns what was left behind (empty when clean)."""
        left = self._terminate()
        if self.owns_databases and not self.spec.keep_databases:
            self.databases.drop()
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return left

    def _terminate(self) -> list[str]:
        self.stop()
        left = self.leftovers()
        if self.stop_timed_out:
            left.insert(0, f"run_with_gateway.sh did not stop within {STOP_TIMEOUT}s")
        processes.signal_group(self.process.pid, signal.SIGKILL)
        return left


def start(spec: StackSpec) -> Stack:
    """Starts a stack and waits until the gateway's /health is 200 (StackError otherwise, the
    half-started stack closed). When another process takes one of its ports meanwhile, it
    starts again on free ports."""
    owns_workdir = spec.workdir is None
    workdir = spec.workdir or Path(tempfile.mkdtemp(prefix=f"{spec.label}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    databases = spec.databases or Databases(
        spec.database, directory=workdir, server=spec.postgres_url, label=spec.label
    )
    chosen = Ports(*port_choice.choose(spec.ports))
    attempt = 1
    while True:
        stack = _launch(spec, workdir, chosen, databases)
        stack.owns_workdir, stack.owns_databases = owns_workdir, spec.databases is None
        try:
            stack.wait_until_healthy(spec.startup_timeout)
            return stack
        except PortTaken:
            if attempt == START_ATTEMPTS:
                stack.close()
                raise
        except BaseException:
            stack.close()
            raise
        stack._terminate()
        attempt += 1
        chosen = Ports(*port_choice.free_ports(3))


def _launch(spec: StackSpec, workdir: Path, ports: Ports, databases: Databases) -> Stack:
    private = {
        "ENV_FILE": str(workdir / ".env"),
        "DEV_SECRETS_FILE": str(workdir / ".dev-secrets.json"),
        # Per port, so a second run can share the directory (and its .env) with the first.
        "VAR_DIR": str(workdir / f"var-{ports.gateway}"),
        # As the run script sets them, for `manage()` too.
        "CACHE_DIR": str(workdir / f"var-{ports.gateway}" / "cache"),
        "JOB_QUEUE_DIR": str(workdir / f"var-{ports.gateway}" / "jobs"),
        "MEDIA_ROOT": str(spec.media_root or workdir / "media"),
        "GATEWAY_PORT": str(ports.gateway),
        "AUTH_PORT": str(ports.auth),
        "MEDIA_PORT": str(ports.media),
        "READY_TIMEOUT_SECONDS": str(int(spec.startup_timeout)),
        **databases.env,
    }
    env = stack_environment({**private, **spec.env})
    log_path = workdir / f"run_with_gateway.{ports.gateway}.log"
    return Stack(
        spec=spec,
        process=processes.start_group([str(RUN_SCRIPT)], cwd=REPO, env=env, log_path=log_path),
        workdir=workdir,
        ports=ports,
        databases=databases,
        log_path=log_path,
        env=env,
    )


@contextlib.contextmanager
def running(spec: StackSpec) -> Iterator[Stack]:
    """A started stack, closed at the end; a stack that leaves a process or an open port
    behind is an error (unless the block already failed)."""
    stack = start(spec)
    failed = True
    try:
        yield stack
        failed = False
    finally:
        left = stack.close()
        if left and not failed:
            raise StackError(f"the stack left things behind: {left}\n{stack.tail()}")
