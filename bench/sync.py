"""Workload 8, phone backup (issue 16): a resumable (tus) upload against a single multipart
upload of the same file, bulk-check of 1,000 checksums, and a page of the change feed.

- tus: the file (1 GiB; 64 MiB with --quick) created with POST uploads/, then sent in 8 MiB
  PATCHes through the gateway, one after another as a phone's client sends them; its ceiling is
  the same file as one multipart POST through the gateway (curl), in the same run: three rounds,
  each taking its turn at going first, each from the same state (bench.rounds.quiesce_memory),
  the figure from the round with the median ratio. The media workers' peak RSS is measured
  during the tus upload. In the same rounds, the same upload in 32 MiB PATCHes (a figure
  without a target: a client's chunk size is its own choice), against the same multipart runs.
- a PATCH's turn-around: p50 of PATCHes of 1 KiB through the gateway, what each of the upload's
  chunks costs apart from its bytes; its ceiling is the p50 of HEAD of the same upload (the
  smallest request of the same view), in the same run. The log sets the chunks' total of it
  beside the time between the tus upload and the multipart one.
- bulk-check: POST media/bulk-check/ with 1,000 checksums (half of them the caller's) for a user
  owning 100,000 media (10,000 with --quick), p50 of sequential requests; its ceiling is the
  p50 of the same user's first list page (10 items), in the same run.
- change feed: GET changes/?limit=500 from a cursor in the middle of 1,000,000 changes (100,000
  with --quick) of one user (seeded in bulk, each naming one of their media), p50; the ceiling
  is the p50 of the same user's list page of 100 items.
"""

import base64
import hashlib
import json
import statistics
import time

import requests

from bench import seed
from bench.harness import Context, log, main
from bench.results import Result
from bench.rounds import median_round, quiesce_memory
from bench.upload import PeakRss, upload_media
from devstack import client, samples
from devstack.databases import query

MiB = 1024**2
GiB = 1024**3
CHUNK = 8 * MiB
# A tus client's chunk size is its own choice (tus-js-client's chunkSize, tuspy's chunk_size):
# the same upload in fewer PATCHes shows how much of the gap to multipart is per request.
LARGE_CHUNK = 32 * MiB
# The ways the file is sent in each round, and the tus ones' chunk sizes.
KINDS = ("multipart", "tus", "tus-large")
CHUNKS = {"tus": CHUNK, "tus-large": LARGE_CHUNK}
RSS_TARGET_MB = 120
# More than the media service's request threads (5 workers of 4 here).
TURNAROUND_WARM_UPS = 40


def tus_upload(
    base: str, headers: dict[str, str], path, size: int, name: str, *, chunk: int = CHUNK
) -> tuple[float, str, list[float]]:
    """Create and send the file in `chunk`-sized PATCHes; (seconds, media id, each request's
    seconds: the creation, then every PATCH, the last one making the media)."""
    started = time.perf_counter()
    steps: list[float] = []
    with requests.Session() as http:
        metadata = client.tus_metadata(name=name, type="audio")
        url = client.tus_create(http, base, headers, length=size, metadata=metadata, timeout=60)
        steps.append(time.perf_counter() - started)
        offset = 0
        media_id = ""
        # Each chunk is read into one buffer, reused, and sent from it (as curl, the ceiling's
        # client, does): a new 8 MiB string per chunk cost this client about a tenth of the
        # throughput in page faults and copies, time the server spent waiting.
        buffer = bytearray(chunk)
        view = memoryview(buffer)
        with path.open("rb") as source:
            while offset < size:
                length = source.readinto(buffer)
                sent = time.perf_counter()
                answer = client.tus_patch(
                    http, url, headers, offset=offset, data=view[:length], timeout=600
                )
                steps.append(time.perf_counter() - sent)
                offset = int(answer.headers["Upload-Offset"])
                media_id = answer.headers.get("Media-Id", media_id)
    if not media_id:
        raise RuntimeError("the last PATCH carried no Media-Id")
    return time.perf_counter() - started, media_id, steps


