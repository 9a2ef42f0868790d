"""Schemathesis against both OpenAPI schemas on the running stack, through the gateway, with a
real access token: no 5xx, every status code and content type documented, every body valid
against its schema.

FUZZ_MAX_EXAMPLES cases per operation in the fuzzing phase (default 15; `make fuzz` uses 200), on
top of the coverage phase's boundary cases and the stateful phase's sequences. FUZZ_SEED replays a
run. Each run prints the cases per operation and writes schemathesis's NDJSON event log (with
every request and response) to REL_REPORT_DIR (default var/reliability/)."""

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack import client

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "15"))
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
# Bounded: at 200 cases per operation a whole run takes a few minutes.
RUN_TIMEOUT = 60 * 30
# Serializers schemathesis lacks (a tus chunk's media type).
HOOKS = Path(__file__).resolve().with_name("schemathesis_hooks.py")


def cases_per_operation(events: Path) -> dict[str, int]:
    counts: collections.Counter = collections.Counter()
    with events.open() as lines:
        for line in lines:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if finished:
                recorder = finished["recorder"]
                counts[recorder["label"]] += len(recorder.get("cases", {}))
    return dict(sorted(counts.items()))


@pytest.mark.parametrize("service", ["auth", "media"])
def test_schema_holds_under_fuzzing(http, gw, report_dir, service):
    # A user of its own for each service: the auth service's fuzzing signs its user out
    # (logout with the access token), after which every call of the other would be a 401.
    user = client.register(http, gw, client.unique_email(f"fuzz-{service}"))
    events = report_dir / f"fuzz-{service}.ndjson"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{gw}/api/{service}/schema/",
        "--url",
        f"{gw}/api/{service}",  # the schema's server: its paths are relative to it
        "--header",
        f"Authorization: Bearer {user['access']}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        # One worker: Python 3.11's AST constructor is not thread-safe, and schemathesis's
        # threads compile regexes and schemas concurrently ("recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(events),
    ]
    if os.environ.get("FUZZ_SEED"):
        command += ["--seed", os.environ["FUZZ_SEED"]]
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 -- the venv's schemathesis, arguments built here
        command,
        cwd=report_dir,
        capture_output=True,
        text=True,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        timeout=RUN_TIMEOUT,
        check=False,
    )
    counts = cases_per_operation(events)
    summary = {
        "service": service,
        "max_examples": MAX_EXAMPLES,
        "seconds": round(time.monotonic() - started, 1),
        "total_cases": sum(counts.values()),
        "operations": len(counts),
        "cases_per_operation": counts,
        "exit_code": result.returncode,
    }
    (report_dir / f"fuzz-{service}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert counts, "schemathesis tested nothing"
