"""wrk (the Debian package) driven by a generated Lua script: headers, a body, a set of paths,
and a `done` hook that prints the summary as one JSON line this module parses."""

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MARK = "BENCH_JSON "

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,'
    .. '"max_us":%d}\n',
    "__MARK__", summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
"""


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    errors: int
    non_2xx: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return (self.requests - self.errors - self.non_2xx) / self.duration_s

    def as_dict(self) -> dict:
        return {**self.__dict__, "rps": round(self.rps, 1)}


def ensure_installed() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: sudo apt-get install -y wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=False).returncode:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=True, timeout=300)


def _lua(
    method: str,
    headers: dict[str, str],
    body: str | None,
    paths: list[str] | None,
    unique_param: str | None = None,
) -> str:
    parts = [f"wrk.method = {json.dumps(method)}"]
    for name, value in headers.items():
        parts.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    if body is not None:
        # Lua long brackets keep the JSON body verbatim.
        parts.append(f"wrk.body = [==[{body}]==]")
    if paths:
        listed = ", ".join(json.dumps(p) for p in paths)
        parts.append(f"local paths = {{{listed}}}")
        parts.append("local n = 0")
        parts.append(
            "request = function() n = n + 1; return wrk.format(nil, paths[(n % #paths) + 1]) end"
        )
    if unique_param:
        # Every request a URL of its own (`&<param>=<n>`, a parameter the view ignores), so no
        # response can come from a cache.
        parts.append("local n = 0")
        parts.append(
            "request = function() n = n + 1; "
            f"return wrk.format(nil, wrk.path .. {json.dumps('&' + unique_param + '=')} .. n) end"
        )
    parts.append(_DONE.replace("__MARK__", MARK))
    return "\n".join(parts) + "\n"


def run(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    paths: list[str] | None = None,
    unique_param: str | None = None,
    timeout_s: int = 10,
) -> WrkResult:
    """One bounded wrk run against a loopback URL; raises if wrk fails or prints no summary."""
    assert url.startswith(("http://127.0.0.1", "http://localhost")), "loopback only"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(method, headers or {}, body, paths, unique_param))
    try:
        argv = [
            "wrk",
            f"-t{threads}",
            f"-c{max(connections, threads)}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={timeout_s}s",
            "-s",
            script.name,
            url,
        ]
        out = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next((x for x in out.stdout.splitlines() if x.startswith(MARK)), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    raw = json.loads(line[len(MARK) :])
    return WrkResult(
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        non_2xx=raw["status"],
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )
