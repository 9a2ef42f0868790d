"""Before and after: the API workload on another revision and on this checkout, alternately.

    python -m bench.compare REV [--pairs 3] [--quick]

REV (a commit, a tag, `HEAD~3`) is checked out into a temporary git worktree, which shares this
checkout's .venv when both pin the same requirements (otherwise its run_with_gateway.sh makes
its own); then each side in turn runs `python -m bench --only api` in its own checkout, which
starts and stops its own stack on the bench ports, with its own `common` package first on
PYTHONPATH. Alternating the sides keeps the
machine's drift from favouring either. Prints each run's repeated list, ping and ratio, then
the median ratio of each side.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from devstack import REPO


def _run_api(checkout: Path, quick: bool) -> tuple[float, float]:
    """(list req/s, ping req/s) of one `--only api` run in `checkout`."""
    command = [sys.executable, "-m", "bench", "--only", "api", *(["--quick"] if quick else [])]
    # Both sides on the development venv: a revision from before BENCH_VENV used it, and the
    # two must differ only in the code.
    env = {**os.environ, "PYTHONPATH": str(checkout / "common"), "BENCH_VENV": str(REPO / ".venv")}
    out = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
    raw = next((line[5:] for line in out.stdout.splitlines() if line.startswith("raw: ")), None)
    if raw is None:
        raise SystemExit(f"the api workload failed in {checkout}:\n{out.stdout}\n{out.stderr}")
    results = json.loads((checkout / raw).read_text())["results"]
    repeated = next(r for r in results if "page loaded before" in r["figure"])
    return repeated["value"], repeated["ceiling"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("rev", help="the revision to compare this checkout with")
    parser.add_argument("--pairs", type=int, default=3, help="runs of each side")
    parser.add_argument("--quick", action="store_true", help="short runs")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", args.rev], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    if not commit:
        raise SystemExit(f"no such revision: {args.rev}")
    worktree = Path(tempfile.mkdtemp(prefix="media-bench-base-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(worktree), commit],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    try:
        pins = ["requirements.txt", "constraints.txt", "common/pyproject.toml"]
        same_pins = subprocess.run(["git", "diff", "--quiet", commit, "--", *pins], cwd=REPO)
        if same_pins.returncode == 0:
            (worktree / ".venv").symlink_to(REPO / ".venv")
        sides = {commit: worktree, "this checkout": REPO}
        ratios: dict[str, list[float]] = {side: [] for side in sides}
        for n in range(1, args.pairs + 1):
            for side, checkout in sides.items():
                listed, ping = _run_api(checkout, args.quick)
                ratios[side].append(listed / ping)
                print(
                    f"run {n}, {side}: list {listed:,.0f} req/s, ping {ping:,.0f} req/s, "
                    f"ratio {listed / ping:.2f}",
                    flush=True,
                )
        for side, values in ratios.items():
            print(f"{side}: median ratio {statistics.median(values):.2f} over {len(values)} runs")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO)
        shutil.rmtree(worktree, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
