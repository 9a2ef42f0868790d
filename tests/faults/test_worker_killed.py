"""A media worker SIGKILLed in the middle of an upload: no row and no visible file appear, the
partial temporary file is the only trace, and `manage.py sweep_orphan_files` removes it. The
gunicorn master replaces the worker and uploads work again.

The first test sends straight to the media service, with the body in two halves, so the worker
is certainly mid-upload (streaming the file to MEDIA_ROOT/.incoming) when it is killed; the
second goes through the gateway, which streams the body to the worker as it arrives."""

import os
import signal
import socket
import threading
import time

import pytest
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


def test_worker_killed_during_a_gateway_upload_is_a_json_502(http, fault_stack):
    """The same through the gateway: nginx streams the body to the worker, which dies while
    writing it; the client gets the gateway's JSON 502 and nothing is stored. The upload is
    fast on loopback, so the kill may miss its window: up to 3 tries."""
    stack = fault_stack
    gw = stack.gateway
    tokens = api.register(http, gw, api.unique_email("killed-gw"))
    headers = api.bearer(tokens)
    incoming = stack.media_root / ".incoming"
    uploads_before = stored_uploads(stack)
    total_before = media_total(http, gw, headers)
    content = api.png_bytes(64, 64) + os.urandom(96 * 1024 * 1024)
    for _ in range(3):
        master = stack.pid("media")
        outcome = {}

        def send(outcome=outcome):
            outcome["response"] = api.upload(http, gw, tokens, content)

        sender = threading.Thread(target=send)
        sender.start()
        victim = None
        deadline = time.monotonic() + 60
        while sender.is_alive() and time.monotonic() < deadline and victim is None:
            victim = worker_writing_into(incoming, master)
            time.sleep(0.005)
        if victim is not None:
            os.kill(victim, signal.SIGKILL)
        sender.join(timeout=120)
        if victim is not None:
            break
        # Too quick to catch: undo the upload and try again.
        response = outcome["response"]
        assert response.status_code == 201, response.text
        http.delete(f"{gw}/api/media/{response.json()['id']}/", headers=headers, timeout=20)
        total_before += 1
        uploads_before = stored_uploads(stack)
    else:
        pytest.skip("the worker finished writing every time before it could be killed")

    response = outcome["response"]
    assert response.status_code == 502, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["message"]
    assert media_total(http, gw, headers) == total_before
    assert stored_uploads(stack) == uploads_before
    time.sleep(1.1)
    stack.manage("backend_server", "sweep_orphan_files", "--grace-seconds", "1")
    assert not [path for path in incoming.iterdir() if path.is_file()]
    assert stored_uploads(stack) == uploads_before
