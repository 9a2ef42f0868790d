"""CPU time by kind of process (media and auth gunicorn, the gateway's nginx, PostgreSQL,
Redis, the load generator), from /proc, so a workload can say where each request's CPU goes.

A process's own time plus the time of its children already reaped (`cutime`, `cstime`) is
counted, so a gunicorn worker recycled during a run (max_requests) or a PostgreSQL backend
that ended still counts, through its parent.
"""

import os
from pathlib import Path

from devstack import Stack, processes

TICK = os.sysconf("SC_CLK_TCK")
# The stack's own processes by service (devstack.processes.service_of), as the table names them.
STACK_KINDS = {"auth": "auth", "media": "media", "gateway": "nginx"}
OTHER_KINDS = ("postgres", "redis-server", "wrk")


def _kind(process: processes.Process, stack_group: int) -> str | None:
    if process.pgid == stack_group:
        return STACK_KINDS.get(processes.service_of(process.command))
    kind = next((k for k in OTHER_KINDS if process.command.startswith(k)), None)
    return "redis" if kind == "redis-server" else kind


def snapshot(stack: Stack) -> dict[str, float]:
    """Seconds of CPU used so far, by kind."""
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        process = processes.read(int(entry.name)) if entry.name.isdigit() else None
        kind = _kind(process, stack.process.pid) if process else None
        if kind is None:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        totals[kind] = totals.get(kind, 0.0) + ticks / TICK
    return totals


def per_request_us(before: dict[str, float], after: dict[str, float], requests: int) -> dict:
    """Microseconds of CPU per request, by kind, between two snapshots."""
    kinds = sorted(set(before) | set(after))
    return {k: round((after.get(k, 0) - before.get(k, 0)) / max(requests, 1) * 1e6) for k in kinds}
