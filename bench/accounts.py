"""Workload 6, accounts (issue 17): what Argon2id costs a login and what rotation costs a
refresh, per core, beside what they are compared with, in one run; and the revocation window,
the time from a sign-out's answer to the media service's first 401 for the signed-out token.

- Logins per core: CPU per login through the auth service's WSGI handler (bench.probe
  accounts) with Argon2id at the service's parameters and with PBKDF2 at 1,000,000 iterations;
  each against the hash alone as its ceiling. Keycloak's published sizing, 15 password logins a
  second per vCPU with Argon2id at 7 MiB and 5 passes, is the target; its hash is timed here too.
- Refreshes: CPU per refresh with rotation off and on (probe), and through the gateway, 8 clients
  each refreshing its own session's token in a chain, on the measured stack (rotation off) and
  on a second stack with rotation on.
- Revocation window: 100 sign-outs (DELETE sessions/<id>/), each followed by requests with the
  signed-out access token until the media service answers 401: p50 and p99, on the measured
  stack (Redis: pub/sub) and on the second one (no Redis: the file both services share).
"""

import base64
import dataclasses
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

import devstack
from bench.auth import probe
from bench.harness import Context, log, main, stack_spec
from bench.results import Result
from devstack import Ports, Stack, client
from devstack.ports import preferred_from_env

KEYCLOAK_LOGINS_PER_VCPU = 15  # Keycloak's "Concepts for sizing CPU and memory resources"
REVOCATION_TARGET_S = 5
TRIALS = 100
REFRESH_CLIENTS = 8


def run(ctx: Context) -> list[Result]:
    figures = probe(ctx, "accounts")
    log(f"accounts: probe {json.dumps(figures)}")
    results = _per_core(figures)
    trials = 20 if ctx.quick else TRIALS
    seconds = ctx.seconds(10)
    chained_off = _chained_refreshes(ctx.stack, seconds)
    window_redis = _revocation_window(ctx.stack, trials)
    with tempfile.TemporaryDirectory(prefix="media-bench-rotation-") as workdir:
        measured = stack_spec(Path(workdir), redis_url="")
        spec = dataclasses.replace(
            measured,
            label="benchrotation",
            ports=preferred_from_env("BENCH_ROTATION", Ports(3710, 8710, 8711)),
            env={**measured.env, "JWT_ROTATE_REFRESH_TOKENS": "true"},
        )
        log("accounts: a second stack, rotation on, no Redis")
        with devstack.running(spec) as rotating:
            chained_on = _chained_refreshes(rotating, seconds)
            window_file = _revocation_window(rotating, trials)
    results += [
        Result(
            "6 accounts",
            f"refresh through the gateway, {REFRESH_CLIENTS} chained clients, rotation on",
            chained_on["rps"],
            "req/s",
            ceiling=chained_off["rps"],
            ceiling_label="the same, rotation off",
            extra={"on": chained_on, "off": chained_off},
        ),
        _window_result("Redis (pub/sub)", window_redis),
        _window_result("no Redis (a file both services read each second)", window_file),
    ]
    return results


