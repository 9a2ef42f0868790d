"""devstack (dev-only): the real stack for e2e/, tests/ and bench/.

    from devstack import Ports, StackSpec, running

    with running(StackSpec(env={"MAX_UPLOAD_SIZE": "2097152"}, database="postgres")) as stack:
        requests.get(f"{stack.gateway}/health")

`running(spec)` starts `./run_with_gateway.sh` in a process group of its own and yields a
`Stack` (its URLs, ports, pids, log, media root, databases, `stop()`); at the end the stack is
stopped as Ctrl-C stops it, its throw-away databases dropped, and a process or port it left
behind is an error. Modules: `stack` (StackSpec, Stack, start, running), `environment` (the
policy below), `ports`, `processes`, `databases`, `polling`, `client` (the HTTP helper),
`samples` (media files).

Environment policy: the stack sees only what its spec says. Every variable `.env.example`
documents (and the few undocumented ones the servers read, `environment.UNDOCUMENTED`) is
removed from the caller's environment; devstack sets the stack's private paths, ports and
database URLs; the spec's `env` comes last and wins. The rest of the caller's environment
(PATH, HOME, PYTHONPATH...) passes through. See devstack/README.md.
"""

from devstack.databases import DEFAULT_POSTGRES, Databases
from devstack.environment import ONE_ADDRESS_CROWD, REPO
from devstack.ports import Ports
from devstack.stack import Stack, StackError, StackSpec, running, start

__all__ = [
    "DEFAULT_POSTGRES",
    "ONE_ADDRESS_CROWD",
    "REPO",
    "Databases",
    "Ports",
    "Stack",
    "StackError",
    "StackSpec",
    "running",
    "start",
]
