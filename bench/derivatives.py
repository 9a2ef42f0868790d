"""Workload 6, derivatives: 12-megapixel JPEGs made into thumbnails and previews.

1. Throughput per core: the job worker's own function (media_handler.files.imaging: one decode
   at the smallest DCT scale the 1440 px preview allows, then the preview, the 320 px WebP
   thumbnail and the ThumbHash placeholder) over the same files as `vipsthumbnail` (libvips,
   Debian's `libvips-tools`, installed when missing) making 320 px thumbnails, one process and
   one thread each (VIPS_CONCURRENCY=1), alternately, in the same run. A second row compares
   with vipsthumbnail making both sizes, the same work as ours.
2. Latency through the gateway: 12 MP uploads, 4 in flight, each timed from its 201 to the
   moment `GET media/<id>/` says `processing: ready` (polled every 50 ms), with the stack's own
   worker (run_with_gateway.sh's two processes). p50 and p99.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from PIL import Image

from bench.harness import Context, log, main
from bench.results import Result
from devstack import REPO, client

sys.path.insert(0, str(REPO / "backend_server"))
# The worker's own code, which needs no Django settings.
from media_handler.files import imaging

MEGAPIXELS_12 = (4000, 3000)
IN_FLIGHT = 4
POLL_SECONDS = 0.05


def ensure_vips() -> str:
    if shutil.which("vipsthumbnail") is None:
        log("derivatives: installing libvips-tools for vipsthumbnail")
        subprocess.run(["apt-get", "install", "-y", "-qq", "libvips-tools"], check=True)
    return shutil.which("vipsthumbnail") or "vipsthumbnail"


def photo_12mp(path: Path, seed: int) -> Path:
    """A 4000x3000 JPEG (quality 90) of gradients under sensor-like noise: about 4 MB, what a
    phone's 12 MP photo weighs."""
    width, height = MEGAPIXELS_12
    noise = Image.effect_noise((width, height), 24 + seed)
    red = Image.blend(Image.linear_gradient("L").resize((width, height)), noise, 0.3)
    green = Image.blend(Image.radial_gradient("L").resize((width, height)), noise, 0.2)
    Image.merge("RGB", (red, green, noise)).save(path, quality=90)
    return path


def ours_per_second(files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        imaging.make_pictures(imaging.open_picture(str(path), max_pixels=10**9))
    return len(files) / (time.perf_counter() - started)


def vips_per_second(vips: str, files: list[Path], out: Path, sizes: tuple[str, ...]) -> float:
    env = {**os.environ, "VIPS_CONCURRENCY": "1"}
    started = time.perf_counter()
    for size in sizes:
        # One process for all the files, as a batch thumbnailer runs; the formats and
        # qualities ours writes (a WebP thumbnail, a JPEG preview).
        output = f"%s-{size}.webp[Q=80]" if size == "320" else f"%s-{size}.jpg[Q=85]"
        subprocess.run(
            [vips, "-s", size, "-o", f"{out}/{output}", *map(str, files)], check=True, env=env
        )
    return len(files) / (time.perf_counter() - started)


def throughput(ctx: Context, files: list[Path]) -> list[Result]:
    vips = ensure_vips()
    out = Path(tempfile.mkdtemp(prefix="bench-vips-"))
    rounds = 2 if ctx.quick else 4
    ours, vips_thumbnail, vips_both = [], [], []
    try:
        ours_per_second(files[:1])  # imports, first-use costs
        for _ in range(rounds):
            ours.append(ours_per_second(files))
            vips_thumbnail.append(vips_per_second(vips, files, out, ("320",)))
            vips_both.append(vips_per_second(vips, files, out, ("320", "1440")))
            log(f"derivatives: ours {ours[-1]:.2f}/s, vipsthumbnail {vips_thumbnail[-1]:.2f}/s")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    value = statistics.median(ours)
    return [
        Result(
            "derivatives",
            "12 MP JPEG -> thumbnail + preview + placeholder, per core",
            value,
            "files/s",
            ceiling=statistics.median(vips_thumbnail),
            ceiling_label="vipsthumbnail 320 px",
            target=">= 0.5x",
            target_ratio=0.5,
            extra={"ours": ours, "vips_thumbnail": vips_thumbnail},
        ),
        Result(
            "derivatives",
            "the same, against vipsthumbnail making both sizes",
            value,
            "files/s",
            ceiling=statistics.median(vips_both),
            ceiling_label="vipsthumbnail 320 + 1440 px",
            extra={"vips_both": vips_both},
        ),
    ]


def latency(ctx: Context, files: list[Path]) -> list[Result]:
    stack = ctx.stack
    user = ctx.user("derivatives")
    count = 12 if ctx.quick else 40
    headers = user.headers
    lock = threading.Lock()
    seconds: list[float] = []

    def one(index: int) -> None:
        content = files[index % len(files)].read_bytes()
        with requests.Session() as http:
            response = client.upload(
                http, stack.gateway, user.access, content, name=f"photo {index}", filename="p.jpg"
            )
            answered = time.perf_counter()
            media = client.expect(response, 201).json()
            url = f"{stack.gateway}/api/media/media/{media['id']}/"
            deadline = answered + 120
            while time.perf_counter() < deadline:
                state = http.get(url, headers=headers, timeout=10).json()["processing"]
                if state != "pending":
                    break
                time.sleep(POLL_SECONDS)
            else:
                raise RuntimeError(f"media {media['id']} still pending after 120 s")
            if state != "ready":
                raise RuntimeError(f"media {media['id']} is {state}")
            with lock:
                seconds.append(time.perf_counter() - answered)

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        list(pool.map(one, range(count)))
    seconds.sort()
    p50 = statistics.median(seconds)
    p99 = seconds[min(len(seconds) - 1, round(0.99 * (len(seconds) - 1)))]
    log(f"derivatives: 201 -> ready p50 {p50:.2f} s, p99 {p99:.2f} s over {count}")
    return [
        Result(
            "derivatives",
            f"12 MP upload 201 -> ready, {IN_FLIGHT} in flight, p50",
            p50,
            "s",
            extra={"seconds": seconds},
        ),
        Result("derivatives", f"the same, p99 of {count}", p99, "s"),
    ]


def run(ctx: Context) -> list[Result]:
    workdir = ctx.stack.workdir / "derivatives"
    workdir.mkdir(exist_ok=True)
    files = [photo_12mp(workdir / f"photo-{n}.jpg", n) for n in range(4 if ctx.quick else 8)]
    return throughput(ctx, files) + latency(ctx, files)


if __name__ == "__main__":
    sys.exit(main(default=("derivatives",)))
