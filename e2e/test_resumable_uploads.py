"""Resumable uploads through the gateway with real tus clients: tuspy (Python) and
tus-js-client (under node), each run as its own process, as a phone app would run them. Each
transfer is cut part-way (the client process quits after some chunks, or the connection drops in
the middle of a chunk); a *new* process that knows only the upload URL asks the server for its
offset and finishes; the stored file is byte-exact and its media record complete.

The 200 MiB upload, resumed twice, runs on a stack of its own with a 256 MiB upload limit
(the session stack's is 2 MiB)."""

import base64
import hashlib
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

import devstack
from common.revocation import FILE_POLL_SECONDS
from devstack import StackSpec
from devstack.client import TUS, bearer, expect, login, register, tus_create, tus_metadata
from devstack.polling import wait_until
from devstack.ports import preferred_from_env
from devstack.samples import jpeg_bytes, wav_file

HERE = Path(__file__).resolve().parent
TUS_JS = HERE / "tus-js"
CHUNK = 256 * 1024
LARGE = 200 * 1024 * 1024
LARGE_CHUNK = 8 * 1024 * 1024
CLIENT_TIMEOUT = 300


@pytest.fixture(scope="module")
def tus_js(stack) -> Path:
    """tus-js-client installed from its lockfile (node comes with the web app's build, which
    starting the stack installs on a fresh machine: hence `stack`)."""
    installed = TUS_JS / "node_modules" / ".package-lock.json"
    lock = TUS_JS / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=TUS_JS,
            check=True,
            timeout=300,
        )
    return TUS_JS / "upload.mjs"


@pytest.fixture(scope="module")
def phone(stack) -> dict:
    with requests.Session() as session:
        return register(session, stack.gateway, "e2e-resumable@example.com")


def run_client(kind: str, script: Path | None, **options) -> dict:
    """One client process; its JSON line."""
    arguments = [
        f"--{name.replace('_', '-')}={value}"
        for name, value in options.items()
        if value is not None
    ]
    if kind == "tuspy":
        command = [sys.executable, str(HERE / "tus_py_upload.py"), *arguments]
    else:
        command = ["node", str(script), *arguments]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, check=False
    )
    assert done.returncode == 0, f"{kind} failed: {done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def settled(base: str, tokens: dict, media_id: str) -> dict:
    return devstack.client.settled(base, tokens, media_id, timeout=60)