def patch_turnaround_ms(base: str, headers: dict[str, str], repeats: int) -> tuple[float, float]:
    """p50 of a PATCH of 1 KiB and of a HEAD of the same upload: what a PATCH costs apart from
    its bytes (the request, its hold and offset in the database, the answer), against the
    smallest request the same view answers. The upload is terminated afterwards."""
    piece = b"\0" * 1024
    with requests.Session() as http:
        # A KiB more than is ever sent: the upload never finishes (a file of zeros would be
        # refused, and the upload with it).
        length = (TURNAROUND_WARM_UPS + repeats + 2) * len(piece)
        metadata = client.tus_metadata(name="turn-around", type="audio")
        url = client.tus_create(http, base, headers, length=length, metadata=metadata)
        offset = 0

        def patch() -> None:
            nonlocal offset
            answer = client.tus_patch(http, url, headers, offset=offset, data=piece)
            offset = int(answer.headers["Upload-Offset"])

        def head() -> None:
            client.expect(http.head(url, headers={**headers, **client.TUS}, timeout=60), 200)

        # Untimed first: each of the media workers' request threads meets its first request
        # with imports and a database connection still to make.
        for _ in range(TURNAROUND_WARM_UPS):
            patch()
            head()
        patch_ms = p50_ms(patch, repeats)
        head_ms = p50_ms(head, repeats)
        client.expect(http.delete(url, headers={**headers, **client.TUS}, timeout=60), 204)
    return patch_ms, head_ms


def against_multipart(
    figure: str,
    tus_runs: list[float],
    multipart_runs: list[float],
    size: int,
    *,
    steps: list[list[float]] | None = None,
    **target,
) -> tuple[int, Result]:
    """The round with the median ratio of a tus upload's speed to the multipart upload's (the
    two ran in the same round, from the same state), and its figure, `target` its target."""
    middle, ratios = median_round(
        [size / MiB / seconds for seconds in tus_runs],
        [size / MiB / seconds for seconds in multipart_runs],
    )
    log(f"sync: {figure} vs multipart, round by round: {', '.join(f'{r:.2f}' for r in ratios)}")
    extra = {
        "tus_seconds": tus_runs,
        "multipart_seconds": multipart_runs,
        "ratios": ratios,
        "round": middle,
    }
    if steps is not None:
        extra["tus_steps"] = steps
    return middle, Result(
        "8 sync",
        f"{figure} (the round with the median ratio of {len(tus_runs)})",
        size / MiB / tus_runs[middle],
        "MiB/s",
        ceiling=size / MiB / multipart_runs[middle],
        ceiling_label="one multipart upload, same round",
        extra=extra,
        **target,
    )


def forget(stack, media_id: str) -> None:
    query(stack.databases.media_url, "DELETE FROM media_handler_media WHERE id = %s", (media_id,))


def p50_ms(call, repeats: int) -> float:
    call()  # warm-up
    took = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


def expect_ok(response: requests.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url} answered {response.status_code}")


