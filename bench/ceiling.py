"""A tiny nginx of its own: the ceilings the stack is compared with.

- `POST /upload` reads the whole request body into a file on disk (`client_body_in_file_only`),
  then answers 204 — nginx alone writing an upload to disk, with no application behind it.
- `GET /static/<path>` serves a directory statically (sendfile) — nginx alone sending a file.

Same nginx binary, same disk and same loopback as the gateway, so the ratio is fair.
"""

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from devstack import ports

CONF = """
worker_processes auto;
{user}
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 0;
    location = /upload {{
      client_body_in_file_only clean;
      client_body_buffer_size 1m;  # as the gateway
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_pass http://127.0.0.1:{port}/done;
    }}
    location = /done {{ return 204; }}
    location /static/ {{ alias {root}/; }}
  }}
}}
"""


@contextmanager
def ceiling_nginx(tmp: Path, *, static_root: Path):
    """Run the ceiling nginx in the foreground of its own process group, on BENCH_CEILING_PORT
    (3790) or a free port when it is taken; yields its base URL."""
    tmp.mkdir(parents=True, exist_ok=True)
    [port] = ports.choose([int(os.environ.get("BENCH_CEILING_PORT") or 3790)])
    # As root nginx would drop its workers to `nobody`, who cannot read the 0640 uploads.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(CONF.format(user=user, tmp=tmp, port=port, root=static_root))
    argv = ["nginx", "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
    proc = subprocess.Popen(argv, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(f"{base}/done", timeout=1)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
                    raise RuntimeError(f"ceiling nginx did not start: {log}") from None
                time.sleep(0.1)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGQUIT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
