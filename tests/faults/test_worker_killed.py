"""A media worker SIGKILLed in the middle of an upload: no row and no visible file appear, the
partial temporary file is the only trace, and `manage.py sweep_orphan_files` removes it. The
gunicorn master replaces the worker and uploads work again.

Both tests send the body in two halves and hold back the second until a worker is writing the
file to MEDIA_ROOT/.incoming, so the kill certainly lands mid-upload: the first straight to the
media service, the second through the gateway, which streams the body to the worker as it
arrives."""

import contextlib
import json
import os
import signal
import time
from http.client import HTTPException

from support.stored import files_under, orphan_derivatives, stored_originals

from devstack import client, processes, samples
from devstack.polling import wait_until

BODY_BYTES = 4 * 1024 * 1024


def stored_uploads(stack) -> set[str]:
    """The originals stored (the worker adds derivatives of earlier uploads at its own pace)."""
    return stored_originals(stack.media_root)


def temporary_files(stack) -> list:
    return [path for path in (stack.media_root / ".incoming").iterdir() if path.is_file()]


def media_total(http, gw, headers) -> int:
    return sum(
        http.get(f"{gw}/api/media/?is_deleted={trash}", headers=headers, timeout=20).json()["count"]
        for trash in ("false", "true")
    )


def worker_writing_into(directory, master: int) -> int | None:
    for pid in processes.children(master):
        if any(path.startswith(str(directory)) for path in processes.open_files(pid)):
            return pid
    return None


def upload_killed_half_way(stack, base: str, tokens: dict) -> tuple[int, client.RawUpload]:
    """Sends half of a large upload to `base`, SIGKILLs the media worker writing it, then sends
    the rest; returns the victim's pid and the upload, whose answer is still to be read."""
    content = samples.png_bytes(64, 64) + os.urandom(BODY_BYTES)
    upload = client.RawUpload(
        base,
        "/api/media/",
        tokens["access"],
        content,
        name="killed",
        media_type="image",
        filename="big.png",
        content_type="image/png",
    )
    upload.send(len(upload.body) // 2)
    master = stack.pid("media")
    incoming = stack.media_root / ".incoming"
    assert wait_until(
        lambda: worker_writing_into(incoming, master) is not None, timeout=15, interval=0.02
    ), "no worker was writing the upload"
    victim = worker_writing_into(incoming, master)
    assert temporary_files(stack), "no temporary file"
    os.kill(victim, signal.SIGKILL)
    with contextlib.suppress(OSError):  # whoever answers may stop reading the rest
        upload.send()
    return victim, upload


def test_worker_killed_mid_upload_leaves_no_row_and_no_visible_file(http, fault_stack):
    stack = fault_stack
    gw = stack.gateway
    tokens = client.register(http, gw, client.unique_email("killed"))
    headers = client.bearer(tokens)
    kept = client.upload(http, gw, tokens, samples.png_bytes(seed=7))
    assert kept.status_code == 201, kept.text
    uploads_before = stored_uploads(stack)
    total_before = media_total(http, gw, headers)
    master = stack.pid("media")

    victim, upload = upload_killed_half_way(stack, stack.media, tokens)
    with upload:
        try:
            answer = upload.answer(timeout=20)
        except (OSError, HTTPException):
            answer = None  # the connection died with the worker: nobody else holds it
    assert answer is None, (answer.status, answer.body[:200])

    # A replacement worker answers; the killed request left no row and no stored file.
    assert wait_until(
        lambda: len(processes.children(master)) >= 2 and victim not in processes.children(master),
        timeout=20,
    )
    assert media_total(http, gw, headers) == total_before
    assert stored_uploads(stack) == uploads_before
    # The only trace is the partial temporary file, which no URL serves.
    left = temporary_files(stack)
    assert left, "expected the killed upload's temporary file"
    assert all(path.stat().st_size < BODY_BYTES for path in left)

    time.sleep(1.1)  # the sweep's grace is whole seconds of age
    output = stack.manage("backend_server", "sweep_orphan_files", "--grace-seconds", "1")
    assert "removed" in output, output
    assert not temporary_files(stack), output
    assert stored_uploads(stack) == uploads_before, output  # the sweep kept every real file
    everything = files_under(stack.media_root / "uploads", stack.media_root)
    assert not orphan_derivatives(everything), output

    again = client.upload(http, gw, tokens, samples.png_bytes(seed=8))
    assert again.status_code == 201, again.text
    got = http.get(kept.json()["file"], timeout=20)
    assert got.content == samples.png_bytes(seed=7)


def test_worker_killed_during_a_gateway_upload_is_a_json_502(http, fault_stack):
    """The same through the gateway: nginx streams the body to the worker, which dies while
    writing it; the client gets the gateway's JSON 502 and nothing is stored."""
    stack = fault_stack
    gw = stack.gateway
    tokens = client.register(http, gw, client.unique_email("killed-gw"))
    headers = client.bearer(tokens)
    uploads_before = stored_uploads(stack)
    total_before = media_total(http, gw, headers)

    _, upload = upload_killed_half_way(stack, gw, tokens)
    with upload:
        answer = upload.answer(timeout=30)

    assert answer.status == 502, answer.body[:500]
    assert answer.headers["Content-Type"].startswith("application/json")
    assert json.loads(answer.body)["message"]
    assert media_total(http, gw, headers) == total_before
    assert stored_uploads(stack) == uploads_before
    time.sleep(1.1)
    stack.manage("backend_server", "sweep_orphan_files", "--grace-seconds", "1")
    assert not temporary_files(stack)
    assert stored_uploads(stack) == uploads_before
