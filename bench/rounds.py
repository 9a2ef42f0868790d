"""Two sides measured in rounds (ours and its ceiling, back to back, taking turns at going
first): how each run starts, and which round a figure comes from."""

import os
import statistics
import time

# How long quiesce_memory() waits: the kernel reports free memory to the VM's host two seconds
# after it was freed (free page reporting), in blocks of 8 MiB.
QUIESCE_SECONDS = 5


def quiesce_memory() -> None:
    """Start the next run from the state the last one's start had: what is dirty written to the
    disk, and the memory freed meanwhile back with the VM's host. The host takes back memory
    freed for about two seconds, and memory faulted in afresh fills at a seventh of the speed
    of memory still held (docs/performance.md, object storage, ninth session): a run that began
    right after another freed 1 GiB (moto deleting an object) was faster than one that did not,
    whichever side it was."""
    os.sync()
    time.sleep(QUIESCE_SECONDS)


def median_round(ours: list[float], ceiling: list[float]) -> tuple[int, list[float]]:
    """The round (an index) whose ratio ours/ceiling (speeds) is the median of all rounds', and
    those ratios. Each ratio compares two runs next to each other in time, where medians taken
    apart compare one side's good minutes with the other's bad ones: the machine's speed drifts
    by a fifth from one run to the next at times."""
    ratios = [mine / theirs for mine, theirs in zip(ours, ceiling, strict=True)]
    return ratios.index(statistics.median_low(ratios)), ratios
