"""What gateway/gunicorn.conf.py does to the process that loads it (gunicorn's master, whose
workers are forked from it), checked in a Python process of its own that loads the file as
gunicorn does and then runs threads that allocate, as a worker's do."""

import os
import subprocess
import sys

import pytest

from devstack import REPO

THREADS = 8
# Loads the configuration, then holds THREADS threads alive at once, each having allocated a
# block malloc serves from the thread's arena, and prints how many arena heaps there are.
LOAD_AND_ALLOCATE = f"""
import os, runpy, threading
from devstack import processes

runpy.run_path({str(REPO / "gateway" / "gunicorn.conf.py")!r})
all_allocated, counted = threading.Barrier({THREADS + 1}), threading.Barrier({THREADS + 1})

def allocate():
    block = bytearray(100_000)  # past Python's small-object allocator, under mmap's threshold
    all_allocated.wait()
    counted.wait()

threads = [threading.Thread(target=allocate) for _ in range({THREADS})]
for thread in threads:
    thread.start()
all_allocated.wait()
print(processes.malloc_arena_heaps(os.getpid()))
counted.wait()
"""


def arena_heaps_after_loading(**environment: str) -> int:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("MALLOC_ARENA_MAX", "GUNICORN_SERVICE")
    }
    done = subprocess.run(
        [sys.executable, "-c", LOAD_AND_ALLOCATE],
        env={**env, "PYTHONPATH": str(REPO), **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout)


def test_the_media_service_keeps_two_malloc_arenas():
    # The main arena, and one heap of the only other.
    assert arena_heaps_after_loading(GUNICORN_SERVICE="media") <= 1


@pytest.mark.parametrize("service", ["auth", ""])
def test_other_services_keep_glibcs_default(service):
    # Sync workers, one thread each: nothing to gain. Each allocating thread gets an arena.
    assert arena_heaps_after_loading(GUNICORN_SERVICE=service) > 1


def test_an_operators_malloc_arena_max_wins():
    assert arena_heaps_after_loading(GUNICORN_SERVICE="media", MALLOC_ARENA_MAX="8") > 1
