"""Workload 3, upload: 1 MiB, 100 MiB and 1 GiB multipart uploads of a WAV file through the
gateway, against nginx alone writing the same request body to disk (bench.ceiling).

The file is a valid WAV (a RIFF header, then silence) of any size, so the media service's
sniffing accepts it as `audio`. Both sides are sent by the same curl command line. The media
workers' peak RSS comes from the kernel's high-water mark (VmHWM, reset before each upload
through /proc/<pid>/clear_refs) and from sampling VmRSS meanwhile.
"""

import contextlib
import json
import re
import statistics
import subprocess
import threading
from pathlib import Path

from bench.ceiling import ceiling_nginx
from bench.harness import Context, log, main
from bench.results import Result
from devstack import processes, samples

MiB = 1024**2
GiB = 1024**3
RSS_TARGET_MB = 120


def curl_upload(url: str, path: Path, *, headers: dict[str, str], fields: dict[str, str]):
    """POST a multipart form with curl; returns (status, seconds, parsed body or None)."""
    argv = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code} %{time_total}", "-H", "Expect:"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    for name, value in fields.items():
        argv += ["-F", f"{name}={value}"]
    argv += ["-F", f"file=@{path};type=audio/wav", url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    body, _, tail = out.stdout.rpartition("\n")
    status, seconds = tail.split()
    try:
        parsed = json.loads(body) if body else None
    except json.JSONDecodeError:
        parsed = {"raw": body[:500]}
    return int(status), float(seconds), parsed


def upload_media(gateway: str, path: Path, *, headers: dict[str, str], name: str):
    """Uploads the WAV at `path` as an audio record through `gateway`; (seconds, the record).
    Anything but a 201 ends the workload."""
    status, seconds, body = curl_upload(
        f"{gateway}/api/media/media/", path, headers=headers, fields={"name": name, "type": "audio"}
    )
    if status != 201:
        raise RuntimeError(f"upload of {name!r} answered {status}: {body}")
    return seconds, body


class PeakRss:
    """The largest RSS of a set of processes while the block runs, in MB (10^6 bytes)."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.sampled_kb = 0
        self.hwm_kb = 0
        self._stop = threading.Event()

    def __enter__(self):
        for pid in self.pids:
            # If it cannot be reset, the high-water mark covers the worker's whole life.
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.hwm_kb = max((processes.status_kib(pid, "VmHWM") for pid in self.pids), default=0)

    def _sample(self):
        while not self._stop.wait(0.02):
            for pid in self.pids:
                self.sampled_kb = max(self.sampled_kb, processes.status_kib(pid, "VmRSS"))

    @property
    def mb(self) -> float:
        return max(self.sampled_kb, self.hwm_kb) * 1024 / 1e6


def gateway_phases(stack, count: int) -> list[dict]:
    """The last `count` uploads as the gateway logged them: its total time and the media
    service's part (`upstream_response_time`); the rest is nginx reading the body first."""
    log_path = stack.var_dir / "gateway" / "logs" / "access.log"
    if not log_path.exists():
        return []
    phases = []
    for line in log_path.read_text().splitlines():
        if '"POST /api/media/media/ ' not in line or " 201 " not in line:
            continue
        total = re.search(r'" 201 \d+ ([\d.]+) ', line)
        upstream = re.search(r"upstream_time=([\d.]+)", line)
        if total and upstream:
            phases.append({"total_s": float(total.group(1)), "media_s": float(upstream.group(1))})
    return phases[-count:]


def run(ctx: Context) -> list[Result]:
    stack = ctx.stack
    sizes = [(MiB, 10), (32 * MiB, 2)] if ctx.quick else [(MiB, 10), (100 * MiB, 3), (GiB, 2)]
    user = ctx.user("upload")
    files = stack.workdir / "upload-src"
    files.mkdir(exist_ok=True)
    results: list[Result] = []
    with ceiling_nginx(stack.workdir / "ceiling", static_root=stack.media_root) as ceiling:
        for size, repeats in sizes:
            label = f"{size // GiB} GiB" if size >= GiB else f"{size // MiB} MiB"
            src = samples.wav_file(files / f"bench-{size}.wav", size)
            mine, base, peaks = [], [], []
            for i in range(repeats):
                status, seconds, _ = curl_upload(
                    f"{ceiling}/upload", src, headers={}, fields={"name": src.name}
                )
                if status != 204:
                    raise RuntimeError(f"ceiling upload answered {status}")
                base.append(seconds)
                workers = stack.workers("media")
                with PeakRss(workers) as peak:
                    seconds, body = upload_media(
                        stack.gateway, src, headers=user.headers, name=f"{label} #{i}"
                    )
                mine.append(seconds)
                peaks.append(peak.mb)
                ctx.big_upload = (body, src)
            mib_s = size / MiB / statistics.median(mine)
            ceiling_mib_s = size / MiB / statistics.median(base)
            phases = gateway_phases(stack, repeats)
            shares = [p["media_s"] / p["total_s"] for p in phases if p["total_s"]]
            media_share = statistics.median(shares) if shares else float("nan")
            log(
                f"upload: {label}: {mib_s:.0f} MiB/s vs nginx alone {ceiling_mib_s:.0f} MiB/s, "
                f"peak RSS {max(peaks):.0f} MB, media service {media_share:.0%} of the time"
            )
            raw = {
                "seconds": mine,
                "ceiling_seconds": base,
                "peak_rss_mb": peaks,
                "gateway_phases": phases,
            }
            is_largest = size == sizes[-1][0]
            results.append(
                Result(
                    "3 upload",
                    f"{label} multipart (media service {media_share:.0%} of the time)",
                    mib_s,
                    "MiB/s",
                    ceiling=ceiling_mib_s,
                    ceiling_label="nginx alone to disk",
                    target="≥ 0.5 x nginx alone" if is_largest else "",
                    target_ratio=0.5 if is_largest else None,
                    extra=raw,
                )
            )
            results.append(
                Result(
                    "3 upload",
                    f"{label}: media worker peak RSS",
                    max(peaks),
                    "MB",
                    target=f"≤ {RSS_TARGET_MB} MB",
                    met=max(peaks) <= RSS_TARGET_MB,
                )
            )
            if not is_largest:
                src.unlink()  # the largest stays for the download workload; tmp goes at the end
    return results


if __name__ == "__main__":
    raise SystemExit(main(("upload",)))
