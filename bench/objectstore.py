"""Workload 8, object storage (MEDIA_STORAGE=s3, docs/scaling.md): a second stack keeps its files
in a bucket of moto's S3 server (devstack.object_store: a real HTTP server on loopback), beside
the measured stack, which keeps them on disk. In the same run:

- upload: a 1 GiB WAV through the gateway into the bucket (sent as multipart parts while the body
  arrives) against boto3's own `upload_file` of the same file to the same server (its default
  transfer: 8 MiB parts, 10 threads), and against the same upload to local disk (three rounds,
  the first two taking turns at going first, each once the job worker is done with the last
  upload; against boto3 the figure is the round with the median ratio); the media workers'
  peak RSS meanwhile; and the same file as a resumable (tus)
  upload in 8 MiB chunks, whose bytes wait in the bucket (one object per chunk, joined at the
  end: docs/scaling.md), against the multipart upload into the bucket (a figure, no target).
  The bucket's stack has a Redis database of its own (BENCH_SECOND_REDIS_URL, index 8);
- download: the file through its signed URL (the service checks the signature, nginx fetches a
  presigned URL from the store and streams it) against the presigned URL fetched straight from
  the store, and against the local stack's signed URL; the same signed URL through a gateway
  over a node with S3_REDIRECT_DOWNLOADS=true (a 302 to a presigned URL, followed); Range
  requests at random offsets, checked byte for byte. The log splits each side's fastest
  download into the seconds to its first byte and those for the rest;
- two media nodes against one: the list's throughput through a gateway with both nodes in its
  upstream against the stack's own gateway with one (2 cores: expect no gain); three rounds,
  the two taking turns at going first, the figure from the round with the median ratio.
"""

import dataclasses
import random
import statistics
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bench import upload, wrk
from bench.download import curl_download
from bench.harness import SECOND_REDIS_URL, Context, log, main, new_user, stack_spec
from bench.results import Result
from bench.rounds import median_round, quiesce_memory
from bench.sync import CHUNK, tus_upload
from devstack import Ports, StackSpec, client, object_store, running, samples
from devstack.nodes import extra_node_behind_gateway

RANGE_CHECKS = 25
# Untimed requests to each download URL before any is timed: more than a node's threads.
WARM_UPS = 40
LIST = "/api/media/media/?page_size=10"
CONNECTIONS = 8


def s3_stack_spec(workdir: Path, store: object_store.ObjectStore) -> StackSpec:
    spec = stack_spec(workdir, redis_url=SECOND_REDIS_URL)
    return dataclasses.replace(
        spec,
        label="bench-s3",
        ports=Ports(3710, 8710, 8711),
        env={**spec.env, **store.env(prefix="bench")},
    )


def run(ctx: Context) -> list[Result]:
    workdir = ctx.stack.workdir / "object-storage"
    with (
        object_store.running(workdir / "store") as store,
        running(s3_stack_spec(workdir / "stack", store)) as s3_stack,
    ):
        size = 64 * upload.MiB if ctx.quick else upload.GiB
        src = samples.wav_file(workdir / f"bench-{size}.wav", size)
        results, record = _uploads(ctx, s3_stack, store, src)
        results += _downloads(ctx, s3_stack, store, src, record, workdir)
        results += _two_nodes(ctx, s3_stack, workdir)
        src.unlink()
        return results


def _label(size: int) -> str:
    return f"{size / upload.GiB:.0f} GiB" if size >= upload.GiB else f"{size // upload.MiB} MiB"


