"""Fails when the venv it runs in holds a package at a version constraints.txt does not lock (a
requirement added or changed without `make lock`): pip reads the lock on every install, but a
package missing from it would be resolved afresh on each machine."""

import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = Path(__file__).resolve().parent.parent / "constraints.txt"


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            pinned = Requirement(line)
            pins[canonicalize_name(pinned.name)] = str(pinned.specifier).removeprefix("==")
    return pins


def main() -> int:
    pins = locked()
    unlocked = []
    for distribution in metadata.distributions():
        name = canonicalize_name(distribution.metadata["Name"])
        # pip's own tools (never frozen) and the project's editable package.
        if name in {"pip", "setuptools", "wheel", "media-handler-common"}:
            continue
        if pins.get(name) != distribution.version:
            unlocked.append(f"{name}=={distribution.version} (locked: {pins.get(name, 'no')})")
    if unlocked:
        print("Not as constraints.txt locks them; run `make lock`:", *sorted(unlocked), sep="\n  ")
        return 1
    print(f"constraints.txt locks all {len(pins)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