def stored_bytes_digest(url: str) -> str:
    digest = hashlib.sha256()
    with requests.get(url, stream=True, timeout=120) as response:
        expect(response, 200)
        for block in response.iter_content(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def create_upload(base: str, tokens: dict, *, length: int, name: str = "x") -> str:
    """A new, empty upload (tus creation) of `length` bytes, an image named `name`; its URL."""
    metadata = tus_metadata(name=name, type="image")
    return tus_create(requests, base, bearer(tokens), length=length, metadata=metadata, timeout=30)


def server_offset(upload_url: str, tokens: dict) -> int:
    response = expect(requests.head(upload_url, headers={**bearer(tokens), **TUS}, timeout=30), 200)
    assert response.headers["Cache-Control"] == "no-store"
    return int(response.headers["Upload-Offset"])


@pytest.mark.parametrize("kind", ["tuspy", "tus-js-client"])
def test_a_client_killed_after_some_chunks_is_resumed_by_a_new_process(
    stack, phone, tus_js, tmp_path, kind
):
    content = jpeg_bytes(1600, 1200, seed=7) + bytes(range(256)) * 2048  # ~0.6 MB, a real JPEG
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(content)
    metadata = {"filename": "IMG_0001.jpg", "type": "image", "description": f"by {kind}"}

    first = run_client(
        kind,
        tus_js,
        file=path,
        token=phone["access"],
        chunk_size=CHUNK,
        endpoint=f"{stack.gateway}/api/media/uploads/",
        metadata=json.dumps(metadata),
        stop_after_chunks=1,
    )
    assert first["done"] is False
    assert urlsplit(first["url"]).netloc == urlsplit(stack.gateway).netloc  # on the client's host
    assert server_offset(first["url"], phone) == CHUNK

    second = run_client(
        kind, tus_js, file=path, token=phone["access"], chunk_size=CHUNK, upload_url=first["url"]
    )

    assert second["done"] is True
    media_id = (
        second["mediaId"]
        or requests.head(first["url"], headers={**bearer(phone), **TUS}, timeout=30).headers[
            "Media-Id"
        ]
    )
    media = settled(stack.gateway, phone, media_id)
    assert media["name"] == "IMG_0001.jpg"
    assert media["description"] == f"by {kind}"
    assert (media["type"], media["mime_type"]) == ("image", "image/jpeg")
    assert media["size"] == len(content)
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    assert (media["width"], media["height"]) == (1600, 1200)
    assert media["processing"] == "ready"
    assert media["thumbnail"]
    assert requests.get(media["file"], timeout=30).content == content


def test_a_connection_dropped_mid_chunk_keeps_what_arrived_and_tuspy_resumes(
    stack, phone, tmp_path
):
    content = jpeg_bytes(1200, 900, seed=8) + bytes(range(256)) * 1024
    path = tmp_path / "IMG_0002.jpg"
    path.write_bytes(content)
    upload_url = create_upload(stack.gateway, phone, length=len(content), name="dropped")

    # A PATCH of the whole file, of which 100 kB are sent before the phone loses its network.
    gateway = urlsplit(stack.gateway)
    sent = 100_000
    with socket.create_connection((gateway.hostname, gateway.port), timeout=10) as raw:
        head = (
            f"PATCH {urlsplit(upload_url).path} HTTP/1.1\r\nHost: {gateway.netloc}\r\n"
            f"Authorization: Bearer {phone['access']}\r\nTus-Resumable: 1.0.0\r\n"
            "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
            "X-Request-ID: e2e-dropped-chunk\r\n"
            f"Content-Length: {len(content)}\r\n\r\n"
        )
        raw.sendall(head.encode() + content[:sent])
        # The bytes are on their way (the gateway checks the token first, then streams them
        # on); then the network goes.
        time.sleep(0.5)
        raw.shutdown(socket.SHUT_RDWR)

    assert wait_until(lambda: server_offset(upload_url, phone) == sent, 30, interval=0.2), (
        server_offset(upload_url, phone),
        stack.access_log_line("e2e-dropped-chunk"),
    )

    finished = run_client(
        "tuspy", None, file=path, token=phone["access"], chunk_size=CHUNK, upload_url=upload_url
    )
    assert finished["done"] is True
    media = settled(stack.gateway, phone, finished["mediaId"])
    assert media["checksum_sha256"] == hashlib.sha256(content).hexdigest()
    assert requests.get(media["file"], timeout=30).content == content


def test_a_wrong_checksum_through_the_gateway_is_460(stack, phone):
    location = create_upload(stack.gateway, phone, length=100)
    # tus's sha1 checksum, not a security use.
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()  # noqa: S324
    response = requests.patch(
        location,
        data=b"a" * 50,
        headers={
            **bearer(phone),
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": f"sha1 {wrong}",
        },
        timeout=30,
    )
    assert response.status_code == 460
    assert response.json()["code"] == "checksum_mismatch"
    assert server_offset(location, phone) == 0


def test_a_patch_with_a_bad_token_is_refused_before_its_body_is_sent(stack, phone):
    location = create_upload(stack.gateway, phone, length=100)
    response = requests.patch(
        location,
        data=b"a" * 50,
        headers={
            "Authorization": "Bearer not-a-token",
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=30,
    )
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def send_chunk(
    upload_url: str, tokens: dict, offset: int, chunk: bytes, request_id: str
) -> requests.Response:
    return requests.patch(
        upload_url,
        data=chunk,
        headers={
            **bearer(tokens),
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "X-Request-ID": request_id,
        },
        timeout=30,
    )


def remembered_token_checks(stack) -> list[Path]:
    directory = stack.var_dir / "gateway" / "token-checks"
    return [path for path in directory.rglob("*") if path.is_file()]


def test_the_gateway_remembers_a_chunks_token_check_by_its_digest_never_the_token(stack):
    with requests.Session() as session:
        tokens = register(session, stack.gateway, "e2e-token-checks@example.com")
    location = create_upload(stack.gateway, tokens, length=3 * CHUNK)
    digest = hashlib.sha256(f"Bearer {tokens['access']}".encode()).hexdigest()
    token = tokens["access"].encode()
    signature = token.rsplit(b".", 1)[1]

    for index in range(2):
        expect(send_chunk(location, tokens, index * CHUNK, b"a" * CHUNK, f"e2e-chunk-{index}"), 204)

    assert "token_check=MISS " in stack.access_log_line("e2e-chunk-0")
    assert "token_check=HIT " in stack.access_log_line("e2e-chunk-1")
    kept = [path for path in remembered_token_checks(stack) if digest.encode() in path.read_bytes()]
    assert len(kept) == 1
    # A file test, not an HTTP one: the promise is about what lies on the gateway's disk.
    for path in remembered_token_checks(stack):
        entry = path.read_bytes()
        assert token not in entry
        assert signature not in entry


def test_a_multipart_uploads_token_is_checked_every_time(stack):
    with requests.Session() as session:
        tokens = register(session, stack.gateway, "e2e-token-checks-multipart@example.com")
        for index in range(2):
            response = session.post(
                f"{stack.gateway}/api/media/media/",
                headers={**bearer(tokens), "X-Request-ID": f"e2e-multipart-check-{index}"},
                data={"name": "x", "type": "image"},
                files={"file": ("x.jpg", jpeg_bytes(), "image/jpeg")},
                timeout=30,
            )
            expect(response, 201)
            line = stack.access_log_line(f"e2e-multipart-check-{index}")
            assert "token_check=BYPASS " in line


def test_a_token_revoked_after_the_gateway_remembered_it_is_the_services_401(stack):
    with requests.Session() as session:
        tokens = register(session, stack.gateway, "e2e-revoked-token@example.com")
        location = create_upload(stack.gateway, tokens, length=3 * CHUNK)
        expect(send_chunk(location, tokens, 0, b"a" * CHUNK, "e2e-before-sign-out"), 204)
        expect(
            session.post(
                f"{stack.gateway}/api/auth/logout/",
                headers=bearer(tokens),
                json={"refresh": tokens["refresh"]},
                timeout=10,
            ),
            205,
        )
        assert wait_until(
            lambda: (
                session.get(
                    f"{stack.gateway}/api/media/media/", headers=bearer(tokens), timeout=10
                ).status_code
                == 401
            ),
            timeout=10,
        ), "the media service learns of the sign-out"
        # One worker knows; each of the others reads the marks at its next look (once a second
        # without Redis).
        time.sleep(FILE_POLL_SECONDS + 0.5)

        refused = send_chunk(location, tokens, CHUNK, b"b" * CHUNK, "e2e-after-sign-out")

        assert refused.status_code == 401, refused.text
        assert refused.json()["code"] == "token_not_valid"
        # The gateway let it through on what it remembered; the service refused it.
        line = stack.access_log_line("e2e-after-sign-out")
        assert "token_check=HIT " in line
        assert "upstream_status=401 " in line
        again = login(session, stack.gateway, "e2e-revoked-token@example.com")
        assert server_offset(location, again) == CHUNK


@pytest.fixture(scope="module")
def large_stack(tmp_path_factory, object_store):
    """A stack whose upload limit takes a 200 MiB file; its files in the bucket with
    E2E_MEDIA_STORAGE=s3, where the upload's 8 MiB chunks are joined by the store."""
    storage_env = (
        # Parts of the file sent from the node twice the chunks' size: a file sent again would
        # show half as many parts as the store's join of the chunks (the test below tells them
        # apart by the object's ETag).
        {**object_store.env(prefix="e2e-large"), "S3_UPLOAD_PART_BYTES": str(2 * LARGE_CHUNK)}
        if object_store is not None
        else {}
    )
    spec = StackSpec(
        label="e2e-large",
        workdir=tmp_path_factory.mktemp("large-stack"),
        ports=preferred_from_env("E2E_LARGE", devstack.Ports(3050, 8050, 8051)),
        env={"MAX_UPLOAD_SIZE": str(256 * 1024 * 1024), "GUNICORN_WORKERS": "2", **storage_env},
    )
    with devstack.running(spec) as running:
        yield running


@pytest.mark.parametrize("kind", ["tuspy", "tus-js-client"])
def test_a_200_mib_upload_resumed_twice_is_byte_exact(
    large_stack, tus_js, tmp_path, kind, object_store
):
    with requests.Session() as session:
        tokens = register(session, large_stack.gateway, f"e2e-large-{kind}@example.com")
    path = wav_file(tmp_path / "voice-memo.wav", LARGE)
    options = {"file": path, "token": tokens["access"], "chunk_size": LARGE_CHUNK}

    first = run_client(
        kind,
        tus_js,
        endpoint=f"{large_stack.gateway}/api/media/uploads/",
        metadata=json.dumps({"filename": "voice-memo.wav", "type": "audio"}),
        stop_after_chunks=5,
        **options,
    )
    assert server_offset(first["url"], tokens) == 5 * LARGE_CHUNK
    second = run_client(kind, tus_js, upload_url=first["url"], stop_after_chunks=10, **options)
    assert server_offset(first["url"], tokens) == 15 * LARGE_CHUNK
    third = run_client(kind, tus_js, upload_url=first["url"], **options)

    assert (first["done"], second["done"], third["done"]) == (False, False, True)
    media_id = (
        third["mediaId"]
        or requests.head(first["url"], headers={**bearer(tokens), **TUS}, timeout=30).headers[
            "Media-Id"
        ]
    )
    media = settled(large_stack.gateway, tokens, media_id)
    assert (media["type"], media["size"]) == ("audio", LARGE)
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(8 * 1024 * 1024):
            digest.update(block)
    assert media["checksum_sha256"] == digest.hexdigest()
    assert stored_bytes_digest(media["file"]) == digest.hexdigest()
    if object_store is not None:
        # Joined by the store from the chunks (a multipart object's ETag counts its parts: one
        # per chunk), not sent again from the node (in parts of twice their size: above).
        key = f"{large_stack.env['S3_PREFIX']}/{media['storage_path']}"
        etag = object_store.client().head_object(Bucket=object_store.bucket, Key=key)["ETag"]
        assert etag.strip('"').endswith(f"-{LARGE // LARGE_CHUNK}")
