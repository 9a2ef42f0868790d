"""A media worker SIGKILLed in the middle of an upload: no row and no visible file appear, the
partial temporary file is the only trace, and `manage.py sweep_orphan_files` removes it. The
gunicorn master replaces the worker and uploads work again.

The upload goes straight to the media service with a body sent in two halves, so the worker is
certainly mid-upload (streaming the file to MEDIA_ROOT/.incoming) when it is killed; through the
gateway, nginx buffers the whole body first and the same worker code runs afterwards."""

import os
import signal
import socket
import time

from support import api, procs
from support.faults import wait_until

BODY_BYTES = 4 * 1024 * 1024


def stored_uploads(stack) -> set[str]:
    return {
        path.relative_to(stack.media_root).as_posix()
        for path in (stack.media_root / "uploads").rglob("*")
        if path.is_file()
    }


def media_total(http, gw, headers) -> int:
    return sum(
        http.get(f"{gw}/api/media/?is_deleted={trash}", headers=headers, timeout=20).json()["count"]
        for trash in ("false", "true")
    )


def worker_writing_into(directory, master: int) -> int | None:
    for pid in procs.children(master):
        if any(path.startswith(str(directory)) for path in procs.open_files(pid)):
            return pid
    return None


def test_worker_killed_mid_upload_leaves_no_row_and_no_visible_file(http, fault_stack):
    stack = fault_stack
    gw = stack.gateway
    tokens = api.register(http, gw, api.unique_email("killed"))
    headers = api.bearer(tokens)
    kept = api.upload(http, gw, tokens, api.png_bytes(seed=7))
    assert kept.status_code == 201, kept.text
    uploads_before = stored_uploads(stack)
    total_before = media_total(http, gw, headers)
    incoming = stack.media_root / ".incoming"

    boundary = "reliabilityboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nkilled\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\nimage\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    file_bytes = api.png_bytes(64, 64) + os.urandom(BODY_BYTES)
    body = head + file_bytes + tail
    request = (
        f"POST /api/media/ HTTP/1.1\r\nHost: 127.0.0.1:{stack.ports[2]}\r\n"
        f"Authorization: Bearer {tokens['access']}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    master = stack.pid("media")
    with socket.create_connection(("127.0.0.1", stack.ports[2]), timeout=20) as sock:
        sock.sendall(request + body[: len(body) // 2])
        assert wait_until(
            lambda: worker_writing_into(incoming, master) is not None, timeout=15, interval=0.02
        ), "no worker was writing the upload"
        victim = worker_writing_into(incoming, master)
        partial = [path for path in incoming.iterdir() if path.is_file()]
        assert partial, "no temporary file"
        os.kill(victim, signal.SIGKILL)
        try:
            sock.sendall(body[len(body) // 2 :])
            answer = sock.recv(4096)
        except OSError:
            answer = b""
    assert not answer.startswith(b"HTTP/1.1 2"), answer[:200]

    # A replacement worker answers; the killed request left no row and no stored file.
    assert wait_until(
        lambda: len(procs.children(master)) >= 2 and victim not in procs.children(master),
        timeout=20,
    )
    assert media_total(http, gw, headers) == total_before
    assert stored_uploads(stack) == uploads_before
    # The only trace is the partial temporary file, which no URL serves.
    left = [path for path in incoming.iterdir() if path.is_file()]
    assert left, "expected the killed upload's temporary file"
    assert all(path.stat().st_size < len(file_bytes) for path in left)

    time.sleep(1.1)  # the sweep's grace is whole seconds of age
    output = stack.manage("backend_server", "sweep_orphan_files", "--grace-seconds", "1")
    assert "removed" in output, output
    assert not [path for path in incoming.iterdir() if path.is_file()], output
    assert stored_uploads(stack) == uploads_before, output  # the sweep kept every real file

    again = api.upload(http, gw, tokens, api.png_bytes(seed=8))
    assert again.status_code == 201, again.text
    got = http.get(kept.json()["file"], timeout=20)
    assert got.content == api.png_bytes(seed=7)
