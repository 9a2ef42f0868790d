"""Print a results file as the Markdown docs/performance.md quotes: the machine, the versions,
the command and the table. `python -m bench.report [bench/results/<file>.json]` (the newest
file by default)."""

import json
import sys
from pathlib import Path

from bench.results import RESULTS_DIR, Result, table


def markdown(path: Path) -> str:
    data = json.loads(path.read_text())
    meta = data["meta"]
    fields = Result.__dataclass_fields__
    results = [Result(**{k: v for k, v in row.items() if k in fields}) for row in data["results"]]
    versions = ", ".join(f"{name} {v}" for name, v in meta["versions"].items())
    shape = meta.get("stack", {})
    workers = shape.get("gunicorn_workers", {})
    classes = shape.get("gunicorn_worker_classes", {"auth": "sync", "media": "sync"})
    lines = [
        f"- Date: {meta['date']} ({meta['seconds']} s in all)",
        f"- Machine: {meta['nproc']} cores, {meta['cpu']}, {meta['ram_gib']} GiB RAM, "
        f"Linux {meta['kernel']}",
        f"- Versions: {versions}",
        f"- Stack: gunicorn workers auth {workers.get('auth')} ({classes.get('auth')}), "
        f"media {workers.get('media')} ({classes.get('media')}); "
        f"cache {shape.get('cache')}; PostgreSQL on 127.0.0.1",
        f"- Command: `{meta['command']}`",
        "",
        table(results),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
    else:
        target = max(RESULTS_DIR.glob("*.json"), key=lambda p: p.stat().st_mtime)
    print(markdown(target))
