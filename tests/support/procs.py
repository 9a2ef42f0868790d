"""Processes of a stack, read from /proc: who they are, their memory, their open files."""

import os
from pathlib import Path


def group_processes(pgid: int) -> dict[int, str]:
    """`{pid: command}` of the live gunicorn and nginx processes in process group `pgid`."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, ValueError):
            continue
        if (
            int(fields[2]) == pgid
            and fields[0] != "Z"
            and ("gunicorn" in command or "nginx" in command)
        ):
            found[int(proc.name)] = command
    return found


def service_of(command: str) -> str:
    if "nginx" in command:
        return "gateway"
    if "auth_server" in command:
        return "auth"
    if "backend_server" in command:
        return "media"
    return "other"


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(child) for task in tasks for child in (task / "children").read_text().split()]
    except OSError:
        return []


def open_files(pid: int) -> list[str]:
    fds = Path(f"/proc/{pid}/fd")
    paths = []
    try:
        for fd in fds.iterdir():
            try:
                paths.append(os.readlink(fd))
            except OSError:
                continue
    except OSError:
        return []
    return paths
