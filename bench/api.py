"""Workload 1, API throughput: the authenticated media list of a user with 10 000 records,
against a no-database JSON ping on the same gunicorn workers behind the same nginx.

The list runs twice: repeating one URL, as the app reloading its first page does (after the
first request the media service answers from its list page cache), and with a URL of its own
per request (`&fresh=<n>`, a parameter that also keeps the page out of the cache), so every page
is built from the database. Also `GET media/<id>/` and `POST media/` (JSON, a record without a
file), and the ping with one read of the shared cache (`ping/cache/`), the floor of any answer
that consults state every worker shares, as a cached page must. The pings and the lists run
alternately, twice, so drift of the machine hits them alike.
"""

import json
import statistics

import requests

from bench import cpu, seed, wrk
from bench.harness import Context, log, main
from bench.results import Result

CONNECTIONS = 8
LIST = "/api/media/media/?page_size=10"
PING = "/api/media/ping/"
PING_CACHE = "/api/media/ping/cache/"


def run(ctx: Context) -> list[Result]:
    stack = ctx.stack
    records = 1_000 if ctx.quick else 10_000
    user = ctx.user("api")
    log(f"api: seeding {records} records")
    seed.media_rows(stack, user_id=user.id, count=records)
    auth = {**user.headers, "Accept": "application/json"}

    first = requests.get(stack.gateway + LIST, headers=auth, timeout=30)
    first.raise_for_status()
    if first.json()["count"] != records:
        raise RuntimeError(f"the list counts {first.json()['count']}, not {records}")
    ids = [m["id"] for m in first.json()["results"]]

    seconds = ctx.seconds(10)
    rounds = 1 if ctx.quick else 2

    cpu_split: dict[str, list[dict]] = {}

    def measure(path: str, **kw) -> wrk.WrkResult:
        wrk.run(stack.gateway + path, seconds=2, connections=CONNECTIONS, **kw)  # warm-up
        before = cpu.snapshot(stack)
        result = wrk.run(stack.gateway + path, seconds=seconds, connections=CONNECTIONS, **kw)
        split = cpu.per_request_us(before, cpu.snapshot(stack), result.requests)
        cpu_split.setdefault(f"{kw.get('method', 'GET')} {path}", []).append(split)
        log(f"api: {path}: {result.rps:.0f}/s; CPU µs per request: {split}")
        return result

    pings, cache_pings, lists, fresh_lists = [], [], [], []
    for _ in range(rounds):
        pings.append(measure(PING))
        cache_pings.append(measure(PING_CACHE))
        lists.append(measure(LIST, headers=auth))
        fresh_lists.append(measure(LIST, headers=auth, unique_param="fresh"))
    detail = measure(
        f"/api/media/media/{ids[0]}/",
        headers=auth,
        paths=[f"/api/media/media/{i}/" for i in ids],
    )
    body = json.dumps(
        {"name": "bench post", "type": "image", "size": 1234, "storage_path": "bench/post"}
    )
    create = measure(
        "/api/media/media/",
        method="POST",
        headers={**auth, "Content-Type": "application/json"},
        body=body,
    )

    ping_rps = statistics.mean(r.rps for r in pings)
    cache_ping_rps = statistics.mean(r.rps for r in cache_pings)
    list_rps = statistics.mean(r.rps for r in lists)
    fresh_rps = statistics.mean(r.rps for r in fresh_lists)
    raw = {
        "ping": [r.as_dict() for r in pings],
        "ping_cache": [r.as_dict() for r in cache_pings],
        "list": [r.as_dict() for r in lists],
        "list_fresh": [r.as_dict() for r in fresh_lists],
        "detail": detail.as_dict(),
        "create": create.as_dict(),
        "cpu_us_per_request": cpu_split,
        "records": records,
        "connections": CONNECTIONS,
        "seconds": seconds,
    }
    checked = (
        ("ping/cache", cache_pings[-1]),
        ("list", lists[-1]),
        ("fresh list", fresh_lists[-1]),
    )
    for name, r in (*checked, ("detail", detail), ("create", create)):
        if r.non_2xx or r.errors:
            log(f"api: {name} had {r.non_2xx} non-2xx answers and {r.errors} socket errors")
    list_p50 = statistics.mean(r.p50_ms for r in lists)
    fresh_p50 = statistics.mean(r.p50_ms for r in fresh_lists)
    common = {"ceiling": ping_rps, "ceiling_label": "ping", "unit": "req/s", "extra": raw}
    return [
        Result(
            "1 API",
            f"GET list ({records:,} records), page loaded before, p50 {list_p50:.1f} ms",
            list_rps,
            target="≥ 0.6 x ping",
            target_ratio=0.6,
            **common,
        ),
        Result(
            "1 API",
            f"GET list ({records:,} records), every page built afresh, p50 {fresh_p50:.1f} ms",
            fresh_rps,
            **{**common, "extra": {}},
        ),
        Result(
            "1 API",
            "GET ping/cache/ (the ping and one cache read)",
            cache_ping_rps,
            **{**common, "extra": {}},
        ),
        Result(
            "1 API",
            "GET list, page loaded before (as above)",
            list_rps,
            ceiling=cache_ping_rps,
            ceiling_label="ping/cache",
            unit="req/s",
        ),
        Result("1 API", "GET media/<id>/", detail.rps, **{**common, "extra": {}}),
        Result("1 API", "POST media/ (JSON)", create.rps, **{**common, "extra": {}}),
    ]


if __name__ == "__main__":
    raise SystemExit(main(("api",)))