def _per_core(figures: dict) -> list[Result]:
    params = figures["argon2id_params"]
    ours = (
        f"m={params['memory_kib'] // 1024} MiB, t={params['time_cost']}, p={params['parallelism']}"
    )
    keycloak = figures["keycloak_argon2id_params"]
    theirs = f"m={keycloak['memory_cost'] // 1024} MiB, t={keycloak['time_cost']}"
    return [
        Result(
            "6 accounts",
            f"logins per core, Argon2id ({ours})",
            1 / figures["argon2id_login_cpu_s"],
            "login/s",
            ceiling=1 / figures["argon2id_hash_cpu_s"],
            ceiling_label=f"the hash alone ({figures['argon2id_hash_cpu_s'] * 1000:.1f} ms CPU)",
            target=f">= {KEYCLOAK_LOGINS_PER_VCPU}/s per vCPU (Keycloak, Argon2id {theirs})",
            met=1 / figures["argon2id_login_cpu_s"] >= KEYCLOAK_LOGINS_PER_VCPU,
            extra=figures,
        ),
        Result(
            "6 accounts",
            "logins per core, PBKDF2-SHA256 (1,000,000 iterations, Django's default before)",
            1 / figures["pbkdf2_login_cpu_s"],
            "login/s",
            ceiling=1 / figures["pbkdf2_hash_cpu_s"],
            ceiling_label=f"the hash alone ({figures['pbkdf2_hash_cpu_s'] * 1000:.0f} ms CPU)",
        ),
        Result(
            "6 accounts",
            f"Argon2id hash ({ours}), CPU",
            figures["argon2id_hash_cpu_s"] * 1000,
            "ms",
            ceiling=figures["keycloak_argon2id_hash_cpu_s"] * 1000,
            ceiling_label=f"Keycloak's default ({theirs}) on this machine",
            lower_is_better=True,
        ),
        Result(
            "6 accounts",
            "refresh per core, rotation on (CPU per refresh)",
            figures["refresh_rotation_on_cpu_s"] * 1000,
            "ms",
            ceiling=figures["refresh_rotation_off_cpu_s"] * 1000,
            ceiling_label="rotation off",
            lower_is_better=True,
        ),
    ]


def _window_result(store: str, window: dict) -> Result:
    return Result(
        "6 accounts",
        f"sign-out to the media service's first 401, {store}: p50 {window['p50_s']:.2f} s",
        window["p99_s"],
        "s (p99)",
        target=f"< {REVOCATION_TARGET_S} s",
        met=window["max_s"] < REVOCATION_TARGET_S,
        lower_is_better=True,
        extra=window,
    )


def _session_id(tokens: dict) -> str:
    payload = tokens["access"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]


def _revocation_window(stack: Stack, trials: int) -> dict:
    address = client.unique_email("revocation")
    windows = []
    with requests.Session() as http:
        keeper = client.register(http, stack.gateway, address)
        for _ in range(trials):
            device = client.login(http, stack.gateway, address)
            media = f"{stack.gateway}/api/media/"
            client.expect(http.get(media, headers=client.bearer(device), timeout=10), 200)
            signed_out = http.delete(
                f"{stack.gateway}/api/auth/sessions/{_session_id(device)}/",
                headers=client.bearer(keeper),
                timeout=10,
            )
            client.expect(signed_out, 204)
            answered = time.monotonic()
            while http.get(media, headers=client.bearer(device), timeout=10).status_code != 401:
                if time.monotonic() - answered > 30:
                    raise RuntimeError("the media service accepted a signed-out token for 30 s")
                time.sleep(0.005)
            windows.append(time.monotonic() - answered)
    windows.sort()
    return {
        "trials": len(windows),
        "p50_s": statistics.median(windows),
        "p99_s": windows[min(len(windows) - 1, round(0.99 * (len(windows) - 1)))],
        "max_s": windows[-1],
    }


def _chained_refreshes(stack: Stack, seconds: float) -> dict:
    """Refreshes a second through the gateway: each client refreshes its own session's token
    again and again, keeping the new one when the answer has one (rotation on)."""
    with requests.Session() as http:
        address = client.unique_email("refresh")
        client.register(http, stack.gateway, address)
        sessions = [client.login(http, stack.gateway, address) for _ in range(REFRESH_CLIENTS)]
    done = [0] * REFRESH_CLIENTS
    failures = [0] * REFRESH_CLIENTS
    stop = time.monotonic() + seconds

    def refresh_chain(n: int) -> None:
        token = sessions[n]["refresh"]
        with requests.Session() as own:
            while time.monotonic() < stop:
                answer = own.post(
                    f"{stack.gateway}/api/auth/token/refresh/", json={"refresh": token}, timeout=10
                )
                if answer.status_code != 200:
                    failures[n] += 1
                    continue
                token = answer.json().get("refresh", token)
                done[n] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=refresh_chain, args=(n,)) for n in range(REFRESH_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - started
    if any(failures):
        log(f"accounts: {sum(failures)} refreshes refused")
    return {"rps": sum(done) / took, "refreshes": sum(done), "refused": sum(failures)}


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main(("accounts",)))
