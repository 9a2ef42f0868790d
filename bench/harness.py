"""What every workload shares: the stack it measures, the context it runs in, and the command
line that starts the stack, runs one or more workloads, prints the table and keeps the raw
JSON."""

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

import devstack
from bench import wrk
from bench.results import RESULTS_DIR, Result, machine, save, table
from devstack import (
    DEFAULT_POSTGRES,
    ONE_ADDRESS_CROWD,
    REPO,
    Ports,
    Stack,
    StackSpec,
    client,
    processes,
)
from devstack.ports import preferred_from_env

WORKLOADS = (
    "api",
    "scale",
    "upload",
    "download",
    "auth",
    "accounts",
    "derivatives",
    "objectstore",
    "sync",
)
# Redis as in docker-compose (caches and throttles shared by the workers), on a database index
# of the bench's own that it empties first; BENCH_REDIS_URL="" measures with the file cache.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
# A second stack beside the measured one (the object-storage workload's) has a Redis database of
# its own: two stacks on one database would take each other's jobs off the shared queue.
# With BENCH_REDIS_URL="" (the file cache), the second stack has none either.
SECOND_REDIS_URL = os.environ.get(
    "BENCH_SECOND_REDIS_URL", "redis://127.0.0.1:6379/8" if REDIS_URL else ""
)
# The stacks run from a virtual environment with the runtime requirements alone, as a server's
# does (run_with_gateway.sh makes it on first use, the Docker image installs the same): the
# development one also holds the test tools, and Django and DRF import some of what they find
# installed (requests, jinja2, pygments): a fresh media worker weighs 7 MiB more on it
# (docs/performance.md, running them). BENCH_VENV=.venv measures with the development one.
VENV = Path(os.environ.get("BENCH_VENV") or REPO / "var" / "bench-venv").absolute()


@dataclass
class User:
    id: int
    email: str
    password: str
    access: str
    refresh: str

    @property
    def headers(self) -> dict[str, str]:
        return client.bearer(self.access)


def new_user(stack: Stack, label: str) -> User:
    """A fresh account through the gateway (the API, as a client would make one)."""
    with requests.Session() as http:
        tokens = client.register(http, stack.gateway, client.unique_email(label))
    user = tokens["user"]
    return User(user["id"], user["email"], client.PASSWORD, tokens["access"], tokens["refresh"])


def stack_spec(
    workdir: Path, *, keep_databases: bool = False, redis_url: str = REDIS_URL
) -> StackSpec:
    """The measured stack: throw-away PostgreSQL databases, Redis (emptied first; none when
    `redis_url` is empty), the defaults otherwise."""
    return StackSpec(
        label="bench",
        workdir=workdir,
        database="postgres",
        postgres_url=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        ports=preferred_from_env("BENCH", Ports(3700, 8700, 8701)),
        startup_timeout=300,
        keep_databases=keep_databases,
        env={
            # Tokens outlive the whole run.
            "JWT_ACCESS_TOKEN_MINUTES": "240",
            "LOG_LEVEL": "WARNING",
            # One client address sends every request: the per-address throttles would turn a
            # load test of login into a test of the 429.
            **ONE_ADDRESS_CROWD,
            "REDIS_URL": redis_url if _redis_emptied(redis_url) else "",
            # Room above the 1 GiB upload (the default limit is exactly 1 GiB).
            "MAX_UPLOAD_SIZE": str(2 * 1024**3),
            "VENV": str(VENV),
        },
    )


@contextmanager
def running(*, keep_databases: bool = False) -> Iterator[Stack]:
    """The measured stack; its log is kept as bench/results/last-stack.log."""
    subprocess.run(["bash", str(REPO / "scripts/ensure_local_services.sh")], check=True)
    with tempfile.TemporaryDirectory(prefix="media-bench-") as workdir:
        spec = stack_spec(Path(workdir), keep_databases=keep_databases)
        log(f"starting the stack (log: {workdir})")
        try:
            with devstack.running(spec) as stack:
                if keep_databases:
                    log(f"the databases stay afterwards: {', '.join(stack.databases.names)}")
                yield stack
        finally:
            RESULTS_DIR.mkdir(exist_ok=True)
            for stack_log in Path(workdir).glob("run_with_gateway.*.log"):
                shutil.copy(stack_log, RESULTS_DIR / "last-stack.log")