def _uploads(ctx: Context, s3_stack, store, src: Path) -> tuple[list[Result], dict]:
    size = src.stat().st_size
    repeats = 1 if ctx.quick else 3
    boto3_client = store.client()
    s3_seconds, boto_seconds, local_seconds, peaks = [], [], [], []
    record: dict = {}

    def boto3_upload(i: int) -> None:
        started = time.monotonic()
        boto3_client.upload_file(str(src), store.bucket, f"bench-ceiling/{i}.wav")
        boto_seconds.append(time.monotonic() - started)
        boto3_client.delete_object(Bucket=store.bucket, Key=f"bench-ceiling/{i}.wav")

    def our_upload(i: int) -> None:
        nonlocal record
        # Each round's uploads are another user's: the same bytes from the same user are stored
        # once (SPEC.md, duplicates), and a second round would measure an upload whose multipart
        # upload is aborted at the end instead of completed (the store never joins its parts).
        s3_user = new_user(s3_stack, f"s3-upload-{i}")
        with upload.PeakRss(s3_stack.workers("media")) as peak:
            seconds, body = upload.upload_media(
                s3_stack.gateway, src, headers=s3_user.headers, name=f"s3 #{i}"
            )
        s3_seconds.append(seconds)
        peaks.append(peak.mb)
        record = body
        # The job worker reads the file back from the store (1 GiB out of moto) to probe it:
        # done before the next upload starts, else it competes with that one for moto and the
        # two cores (a boto3 round after it took 15 s instead of 9).
        client.settled(s3_stack.gateway, s3_user.access, body["id"], timeout=600)

    for i in range(repeats):
        # The two take turns at going first, each from the same state (quiesce_memory): an
        # upload right after boto3's, whose object is deleted (1 GiB freed in moto), ran on
        # memory moto still held, one right after the local upload did not, and ours came
        # after the local upload in every second round (docs/performance.md, ninth session).
        for measured in (boto3_upload, our_upload) if i % 2 == 0 else (our_upload, boto3_upload):
            quiesce_memory()
            measured(i)
        quiesce_memory()
        local_user = ctx.user(f"upload-{i}")
        seconds, body = upload.upload_media(
            ctx.stack.gateway, src, headers=local_user.headers, name=f"local #{i}"
        )
        local_seconds.append(seconds)
        ctx.big_upload = (body, src) if ctx.big_upload is None else ctx.big_upload
        client.settled(ctx.stack.gateway, local_user.access, body["id"], timeout=600)

    # Resumable, its chunks kept in the bucket until the last one (once: a figure).
    tus_user = new_user(s3_stack, "s3-tus")
    with upload.PeakRss(s3_stack.workers("media")) as tus_peak:
        tus_seconds, _, _ = tus_upload(s3_stack.gateway, tus_user.headers, src, size, "s3 tus")

    mib = size / upload.MiB
    s3_mib_s, boto_mib_s, local_mib_s = (
        mib / statistics.median(seconds) for seconds in (s3_seconds, boto_seconds, local_seconds)
    )
    # Against boto3: the round with the median paired ratio (the two ran back to back).
    middle, ratios = median_round(
        [mib / seconds for seconds in s3_seconds], [mib / seconds for seconds in boto_seconds]
    )
    tus_mib_s = mib / tus_seconds
    label = _label(size)
    log(
        f"objectstore: upload {label}: into the bucket {s3_mib_s:.0f} MiB/s, boto3 "
        f"upload_file {boto_mib_s:.0f} MiB/s (medians; paired ratios "
        f"{', '.join(f'{ratio:.2f}' for ratio in ratios)}), to local disk {local_mib_s:.0f} MiB/s; "
        f"peak RSS {max(peaks):.0f} MB; tus in {CHUNK // upload.MiB} MiB chunks into the "
        f"bucket {tus_mib_s:.0f} MiB/s, peak RSS {tus_peak.mb:.0f} MB"
    )
    raw = {
        "s3": s3_seconds,
        "boto3": boto_seconds,
        "local": local_seconds,
        "rss_mb": peaks,
        "tus": tus_seconds,
        "tus_rss_mb": tus_peak.mb,
        "ratios": ratios,
        "round": middle,
    }
    return [
        Result(
            "8 object storage",
            f"{label} upload through the gateway into the bucket (the round with the median "
            f"ratio of {repeats})",
            mib / s3_seconds[middle],
            "MiB/s",
            ceiling=mib / boto_seconds[middle],
            ceiling_label="boto3 upload_file, same server, same round",
            target="≥ 0.8 x boto3",
            target_ratio=0.8,
            extra=raw,
        ),
        Result(
            "8 object storage",
            f"{label} upload into the bucket vs to local disk (medians of the same run)",
            s3_mib_s,
            "MiB/s",
            ceiling=local_mib_s,
            ceiling_label="the same upload, MEDIA_STORAGE=local",
        ),
        Result(
            "8 object storage",
            f"{label} resumable (tus) upload in {CHUNK // upload.MiB} MiB chunks into the bucket",
            tus_mib_s,
            "MiB/s",
            ceiling=s3_mib_s,
            ceiling_label="the multipart upload into the bucket",
        ),
        Result(
            "8 object storage",
            f"{label} upload into the bucket: media worker peak RSS",
            max(peaks),
            "MB",
            target=f"≤ {upload.RSS_TARGET_MB} MB",
            met=max(peaks) <= upload.RSS_TARGET_MB,
        ),
    ], record


