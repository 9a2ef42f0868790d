"""Workload 5, auth: login RPS (bounded by the password hasher, whose parameters are reported
and whose cost sets the ceiling: cores ÷ seconds per hash), refresh RPS, and the media
service's cost of verifying an access token (bench.probe, a micro-benchmark)."""

import json
import os
import subprocess
import sys

from bench import wrk
from bench.harness import Context, log, main
from bench.results import Result
from devstack import REPO


def probe(ctx: Context, name: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.probe", name],
        cwd=REPO,
        env={**ctx.stack.env, "LOG_LEVEL": "ERROR"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"probe {name} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(ctx: Context) -> list[Result]:
    stack = ctx.stack
    user = ctx.user("auth")
    seconds = ctx.seconds(10)
    hasher = probe(ctx, "hasher")
    cores = len(os.sched_getaffinity(0))
    hasher_ceiling = cores / hasher["seconds_per_hash"]
    log(f"auth: {hasher['algorithm']} {hasher['params']}: {hasher['seconds_per_hash']:.3f}s/hash")

    json_headers = {"Content-Type": "application/json"}
    login_body = json.dumps({"email": user.email, "password": user.password})
    wrk.run(
        stack.gateway + "/api/auth/login/",
        seconds=2,
        connections=2,
        method="POST",
        headers=json_headers,
        body=login_body,
        timeout_s=30,
    )
    login = wrk.run(
        stack.gateway + "/api/auth/login/",
        seconds=max(seconds, 6),  # a few logins a second: a short run counts too few
        connections=cores * 2,
        method="POST",
        headers=json_headers,
        body=login_body,
        timeout_s=30,
    )
    refresh_body = json.dumps({"refresh": user.refresh})
    refresh_url = stack.gateway + "/api/auth/token/refresh/"
    wrk.run(
        refresh_url,
        seconds=2,
        connections=8,
        method="POST",
        headers=json_headers,
        body=refresh_body,
    )
    refresh = wrk.run(
        refresh_url,
        seconds=seconds,
        connections=8,
        method="POST",
        headers=json_headers,
        body=refresh_body,
    )
    for name, r in (("login", login), ("refresh", refresh)):
        if r.non_2xx or r.errors:
            log(f"auth: {name} had {r.non_2xx} non-2xx answers (429?) and {r.errors} errors")
    verify = probe(ctx, "verify")
    per_100 = verify["queries_per_100"]
    params = ", ".join(f"{k}={v}" for k, v in hasher["params"].items())
    return [
        Result(
            "5 auth",
            f"login ({hasher['algorithm']}, {params})",
            login.rps,
            "req/s",
            ceiling=hasher_ceiling,
            ceiling_label=f"{cores} cores ÷ {hasher['seconds_per_hash'] * 1000:.0f} ms/hash",
            extra={"wrk": login.as_dict(), "hasher": hasher},
        ),
        Result(
            "5 auth",
            "refresh",
            refresh.rps,
            "req/s",
            extra={"wrk": refresh.as_dict()},
        ),
        Result(
            "5 auth",
            f"media token check ({verify['algorithm']}), first sight of a token, "
            f"{per_100 / 100:g} queries",
            verify["us_per_verify_first_sight"],
            "µs",
            ceiling=verify["us_per_pyjwt_decode"],
            ceiling_label="PyJWT decode alone",
            target="< 100 µs, no query",
            met=verify["us_per_verify_first_sight"] < 100 and per_100 == 0,
            lower_is_better=True,
            extra=verify,
        ),
        Result(
            "5 auth",
            "media token check, a token seen before (every later call)",
            verify["us_per_verify"],
            "µs",
            ceiling=verify["us_per_pyjwt_decode"],
            ceiling_label="PyJWT decode alone",
            target="< 100 µs, no query",
            met=verify["us_per_verify"] < 100 and per_100 == 0,
            lower_is_better=True,
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(main(("auth",)))
