"""Start the real stack for a benchmark and stop it afterwards.

`./run_with_gateway.sh` runs both services under gunicorn and the nginx gateway; here it gets
throw-away PostgreSQL databases (`bench_auth`, `bench_media`, created and dropped), a temporary
MEDIA_ROOT and ports of its own, so a benchmark never touches a developer's stack or data. The
whole process group is stopped at the end, whatever happened.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import redis
import requests

from bench.results import RESULTS_DIR

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
AUTH_DB = "bench_auth"
MEDIA_DB = "bench_media"
GATEWAY_PORT = int(os.environ.get("BENCH_GATEWAY_PORT", "3700"))
AUTH_PORT = int(os.environ.get("BENCH_AUTH_PORT", "8700"))
MEDIA_PORT = int(os.environ.get("BENCH_MEDIA_PORT", "8701"))
CEILING_PORT = int(os.environ.get("BENCH_CEILING_PORT", "3790"))
# Redis as in docker-compose (caches and throttles shared by the workers), on a database index
# of the bench's own that it empties first; BENCH_REDIS_URL="" measures with the file cache.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
PASSWORD = "bench-Passw0rd-long"
JWT_KEY = "bench-only-signing-key-" + "x" * 40


@dataclass
class User:
    id: int
    email: str
    password: str
    access: str
    refresh: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


@dataclass
class Stack:
    gateway: str
    auth: str
    media: str
    media_root: Path
    tmp: Path
    env: dict[str, str]
    proc: subprocess.Popen
    log: Path
    users: list[User] = field(default_factory=list)

    def register(self, label: str) -> User:
        """A fresh account through the gateway (the API, as a client would make one)."""
        email = f"{label}-{uuid.uuid4().hex[:8]}@bench.example.com"
        body = {"first_name": "Bench", "last_name": label, "email": email, "password": PASSWORD}
        resp = requests.post(f"{self.gateway}/api/auth/register/", json=body, timeout=60)
        if resp.status_code != 201:
            raise RuntimeError(f"register failed: {resp.status_code} {resp.text[:500]}")
        data = resp.json()
        user = User(data["user"]["id"], email, PASSWORD, data["access"], data["refresh"])
        self.users.append(user)
        return user

    def gunicorn_workers(self, port: int) -> list[int]:
        """PIDs of the gunicorn workers bound to `port` (the master's children)."""
        masters = [p for p in _group_pids(self.proc.pid) if _is_gunicorn_on(p, port)]
        workers = [p for p in _group_pids(self.proc.pid) if _ppid(p) in masters]
        return workers or masters

    def media_sql(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        with pg(MEDIA_DB) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []


@contextmanager
def pg(dbname: str = "postgres"):
    conn = psycopg2.connect(f"{PG_URL}/{dbname}")
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def _recreate_databases() -> None:
    with pg() as conn, conn.cursor() as cur:
        for name in (AUTH_DB, MEDIA_DB):
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')


def _drop_databases() -> None:
    with pg() as conn, conn.cursor() as cur:
        for name in (AUTH_DB, MEDIA_DB):
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except ProcessLookupError:
                continue
    return pids


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])


def _is_gunicorn_on(pid: int, port: int) -> bool:
    cmd = _cmdline(pid)
    return "gunicorn" in cmd and f":{port}" in cmd


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _redis_ready() -> bool:
    """Whether the bench's Redis database answers; emptied here, so no count is left over."""
    if not REDIS_URL:
        return False
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
    except (OSError, redis.RedisError):
        return False
    return True


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the stack exited early; its log:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the stack was not healthy in {timeout_s:.0f}s:\n{log.read_text()[-4000:]}")


def stack_env(tmp: Path) -> dict[str, str]:
    """The environment run_with_gateway.sh gets: everything under `tmp`, nothing from .env."""
    media_root = tmp / "media"
    return {
        **os.environ,
        # A .env of its own (the script writes one with fresh secrets): a developer's .env
        # (DEBUG, SQLite, other limits) must not change what is measured.
        "ENV_FILE": str(tmp / "bench.env"),
        "VAR_DIR": str(tmp / "var"),
        "AUTH_DATABASE_URL": f"{PG_URL}/{AUTH_DB}",
        "BACKEND_DATABASE_URL": f"{PG_URL}/{MEDIA_DB}",
        "MEDIA_ROOT": str(media_root),
        "GATEWAY_PORT": str(GATEWAY_PORT),
        "AUTH_PORT": str(AUTH_PORT),
        "MEDIA_PORT": str(MEDIA_PORT),
        "JWT_SIGNING_KEY": JWT_KEY,
        # Tokens outlive the whole run.
        "JWT_ACCESS_TOKEN_MINUTES": "240",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        # One client address sends every request: the per-address throttles (60/min) would
        # turn a load test of login into a test of the 429. Per-account limits stay as they are.
        "LOGIN_IP_THROTTLE_RATE": "1000000/min",
        "REGISTER_IP_THROTTLE_RATE": "1000000/min",
        "REDIS_URL": REDIS_URL if _redis_ready() else "",
        # Room above the 1 GiB upload (the default limit is exactly 1 GiB).
        "MAX_UPLOAD_SIZE": str(2 * 1024**3),
    }


@contextmanager
def running(*, keep_databases: bool = False, startup_timeout_s: float = 300):
    """The whole stack on the bench ports, with fresh databases; stopped and cleaned afterwards."""
    script = REPO / "run_with_gateway.sh"
    if not script.exists():
        raise SystemExit("run_with_gateway.sh is not in this checkout yet")
    for port in (GATEWAY_PORT, AUTH_PORT, MEDIA_PORT, CEILING_PORT):
        if not _port_is_free(port):
            raise SystemExit(f"port {port} is taken; set BENCH_*_PORT or stop what listens there")
    subprocess.run(["bash", str(REPO / "scripts/ensure_local_services.sh")], check=True)
    tmp = Path(tempfile.mkdtemp(prefix="media-bench-"))
    env = stack_env(tmp)
    Path(env["MEDIA_ROOT"]).mkdir(parents=True)
    _recreate_databases()
    log = tmp / "stack.log"
    print(f"bench: starting the stack (log: {log})", file=sys.stderr)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(script)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    stack = Stack(
        gateway=f"http://127.0.0.1:{GATEWAY_PORT}",
        auth=f"http://127.0.0.1:{AUTH_PORT}",
        media=f"http://127.0.0.1:{MEDIA_PORT}",
        media_root=Path(env["MEDIA_ROOT"]),
        tmp=tmp,
        env=env,
        proc=proc,
        log=log,
    )
    try:
        _wait_healthy(f"{stack.gateway}/health", proc, log, startup_timeout_s)
        yield stack
    finally:
        _stop(proc)
        RESULTS_DIR.mkdir(exist_ok=True)
        shutil.copy(log, RESULTS_DIR / "last-stack.log")
        if not keep_databases:
            _drop_databases()
        shutil.rmtree(tmp, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    """SIGINT (Ctrl-C, as the script expects), then SIGTERM, then SIGKILL to the whole group."""
    for sig, wait_s in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if not _group_pids(proc.pid):
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and _group_pids(proc.pid):
            proc.poll()
            time.sleep(0.2)
    proc.poll()