def _downloads(
    ctx: Context, s3_stack, store, src: Path, record: dict, workdir: Path
) -> list[Result]:
    """`record` is the bucket's copy as its upload answered (its signed URL on the gateway).
    Besides the default (nginx streams the presigned URL), the same signed URL through a
    gateway whose media node has S3_REDIRECT_DOWNLOADS=true: a 302 to the presigned URL, which
    curl follows to the store."""
    with extra_node_behind_gateway(
        s3_stack, workdir, with_stack_node=False, env={"S3_REDIRECT_DOWNLOADS": "true"}
    ) as redirecting:
        return _download_figures(ctx, store, src, record, redirecting.gateway)


def _download_figures(
    ctx: Context, store, src: Path, record: dict, redirecting: str
) -> list[Result]:
    size = src.stat().st_size
    repeats = 3 if ctx.quick else 5
    key = f"bench/{record['storage_path']}"
    presigned = store.client().generate_presigned_url(
        "get_object", Params={"Bucket": store.bucket, "Key": key}, ExpiresIn=3600
    )
    signed = record["file"]
    # The same signed URL on the redirecting gateway (a signature covers the media, the file
    # and the expiry, not the host).
    redirected = urlsplit(signed)._replace(netloc=urlsplit(redirecting).netloc).geturl()
    local_record, _ = ctx.big_upload or ({}, None)
    local_signed = local_record.get("file")
    sides = [("signed", signed, []), ("presigned", presigned, []), ("redirect", redirected, [])]
    if local_signed:
        sides.append(("local", local_signed, []))
    # Each side's seconds to the first byte, beside its seconds to the last (`sides`): moto
    # reads an object whole before it sends any of it (docs/performance.md, object storage).
    first_bytes: dict[str, list[float]] = {name: [] for name, _, _ in sides}
    with requests.Session() as http:
        # The redirect itself: a 302 to the store, cacheable only while its presigned URL lasts.
        answer = http.get(redirected, allow_redirects=False, timeout=30)
        if answer.status_code != 302 or "max-age=" not in answer.headers.get("Cache-Control", ""):
            raise RuntimeError(f"redirecting node: {answer.status_code} {answer.headers}")
        # Untimed requests first, so that the timed ones meet workers (and request threads)
        # that have signed a URL before; most if not all of both nodes' are reached.
        for _ in range(WARM_UPS):
            for url in (signed, redirected):
                http.get(url, headers={"Range": "bytes=0-0"}, timeout=30).raise_for_status()
    for n in range(repeats):
        for name, url, seconds_list in sides if n % 2 == 0 else sides[::-1]:
            status, seconds, got, first_byte = curl_download(url, follow=name == "redirect")
            if status != 200 or got != size:
                raise RuntimeError(f"{name} download: {status}, {got} of {size} bytes")
            seconds_list.append(seconds)
            first_bytes[name].append(first_byte)
    fastest = {name: size / upload.MiB / min(seconds) for name, _, seconds in sides}
    split = [_first_byte_and_rest(name, seconds, first_bytes[name]) for name, _, seconds in sides]
    log(f"objectstore: download, seconds to the first byte + the rest: {', '.join(split)}")

    rng = random.Random(8)
    wrong = []
    with src.open("rb") as source, requests.Session() as http:
        for n in range(RANGE_CHECKS):
            start = rng.randrange(size)
            end = min(size - 1, start + rng.randrange(1, 256 * 1024))
            # Every fifth through the redirect (requests follows it, Range kept).
            url = redirected if n % 5 == 4 else signed
            response = http.get(url, headers={"Range": f"bytes={start}-{end}"}, timeout=30)
            source.seek(start)
            if response.status_code != 206 or response.content != source.read(end - start + 1):
                wrong.append((url == redirected, start, end, response.status_code))
    label = _label(size)
    log(f"objectstore: download {label}, fastest MiB/s: {fastest}; wrong ranges: {wrong[:5]}")

    def against_presigned(name: str, how: str, **extra) -> Result:
        return Result(
            "8 object storage",
            f"{label} download via signed URL {how}, fastest of {repeats}",
            fastest[name],
            "MiB/s",
            ceiling=fastest["presigned"],
            ceiling_label="presigned URL straight from the store",
            target="≥ 0.9 x presigned",
            target_ratio=0.9,
            extra=extra,
        )

    results = [
        against_presigned(
            "signed",
            "from the bucket",
            **{name: seconds for name, _, seconds in sides},
            first_byte_seconds=first_bytes,
        ),
        against_presigned("redirect", "with S3_REDIRECT_DOWNLOADS=true (302, then the store)"),
        Result(
            "8 object storage",
            "Range requests from the bucket, random offsets (one in five redirected), right bytes",
            RANGE_CHECKS - len(wrong),
            f"of {RANGE_CHECKS}",
            target="all",
            met=not wrong,
            extra={"wrong": wrong},
        ),
    ]
    if "local" in fastest:
        results.append(
            Result(
                "8 object storage",
                f"{label} download from the bucket vs from local disk (same run)",
                fastest["signed"],
                "MiB/s",
                ceiling=fastest["local"],
                ceiling_label="the same download, MEDIA_STORAGE=local",
            )
        )
    return results


