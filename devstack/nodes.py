"""More media nodes for a running stack, and a gateway in front of several (docs/scaling.md):
what the two-node e2e test and the scaling bench start next to a devstack stack. Each node is
the stack's own media service started again on another port, so it shares the stack's
databases, cache, job queue and storage (the bucket with MEDIA_STORAGE=s3)."""

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from devstack import processes
from devstack.environment import REPO
from devstack.polling import wait_until
from devstack.ports import LOOPBACK, free_ports
from devstack.stack import Stack


def start_media_node(
    stack: Stack, workdir: Path, port: int, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Another media node of `stack`: gunicorn on `port` with the stack's media service's
    environment as it started (its databases, cache, job queue, storage), but a temporary
    directory of its own under `workdir` (and, with the files in a bucket, a MEDIA_ROOT of its
    own too), and `env` over all of that; its output in node_log(workdir, port)."""
    node_env = processes.environment(stack.pid("media"))
    incoming = workdir / f"incoming-{port}"
    incoming.mkdir(parents=True)
    node_env.update(FILE_UPLOAD_TEMP_DIR=str(incoming), GUNICORN_SERVICE="media")
    # The stack's own virtual environment (VENV, as scripts/lib.sh reads it).
    gunicorn = Path(node_env.get("VENV") or REPO / ".venv", "bin", "gunicorn")
    if node_env.get("MEDIA_STORAGE") == "s3":
        # With the files in the bucket, nodes share no disk at all.
        node_env["MEDIA_ROOT"] = str(workdir / f"media-{port}")
    node_env.update(env or {})
    return processes.start_group(
        [
            str(gunicorn),
            "--config",
            str(REPO / "gateway" / "gunicorn.conf.py"),
            "--chdir",
            str(REPO / "backend_server"),
            "--bind",
            f"{LOOPBACK}:{port}",
            "backend_server.wsgi:application",
        ],
        cwd=REPO,
        env=node_env,
        log_path=node_log(workdir, port),
    )


def start_gateway(
    stack: Stack,
    workdir: Path,
    port: int,
    media_nodes: list[int],
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """A second gateway in front of `stack`'s auth service and the media nodes on
    `media_nodes` (ports), rendered from the same template (gateway/render.sh) with `env` on
    top of its own settings, on `port`."""
    prefix = workdir / f"gateway-{port}"
    (prefix / "logs").mkdir(parents=True)
    (prefix / "tmp").mkdir()
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "GATEWAY_PREFIX": str(prefix),
        "AUTH_UPSTREAM": f"{LOOPBACK}:{stack.ports.auth}",
        "MEDIA_UPSTREAM": ",".join(f"{LOOPBACK}:{node}" for node in media_nodes),
        "MEDIA_ROOT": str(stack.media_root),
        "MAX_UPLOAD_SIZE": str(stack.max_upload_size),
        "GATEWAY_ERROR_LOG": str(prefix / "logs" / "error.log"),
        **(env or {}),
    }
    subprocess.run(  # noqa: S603 -- the repository's own script
        ["/bin/bash", str(REPO / "gateway" / "render.sh"), str(prefix / "conf")],
        env=env,
        check=True,
    )
    nginx = os.environ.get("NGINX", "/usr/sbin/nginx")
    return processes.start_group(
        [nginx, "-p", str(prefix), "-c", str(prefix / "conf" / "nginx.conf"), "-g", "daemon off;"],
        cwd=REPO,
        env=env,
        log_path=gateway_log(workdir, port),
    )


def node_log(workdir: Path, port: int) -> Path:
    """Where start_media_node writes the output of the node on `port`."""
    return workdir / f"node-{port}.log"


def gateway_log(workdir: Path, port: int) -> Path:
    """Where start_gateway writes the output of the gateway on `port`."""
    return workdir / f"gateway-{port}.log"


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process's group (started by this module), SIGKILL if it lingers."""
    if process.poll() is None:
        processes.signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            processes.signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for_media(url: str, timeout: float = 60) -> bool:
    """Whether the media API at `url` (a node or a gateway) answers (401 without a token)."""

    def answers() -> bool:
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{url}/api/media/", timeout=2).status_code == 401
        return False

    return wait_until(answers, timeout)


class NodeDidNotStart(RuntimeError):
    """A node or gateway that did not answer in time; says the end of its log."""


@dataclass(frozen=True)
class ExtraNode:
    """A media node started next to a stack, and the gateway started in front of it."""

    process: subprocess.Popen
    url: str
    log: Path
    gateway: str


@contextlib.contextmanager
def extra_node_behind_gateway(
    stack: Stack, workdir: Path, *, with_stack_node: bool = True, env: dict[str, str] | None = None
) -> Iterator[ExtraNode]:
    """Another media node of `stack` (start_media_node, with `env`) and a gateway in front of
    it, and of the stack's own node too with `with_stack_node`, once both answer; both are
    stopped on the way out. Raises NodeDidNotStart when one does not answer in time."""
    node_port, gateway_port = free_ports(2)
    node = start_media_node(stack, workdir, node_port, env)
    gateway = None
    try:
        url, log = f"http://{LOOPBACK}:{node_port}", node_log(workdir, node_port)
        if not wait_for_media(url):
            raise NodeDidNotStart(f"media node {url}: {log.read_text()[-3000:]}")
        upstream = [stack.ports.media, node_port] if with_stack_node else [node_port]
        gateway = start_gateway(stack, workdir, gateway_port, upstream)
        gateway_url = f"http://{LOOPBACK}:{gateway_port}"
        if not wait_for_media(gateway_url, 30):
            tail = gateway_log(workdir, gateway_port).read_text()[-3000:]
            raise NodeDidNotStart(f"gateway {gateway_url}: {tail}")
        yield ExtraNode(process=node, url=url, log=log, gateway=gateway_url)
    finally:
        if gateway is not None:
            stop(gateway)
        stop(node)
