"""CPU time by kind of process (media and auth gunicorn, the gateway's nginx, PostgreSQL,
Redis, the load generator), from /proc, so a workload can say where each request's CPU goes.

A process's own time plus the time of its children already reaped (`cutime`, `cstime`) is
counted, so a gunicorn worker recycled during a run (max_requests) or a PostgreSQL backend
that ended still counts, through its parent.
"""

import os
from pathlib import Path

from bench.stack import AUTH_PORT, MEDIA_PORT, Stack, _cmdline

TICK = os.sysconf("SC_CLK_TCK")


def _kind(pid: int, cmd: str, stack_group: int) -> str | None:
    try:
        group = os.getpgid(pid)
    except ProcessLookupError:
        return None
    if "gunicorn" in cmd and group == stack_group:
        if f":{MEDIA_PORT}" in cmd:
            return "media"
        if f":{AUTH_PORT}" in cmd:
            return "auth"
    if cmd.startswith("nginx") and group == stack_group:
        return "nginx"
    if cmd.startswith("postgres"):
        return "postgres"
    if cmd.startswith("redis-server"):
        return "redis"
    if cmd.startswith("wrk"):
        return "wrk"
    return None


def snapshot(stack: Stack) -> dict[str, float]:
    """Seconds of CPU used so far, by kind."""
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        kind = _kind(pid, _cmdline(pid), stack.proc.pid)
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
