"""The one environment policy of every stack devstack starts: the stack sees only what its spec
says.

1. From the caller's environment, every variable `.env.example` documents is removed (the file
   is read at each start, so a setting is covered the day it is documented), and so are the few
   the servers and scripts read without documenting them (`UNDOCUMENTED`).
2. devstack then sets what makes the stack private (`Stack` in devstack.stack): its own
   ENV_FILE and DEV_SECRETS_FILE (the run script writes a .env with fresh secrets there),
   VAR_DIR (CACHE_DIR and JOB_QUEUE_DIR in it), MEDIA_ROOT, the three ports, the two database
   URLs and READY_TIMEOUT_SECONDS.
3. Last, the spec's own variables, which win over both.

Everything else in the caller's environment (PATH, HOME, the locale, PYTHONPATH, the suites'
own E2E_*/REL_*/BENCH_* knobs) is the machine's or the caller's, not the stack's
configuration, and passes through unchanged.
"""

import os
import re
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = REPO / ".env.example"

# Read by the services, gunicorn or the scripts without a line in .env.example (nobody sets
# them on purpose), yet a value left in a developer's shell would change the stack.
UNDOCUMENTED = frozenset(
    {
        "DJANGO_SETTINGS_MODULE",  # both services only `setdefault` their own
        "GUNICORN_CMD_ARGS",  # gunicorn adds it to every command line
        "WEB_CONCURRENCY",  # gunicorn's worker count when the config sets none
        "GUNICORN_SERVICE",  # which service gateway/gunicorn.conf.py configures
        "GATEWAY_JS_DIR",  # gateway/render.sh's inputs
        "NGINX_MIME_TYPES",
    }
)

# One client address (127.0.0.1) stands for a whole crowd in load and attack runs, as behind
# carrier NAT: the per-address limits are raised, the per-account ones keep their defaults.
ONE_ADDRESS_CROWD = {
    "LOGIN_IP_THROTTLE_RATE": "1000000/min",
    "REGISTER_IP_THROTTLE_RATE": "1000000/min",
}


def configuration_names(example: Path = ENV_EXAMPLE) -> frozenset[str]:
    """Every variable that configures the stack: those `example` documents (as `# NAME=...`
    lines) and `UNDOCUMENTED`."""
    documented = re.findall(r"^#\s*([A-Z][A-Z0-9_]*)=", example.read_text(), flags=re.MULTILINE)
    if not documented:
        raise RuntimeError(f"{example} documents no variable: is it the configuration reference?")
    return frozenset(documented) | UNDOCUMENTED


def stack_environment(
    explicit: Mapping[str, str], *, caller: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a stack: `caller` (the process's own by default) without any
    configuration variable, then `explicit` (devstack's private settings and the spec's)."""
    caller = os.environ if caller is None else caller
    names = configuration_names()
    inherited = {name: value for name, value in caller.items() if name not in names}
    return {**inherited, **explicit}