def _first_byte_and_rest(name: str, seconds: list[float], first_bytes: list[float]) -> str:
    """`name`'s fastest download, as seconds to its first byte + seconds for the rest."""
    fastest = seconds.index(min(seconds))
    first_byte = first_bytes[fastest]
    return f"{name} {first_byte:.2f} + {seconds[fastest] - first_byte:.2f}"


def _two_nodes(ctx: Context, s3_stack, workdir: Path) -> list[Result]:
    user = new_user(s3_stack, "s3-list")
    headers = {**user.headers, "Accept": "application/json"}
    with extra_node_behind_gateway(s3_stack, workdir) as node:
        two = node.gateway
        seconds = ctx.seconds(10)
        rounds = 1 if ctx.quick else 3
        one_rps, two_rps = [], []
        for base in (s3_stack.gateway, two):
            wrk.run(base + LIST, seconds=2, connections=CONNECTIONS, headers=headers)  # warm-up
        sides = [(s3_stack.gateway, one_rps), (two, two_rps)]
        for i in range(rounds):
            # The two take turns at going first: the machine's speed drifts, by a fifth from
            # one 10 s run to the next at times (one 307, 310 then 234 req/s in a row).
            for base, rps in sides if i % 2 == 0 else sides[::-1]:
                result = wrk.run(
                    base + LIST,
                    seconds=seconds,
                    connections=CONNECTIONS,
                    headers=headers,
                    unique_param="fresh",
                )
                if result.errors or result.non_2xx:
                    raise RuntimeError(f"list through {base}: {result}")
                rps.append(result.rps)
    middle, ratios = median_round(two_rps, one_rps)
    one, two_nodes = one_rps[middle], two_rps[middle]
    log(
        f"objectstore: list, one node {one:.0f}/s, two nodes {two_nodes:.0f}/s (round "
        f"{middle + 1}, ratios {', '.join(f'{ratio:.2f}' for ratio in ratios)})"
    )
    return [
        Result(
            "8 object storage",
            f"list through two media nodes ({CONNECTIONS} connections, fresh pages; the round "
            f"with the median ratio of {rounds})",
            two_nodes,
            "req/s",
            ceiling=one,
            ceiling_label="one media node",
            target="≥ 0.9 x one node (2 cores: no gain expected)",
            target_ratio=0.9,
            extra={"one": one_rps, "two": two_rps},
        )
    ]


if __name__ == "__main__":
    raise SystemExit(main(("objectstore",)))