def run(ctx: Context) -> list[Result]:
    stack = ctx.stack
    results: list[Result] = []

    # tus vs multipart
    size = 64 * MiB if ctx.quick else GiB
    label = f"{size // GiB} GiB" if size >= GiB else f"{size // MiB} MiB"
    files = stack.workdir / "sync-src"
    files.mkdir(exist_ok=True)
    # Another file than bench.upload's: the same bytes would be stored once (no write at all).
    src = samples.wav_file(files / f"sync-{size}.wav", size)
    user = ctx.user("sync-tus")
    # Untimed first: a worker thread's first request opens its database connection and warms
    # what it imports lazily (the first creation and PATCH took 0.3-0.4 s each, a tenth of a
    # 1 GiB upload here), which the multipart upload, one request, pays once at most.
    warm_size = min(size, 128 * MiB)
    warm = samples.wav_file(files / "sync-warm-up.wav", warm_size)
    forget(stack, upload_media(stack.gateway, warm, headers=user.headers, name="warm-up")[1]["id"])
    forget(stack, tus_upload(stack.gateway, user.headers, warm, warm_size, "warm-up")[1])
    warm.unlink()
    repeats = 3
    runs: dict[str, list[float]] = {kind: [] for kind in KINDS}
    peaks, all_steps = [], []
    for index in range(repeats):
        # Each takes its turn at going first, and each starts from the same state
        # (quiesce_memory): the bytes written before it on the disk (the upload that went
        # second paid for the first one's 1 GiB being written back, so far always the tus one)
        # and the memory freed before it back with the VM's host. What is compared is the
        # ways of sending a file, not the disk's bandwidth or the memory's.
        for kind in KINDS[index % len(KINDS) :] + KINDS[: index % len(KINDS)]:
            quiesce_memory()
            if kind == "multipart":
                seconds, body = upload_media(
                    stack.gateway, src, headers=user.headers, name=f"multipart #{index}"
                )
                media_id = body["id"]
            else:
                # Both tus uploads have the same observer; the figure keeps the 8 MiB one's.
                with PeakRss(stack.workers("media")) as peak:
                    seconds, media_id, steps = tus_upload(
                        stack.gateway,
                        user.headers,
                        src,
                        size,
                        f"{kind} #{index}",
                        chunk=CHUNKS[kind],
                    )
                if kind == "tus":  # the figure's upload: its memory and its PATCHes
                    peaks.append(peak.mb)
                    all_steps.append(steps)
            # Each upload's row goes, so the next one (the same bytes) stores its own copy
            # instead of pointing at this one's (no duplicate bytes are stored, by design).
            forget(stack, media_id)
            runs[kind].append(seconds)
        patches = all_steps[-1]  # this round's 8 MiB upload: its creation, then each PATCH
        log(
            f"sync: tus {label} {runs['tus'][-1]:.2f} s (creation {patches[0] * 1000:.0f} ms, "
            f"PATCHes {', '.join(f'{step * 1000:.0f}' for step in patches[1:])} ms) vs multipart "
            f"{runs['multipart'][-1]:.2f} s"
        )
    multipart_runs, tus_runs = runs["multipart"], runs["tus"]
    middle, figure = against_multipart(
        f"tus {label} in {CHUNK // MiB} MiB chunks",
        tus_runs,
        multipart_runs,
        size,
        target="≥ 0.8 x multipart",
        target_ratio=0.8,
        steps=all_steps,
    )
    results.append(figure)
    # The same upload in fewer, larger PATCHes: how much of the gap is per request.
    results.append(
        against_multipart(
            f"tus {label} in {LARGE_CHUNK // MiB} MiB chunks",
            runs["tus-large"],
            multipart_runs,
            size,
        )[1]
    )
    results.append(
        Result(
            "8 sync",
            f"tus {label}: media worker peak RSS",
            max(peaks),
            "MB",
            target=f"≤ {RSS_TARGET_MB} MB",
            met=max(peaks) <= RSS_TARGET_MB,
        )
    )
    src.unlink()

    # What each PATCH costs apart from its bytes, for every one of the upload's chunks, from the
    # same quiet start as each upload.
    quiesce_memory()
    patch_ms, head_ms = patch_turnaround_ms(stack.gateway, user.headers, 20 if ctx.quick else 100)
    chunks = -(-size // CHUNK)
    gap = tus_runs[middle] - multipart_runs[middle]
    log(
        f"sync: a PATCH of 1 KiB p50 {patch_ms:.2f} ms (HEAD {head_ms:.2f} ms): {chunks} of "
        f"them {chunks * patch_ms / 1000:.2f} s, against {gap:.2f} s between tus and multipart"
    )
    results.append(
        Result(
            "8 sync",
            "tus: a PATCH's turn-around (a chunk of 1 KiB), p50",
            patch_ms,
            "ms",
            ceiling=head_ms,
            ceiling_label="HEAD of the same upload, p50",
            lower_is_better=True,
            extra={"chunks": chunks, "tus_minus_multipart_seconds": gap},
        )
    )

    # bulk-check
    owned = 10_000 if ctx.quick else 100_000
    checker = ctx.user("sync-bulk-check")
    took = seed.media_rows(stack, user_id=checker.id, count=owned)
    log(f"sync: seeded {owned:,} media in {took:.1f}s")
    # bench.seed's checksum of row g is md5(g) || md5(g + 1): 500 of them, 500 unknown.
    mine = [
        hashlib.md5(str(g).encode()).hexdigest() + hashlib.md5(str(g + 1).encode()).hexdigest()  # noqa: S324
        for g in range(1, owned + 1, owned // 500)
    ][:500]
    unknown = [hashlib.sha256(str(g).encode()).hexdigest() for g in range(1000 - len(mine))]
    body = {"checksums": mine + unknown}
    with requests.Session() as http:

        def bulk_check():
            response = http.post(
                f"{stack.gateway}/api/media/bulk-check/",
                json=body,
                headers=checker.headers,
                timeout=60,
            )
            expect_ok(response)
            if len(response.json()["existing"]) != len(mine):
                raise RuntimeError("bulk-check did not find the seeded checksums")

        def first_page(page_size: int, who):
            def call():
                expect_ok(
                    http.get(
                        f"{stack.gateway}/api/media/media/",
                        params={"page_size": page_size, "fresh": time.perf_counter_ns()},
                        headers=who.headers,
                        timeout=60,
                    )
                )

            return call

        repeats = 20 if ctx.quick else 50
        check_ms = p50_ms(bulk_check, repeats)
        list_ms = p50_ms(first_page(10, checker), repeats)
        log(f"sync: bulk-check of 1,000 at {owned:,} media: p50 {check_ms:.1f} ms")
        results.append(
            Result(
                "8 sync",
                f"bulk-check 1,000 checksums at {owned:,} media, p50",
                check_ms,
                "ms",
                ceiling=list_ms,
                ceiling_label="list page of 10, p50",
                lower_is_better=True,
            )
        )

        # change feed
        rows = 100_000 if ctx.quick else 1_000_000
        feeder = ctx.user("sync-feed")
        seed.media_rows(stack, user_id=feeder.id, count=rows)
        started = time.monotonic()
        # One change per media, in a random order of the user's media.
        query(
            stack.databases.media_url,
            'INSERT INTO media_handler_change ("user", seq, kind, object_id, op, at) '
            "SELECT %(user)s, row_number() OVER (ORDER BY md5(id::text)), 'media', id, "
            "'upsert', now() FROM media_handler_media WHERE \"user\" = %(user)s",
            {"user": feeder.id},
        )
        query(
            stack.databases.media_url,
            'INSERT INTO media_handler_feedposition ("user", seq) VALUES (%(user)s, %(rows)s)',
            {"user": feeder.id, "rows": rows},
        )
        query(stack.databases.media_url, "VACUUM ANALYZE media_handler_change")
        log(f"sync: seeded {rows:,} changes in {time.monotonic() - started:.1f}s")
        # The feed's cursor format (media_handler.changes.FeedCursor): the middle of the feed.
        cursor = {"s": rows // 2, "t": int(time.time())}
        since = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")

        def feed_page():
            response = http.get(
                f"{stack.gateway}/api/media/changes/",
                params={"since": since, "limit": 500},
                headers=feeder.headers,
                timeout=60,
            )
            expect_ok(response)
            if len(response.json()["changes"]) != 500:
                raise RuntimeError("the feed page is not 500 changes")

        feed_ms = p50_ms(feed_page, repeats)
        page_ms = p50_ms(first_page(100, feeder), repeats)
        log(f"sync: change feed page of 500 at {rows:,} changes: p50 {feed_ms:.1f} ms")
        results.append(
            Result(
                "8 sync",
                f"change feed page of 500 at {rows:,} changes, p50",
                feed_ms,
                "ms",
                ceiling=page_ms,
                ceiling_label="list page of 100, p50",
                lower_is_better=True,
            )
        )
    return results


if __name__ == "__main__":
    raise SystemExit(main(("sync",)))