def _redis_emptied(url: str) -> bool:
    """Whether the Redis database at `url` answers; emptied here, so no count is left over."""
    if not url:
        return False
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except (OSError, redis.RedisError):
        return False
    return True


@dataclass
class Context:
    stack: Stack
    quick: bool
    run_seconds: float | None = None
    users: dict[str, User] = field(default_factory=dict)
    # The largest file the upload workload stored, for the download workload to fetch:
    # (the media record as the API returned it, the source file on disk).
    big_upload: tuple[dict, Path] | None = None

    def user(self, label: str) -> User:
        if label not in self.users:
            self.users[label] = new_user(self.stack, label)
        return self.users[label]

    def seconds(self, full: float) -> float:
        """A wrk run's length: `--seconds` when given, else shorter in quick mode."""
        if self.run_seconds:
            return self.run_seconds
        return max(2.0, full / 3) if self.quick else full


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def main(default: tuple[str, ...] = WORKLOADS, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs")
    parser.add_argument(
        "--only", default=",".join(default), help=f"comma-separated, of: {','.join(WORKLOADS)}"
    )
    parser.add_argument("--seconds", type=float, help="length of each measured wrk run")
    parser.add_argument("--keep-databases", action="store_true", help="for a look afterwards")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)}")

    wrk.ensure_installed()
    meta = {
        **machine(),
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "workloads": names,
    }
    results: list[Result] = []
    failed: list[str] = []
    started = time.monotonic()
    with running(keep_databases=args.keep_databases) as stack:
        meta["stack"] = describe(stack)
        ctx = Context(stack=stack, quick=args.quick, run_seconds=args.seconds)
        for name in names:
            log(f"workload {name}")
            module = importlib.import_module(f"bench.{name}")
            t0 = time.monotonic()
            try:
                results.extend(r.judge() for r in module.run(ctx))
            except Exception as exc:  # one broken workload must not hide the others' numbers
                log(f"workload {name} failed: {exc!r}")
                failed.append(name)
                results.append(Result(name, f"failed: {exc}", 0, "", met=False))
            log(f"workload {name} took {time.monotonic() - t0:.0f}s")
    meta["seconds"] = round(time.monotonic() - started)
    path = save("-".join(names) + ("-quick" if args.quick else ""), results, meta)
    print()
    print(
        f"{meta['date']} · {meta['nproc']} x {meta['cpu']} · {meta['ram_gib']} GiB · "
        f"{meta['seconds']} s"
    )
    shape = meta["stack"]
    workers, classes = shape["gunicorn_workers"], shape["gunicorn_worker_classes"]
    print(
        f"gunicorn workers: auth {workers['auth']} ({classes['auth']}), media "
        f"{workers['media']} ({classes['media']}); cache: {shape['cache']}; PostgreSQL 127.0.0.1"
    )
    print(table(results))
    print(f"\nraw: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    # A missed target is a finding, reported in the table; a workload that crashed is an error.
    return 1 if failed else 0


def describe(stack: Stack) -> dict:
    """The stack's shape as measured: gunicorn processes and the media service's settings."""
    config = {service: _gunicorn_config(stack, service) for service in ("auth", "media")}
    cmdlines = {service: processes.cmdline(stack.pid(service)) for service in ("auth", "media")}
    return {
        # As configured: counting the live processes would count a worker recycled by
        # max_requests twice while it finishes its last requests.
        "gunicorn_workers": {service: workers for service, (workers, _) in config.items()},
        "gunicorn_worker_classes": {service: kind for service, (_, kind) in config.items()},
        "gunicorn_cmdlines": cmdlines,
        "cache": "redis" if stack.env.get("REDIS_URL") else "files (CACHE_DIR)",
    }


def _gunicorn_config(stack: Stack, service: str) -> tuple[int, str]:
    """The workers and their class (`sync`, or `gthread x N threads`) that
    gateway/gunicorn.conf.py gives `service` under the stack's environment."""
    script = (
        "import json, runpy; c = runpy.run_path('gateway/gunicorn.conf.py'); "
        "print(json.dumps([c['workers'], c.get('worker_class', 'sync'), c.get('threads', 1)]))"
    )
    env = {**os.environ, **stack.env, "GUNICORN_SERVICE": service}
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    workers, worker_class, threads = json.loads(out.stdout)
    if worker_class == "gthread":
        return workers, f"{worker_class} x {threads} threads"
    return workers, worker_class
