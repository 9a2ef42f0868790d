"""Processes, read from /proc: a process group's members, a process's children, memory (and its
malloc arenas) and open files; and starting a command in a process group of its own, as a
terminal starts a foreground job, so that one signal reaches all of it."""

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    pgid: int
    command: str


def read(pid: int) -> Process | None:
    """The live process `pid`, or None when it is gone (or a zombie, as good as gone)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        raw_command = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    # The command name in parentheses may hold spaces and parentheses itself.
    state, ppid, pgid = stat[stat.rindex(")") + 2 :].split()[:3]
    if state == "Z":
        return None
    command = raw_command.replace(b"\0", b" ").decode(errors="replace").strip()
    return Process(pid, int(ppid), int(pgid), command)


def in_group(pgid: int) -> list[Process]:
    """The live processes of process group `pgid`."""
    found = (read(int(entry.name)) for entry in PROC.iterdir() if entry.name.isdigit())
    return [process for process in found if process is not None and process.pgid == pgid]


def cmdline(pid: int) -> str:
    process = read(pid)
    return process.command if process else ""


def children(pid: int) -> list[int]:
    try:
        tasks = (PROC / str(pid) / "task").iterdir()
        return [int(child) for task in tasks for child in (task / "children").read_text().split()]
    except OSError:
        return []


def status_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of /proc/<pid>/status in KiB (`VmRSS`, `VmHWM`...); 0 when it is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# glibc's malloc arenas other than the main one live in "heaps": anonymous mappings of 64 MiB
# (HEAP_MAX_SIZE on 64-bit Linux) aligned to their size, writable as far as the arena has grown
# and inaccessible (---p) beyond.
MALLOC_HEAP_BYTES = 64 * 1024 * 1024


def malloc_arena_heaps(pid: int) -> int:
    """How many heaps of malloc arenas besides the main one process `pid` has (0 when gone)."""
    try:
        lines = (PROC / str(pid) / "maps").read_text().splitlines()
    except OSError:
        return 0
    anonymous = {}  # start: (end, permissions)
    for line in lines:
        fields = line.split()  # address, permissions, offset, device, inode[, path]
        if len(fields) == 5:
            start, end = (int(address, 16) for address in fields[0].split("-"))
            anonymous[start] = (end, fields[1])
    heaps = 0
    for start, (end, permissions) in anonymous.items():
        if permissions != "rw-p" or start % MALLOC_HEAP_BYTES:
            continue
        rest = anonymous.get(end)  # the reserved, not yet writable, remainder
        if end - start == MALLOC_HEAP_BYTES or rest == (start + MALLOC_HEAP_BYTES, "---p"):
            heaps += 1
    return heaps


def environment(pid: int) -> dict[str, str]:
    """The environment process `pid` started with (empty when it is gone)."""
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return {}
    pairs = (entry.partition(b"=") for entry in raw.split(b"\0") if entry)
    return {
        name.decode(errors="replace"): value.decode(errors="replace") for name, _, value in pairs
    }


def open_files(pid: int) -> list[str]:
    paths = []
    try:
        descriptors = list((PROC / str(pid) / "fd").iterdir())
    except OSError:
        return []
    for descriptor in descriptors:
        try:
            paths.append(os.readlink(descriptor))
        except OSError:
            continue
    return paths


def service_of(command: str) -> str:
    """Which part of the stack a command line belongs to: gateway, auth, media or other."""
    if "nginx" in command:
        return "gateway"
    if "gunicorn" in command and "auth_server" in command:
        return "auth"
    if "gunicorn" in command and "backend_server" in command:
        return "media"
    return "other"


def start_group(
    argv: list[str], *, cwd: Path, env: Mapping[str, str], log_path: Path
) -> subprocess.Popen:
    """`argv` in a new session (its own process group), its output appended to `log_path`."""
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 -- the callers' own commands
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def signal_group(pgid: int, sig: int) -> bool:
    """Sends `sig` to every process of the group; False when none is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True
