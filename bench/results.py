"""One row of the results table, the table itself, and the raw JSON kept under bench/results/."""

import json
import os
import platform
import re
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Result:
    """A measured figure, the ceiling it is compared with, and the target for their ratio.

    `ratio` is `value / ceiling` unless `lower_is_better`, where it is `value / ceiling` too but
    the target reads as a maximum (for example p50 at 1M over p50 at 1k ≤ 2).
    """

    workload: str
    figure: str
    value: float
    unit: str
    ceiling: float | None = None
    ceiling_label: str = ""
    target: str = ""
    target_ratio: float | None = None
    lower_is_better: bool = False
    met: bool | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ceiling in (None, 0):
            return None
        return self.value / self.ceiling

    def judge(self) -> "Result":
        """Fill `met` from the ratio and the target ratio, when both exist."""
        if self.met is None and self.target_ratio is not None and self.ratio is not None:
            if self.lower_is_better:
                self.met = self.ratio <= self.target_ratio
            else:
                self.met = self.ratio >= self.target_ratio
        return self


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if float(value).is_integer() and abs(value) < 100:
        text = f"{value:.0f}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def table(results: list[Result]) -> str:
    """The Markdown table docs/performance.md quotes."""
    lines = [
        "| workload | figure | ceiling | ratio | target | met? |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        ceiling = f"{fmt(r.ceiling, r.unit)} ({r.ceiling_label})" if r.ceiling_label else "—"
        ratio = fmt(r.ratio) if r.ratio is not None else "—"
        met = {True: "yes", False: "**no**", None: "—"}[r.met]
        lines.append(
            f"| {r.workload} | {r.figure}: {fmt(r.value, r.unit)} | {ceiling} | {ratio} "
            f"| {r.target or '—'} | {met} |"
        )
    return "\n".join(lines)


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    versions = {"python": platform.python_version()}
    for name in ("Django", "djangorestframework", "gunicorn", "psycopg2-binary"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    for name, argv in {
        "nginx": ["nginx", "-v"],
        "PostgreSQL": ["psql", "--version"],
        "wrk": ["wrk", "--version"],
        "curl": ["curl", "--version"],
    }.items():
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            found = re.search(r"\d+\.\d+(\.\d+)?", out.stdout + out.stderr)
            versions[name] = found.group(0) if found else "unknown"
        except (OSError, subprocess.TimeoutExpired):
            versions[name] = "missing"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "versions": versions,
    }


def save(name: str, results: list[Result], meta: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{stamp}-{name}.json"
    rows = [{**asdict(r), "ratio": r.ratio} for r in results]
    path.write_text(json.dumps({"meta": meta, "results": rows}, indent=2, default=str))
    return path
