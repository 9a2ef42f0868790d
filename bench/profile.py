"""Where a media worker's time goes under load: py-spy samples every media gunicorn worker
while wrk (or curl, for an upload) drives one endpoint through the gateway, then the samples
are summed into the top functions by own time and by inclusive time.

    python -m bench.profile list [--seconds 10] [--records 10000]
    python -m bench.profile upload [--size-mib 100]

Collapsed stacks are kept in bench/results/profile-<target>.txt (flamegraph.pl or speedscope
read them).
"""

import argparse
import collections
import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from bench import seed, upload, wrk
from bench.harness import new_user, running
from bench.results import RESULTS_DIR
from devstack import samples
from devstack.databases import query

TARGETS = ("list", "detail", "create", "ping", "upload")


def _short(frame: str) -> str:
    """`func (path/to/site-packages/pkg/mod.py:12)` -> `func (pkg/mod.py:12)`."""
    return re.sub(r"\((?:[^()]*/(?:site-packages|work/main)/)", "(", frame)


def summarize(raw: Path, top: int = 25) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text:
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack_text.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples", "", "own time:"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines += ["", "inclusive time:"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--size-mib", type=int, default=100)
    args = parser.parse_args()
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(pyspy).exists():
        raise SystemExit("py-spy is missing: pip install -r requirements-dev.txt")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"profile-{args.target}.txt"
    with running() as stack:
        user = new_user(stack, "profile")
        seed.media_rows(stack, user_id=user.id, count=args.records)
        first_id = query(
            stack.databases.media_url,
            'SELECT id FROM media_handler_media WHERE "user" = %s LIMIT 1',
            (user.id,),
        )[0][0]
        headers = user.headers
        paths = {
            "list": "/api/media/media/?page_size=10",
            "detail": f"/api/media/media/{first_id}/",
            "create": "/api/media/media/",
            "ping": "/api/media/ping/",
        }
        if args.target != "upload":
            # Every worker imports lazily on its first requests: profile a warm stack.
            wrk.run(stack.gateway + paths[args.target], seconds=3, connections=8, headers=headers)
        workers = stack.workers("media")
        raws = [stack.workdir / f"pyspy-{pid}.txt" for pid in workers]
        seconds = args.seconds + (0 if args.target != "upload" else 60)
        spies = [
            subprocess.Popen(
                [
                    pyspy,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(seconds),
                    "--rate",
                    "250",
                    "--format",
                    "raw",
                    "--output",
                    str(path),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid, path in zip(workers, raws, strict=True)
        ]
        if args.target == "upload":
            src = samples.wav_file(stack.workdir / "profile.wav", args.size_mib * upload.MiB)
            for i in range(3):
                upload.curl_upload(
                    f"{stack.gateway}/api/media/media/",
                    src,
                    headers=headers,
                    fields={"name": f"profile {i}", "type": "audio"},
                )
        else:
            kw: dict = {"headers": headers}
            path = paths[args.target]
            if args.target == "create":
                kw = {
                    "method": "POST",
                    "headers": {**headers, "Content-Type": "application/json"},
                    "body": json.dumps({"name": "p", "type": "image", "size": 1}),
                }
            r = wrk.run(stack.gateway + path, seconds=args.seconds, connections=8, **kw)
            print(f"{args.target}: {r.rps:.0f} req/s under py-spy", file=sys.stderr)
        for spy in spies:
            if args.target == "upload":
                spy.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
            spy.wait(timeout=seconds + 30)
        with out.open("w") as merged:
            for path in raws:
                if path.exists():
                    merged.write(path.read_text())
    print(summarize(out))
    print(f"\ncollapsed stacks: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
