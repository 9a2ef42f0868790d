"""Workload 2, scale of the list: p50 and p99 latency of the first page of a user's media list
for users owning 1 000, 100 000 and 1 000 000 records (seeded in bulk, all in one table).

Each size is its own user, so the sizes are measured side by side, in alternating rounds, and
the smaller users' lists run in a table that holds everyone's rows. One connection at a time:
this is latency, not throughput. Every request has a URL of its own (`&fresh=<n>`), so each page
is built from the database: the list page cache would otherwise answer all but the first.
"""

import statistics

from bench import seed, wrk
from bench.harness import Context, log, main
from bench.results import Result

LIST = "/api/media/media/?page_size=10"


def run(ctx: Context) -> list[Result]:
    stack = ctx.stack
    sizes = [1_000, 10_000, 100_000] if ctx.quick else [1_000, 100_000, 1_000_000]
    rounds = 2
    users = {}
    for size in sizes:
        users[size] = ctx.user(f"scale-{size}")
        took = seed.media_rows(stack, user_id=users[size].id, count=size)
        log(f"scale: seeded {size:,} rows in {took:.1f}s")
    seconds = ctx.seconds(8)
    url = stack.gateway + LIST
    runs: dict[int, list[wrk.WrkResult]] = {size: [] for size in sizes}
    for _ in range(rounds):
        for size in sizes:
            headers = users[size].headers
            fresh = {"headers": headers, "unique_param": "fresh"}
            wrk.run(url, seconds=2, connections=1, **fresh)  # warm-up
            r = wrk.run(url, seconds=seconds, connections=1, **fresh)
            if r.non_2xx or r.errors:
                raise RuntimeError(f"{r.non_2xx} non-2xx answers, {r.errors} errors at {size}")
            runs[size].append(r)
            log(f"scale: {size:,} rows: p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms")

    def p50(size: int) -> float:
        return statistics.median(r.p50_ms for r in runs[size])

    def p99(size: int) -> float:
        return statistics.median(r.p99_ms for r in runs[size])

    small, large = sizes[0], sizes[-1]
    raw = {str(size): [r.as_dict() for r in rs] for size, rs in runs.items()}
    results = [
        Result(
            "2 scale",
            f"list p50 at {size:,}",
            p50(size),
            "ms",
            ceiling=p50(small),
            ceiling_label=f"p50 at {small:,}",
            target="≤ 2 x p50 at 1k" if size == large else "",
            target_ratio=2.0 if size == large else None,
            lower_is_better=True,
            extra=raw if size == large else {},
        )
        for size in sizes[1:]
    ]
    results += [
        Result("2 scale", f"list p99 at {size:,}", p99(size), "ms") for size in (small, large)
    ]
    results.insert(0, Result("2 scale", f"list p50 at {small:,}", p50(small), "ms"))
    return results


if __name__ == "__main__":
    raise SystemExit(main(("scale",)))
