"""`make compose-smoke`: docker-compose.yml built and run for real, once under each Compose found.

For Compose v1.29 (`docker-compose`) and v2 (`docker compose`), each on its own project and a
spare loopback port: build the images, start the stack, load the web app, register, upload a
real PNG, download it through the signed URL (nginx sends it from the shared volume on the media
service's X-Accel-Redirect), stop the stack (`down`, volumes kept) and start it again, check the
account, the token, the record and the bytes survived, then `down -v`. Once more under one
Compose with the optional object store (`--profile object-store`, MEDIA_STORAGE=s3): the file
goes to the bucket and comes back through the gateway from the store (no restart there: the
stand-in store, scripts/docker-standins/minio, keeps objects in memory). The stack is torn down
whatever happens (a failure, Ctrl-C, the Makefile's timeout); a failure prints the services' logs
first. Needs a Docker engine and the base images (scripts/install_docker.sh,
scripts/docker_base_images.sh); docs/compose.md has the figures.
"""

import argparse
import base64
import hashlib
import io
import json
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
COMPOSES = {"v1": ["docker-compose"], "v2": ["docker", "compose"]}
PASSWORD = "strongpassword"  # noqa: S105 -- the README's example, for a throw-away account
BUILD_TIMEOUT = 1200  # seconds; a cold build downloads every requirement
STEP_TIMEOUT = 300
HEALTHY_TIMEOUT = 180


class SmokeFailure(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def expect(response: requests.Response, status: int) -> requests.Response:
    check(
        response.status_code == status,
        f"{response.request.method} {response.url}: {response.status_code}, expected {status}: "
        f"{response.text[:500]}",
    )
    return response


def compose_version(command: list[str]) -> str | None:
    """The version a Compose command reports, or None where that command is not installed."""
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 -- one of COMPOSES, found on the PATH
            [*command, "version", "--short"], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def docker_volumes() -> set[str]:
    listed = subprocess.run(
        ["docker", "volume", "ls", "--quiet"],  # noqa: S607 -- the docker CLI on the PATH
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return set(listed.stdout.split())


def png_bytes() -> bytes:
    image = Image.new("RGB", (64, 48), (30, 90, 160))
    ImageDraw.Draw(image).ellipse((8, 8, 40, 40), fill=(240, 200, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Stack:
    """One Compose project of docker-compose.yml, on its own env file and loopback port."""

    command: list[str]
    project: str
    env_file: Path
    port: int
    # With `--profile object-store` and the files in its bucket (MEDIA_STORAGE=s3).
    object_store: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def compose(
        self, *args: str, timeout: float = STEP_TIMEOUT, check: bool = True, quiet: bool = True
    ) -> subprocess.CompletedProcess:
        argv = [
            *self.command,
            "--project-name",
            self.project,
            "--env-file",
            str(self.env_file),
            "--file",
            str(REPO / "docker-compose.yml"),
            *(["--profile", "object-store"] if self.object_store else []),
            *args,
        ]
        done = subprocess.run(  # noqa: S603 -- one of COMPOSES, our own arguments
            argv, cwd=REPO, capture_output=quiet, text=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            output = (done.stdout or "") + (done.stderr or "")
            raise SmokeFailure(f"{' '.join(argv)} exited {done.returncode}:\n{output[-3000:]}")
        return done

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.timings[step] = time.monotonic() - started
        print(f"    {step}: {self.timings[step]:.1f} s", flush=True)

    def start(self) -> None:
        self.compose("up", "--detach")
        deadline = time.monotonic() + HEALTHY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                health = requests.get(f"{self.url}/health", timeout=5)
                if health.status_code == 200 and health.json().get("status") == "ok":
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise SmokeFailure(f"the gateway's /health was not ok within {HEALTHY_TIMEOUT} s")

    def exec(self, service: str, *argv: str) -> str:
        return self.compose("exec", "-T", service, *argv).stdout

    def print_logs(self) -> None:
        logs = self.compose("logs", "--no-color", "--tail", "60", check=False)
        print(logs.stdout[-12000:], logs.stderr[-2000:], sep="\n", file=sys.stderr)


@dataclass
class Seeded:
    email: str
    access: str
    media_id: str
    content: bytes


def register(stack: Stack) -> tuple[str, dict]:
    """A new account: its email and the registration's answer (with its tokens)."""
    email = f"smoke-{secrets.token_hex(4)}@example.com"
    registered = expect(
        requests.post(
            f"{stack.url}/api/auth/register/",
            json={"email": email, "password": PASSWORD, "first_name": "Smoke", "last_name": "Test"},
            timeout=30,
        ),
        201,
    ).json()
    return email, registered


def seed(stack: Stack) -> Seeded:
    """An account and an uploaded PNG, downloaded the way the mobile app loads it."""
    # The web app, built in the Dockerfile's `web` stage, is what the gateway serves at /.
    home = expect(requests.get(f"{stack.url}/", timeout=30), 200)
    check(home.headers.get("Content-Type", "").startswith("text/html"), "/ is not the web app")
    email, registered = register(stack)
    bearer = {"Authorization": f"Bearer {registered['access']}"}
    content = png_bytes()
    media = expect(
        requests.post(
            f"{stack.url}/api/media/media/",
            headers=bearer,
            data={"name": "smoke.png", "type": "image", "description": "compose smoke"},
            files={"file": ("smoke.png", content, "image/png")},
            timeout=30,
        ),
        201,
    ).json()
    check(media["mime_type"] == "image/png", f"mime_type {media['mime_type']!r}")
    check((media["width"], media["height"]) == (64, 48), f"size {media['width']}x{media['height']}")
    check(media["checksum_sha256"] == hashlib.sha256(content).hexdigest(), "checksum differs")
    check(
        media["file"].startswith(f"{stack.url}/"), f"file URL not on the gateway: {media['file']}"
    )

    download = expect(requests.get(media["file"], timeout=30), 200)  # no Authorization header
    check(download.content == content, "the downloaded bytes differ from the upload")
    check(download.headers.get("Content-Type") == "image/png", "Content-Type is not image/png")
    # nginx's static file handler answers (Accept-Ranges, ETag); Django's empty answer does not.
    check(download.headers.get("Accept-Ranges") == "bytes", "no Accept-Ranges: not sent by nginx")
    check(bool(download.headers.get("ETag")), "no ETag: not sent by nginx")
    check("X-Accel-Redirect" not in download.headers, "X-Accel-Redirect leaked to the client")
    ranged = expect(requests.get(media["file"], headers={"Range": "bytes=0-7"}, timeout=30), 206)
    check(ranged.content == content[:8], "the Range answer has other bytes")

    # The media service itself, asked as nginx asks it (X-Sendfile-Type), answers the signed URL
    # with the redirect only; the bytes are on the shared volume, readable by the gateway's user.
    path = media["file"].removeprefix(stack.url)
    direct = stack.exec(
        "media",
        "python",
        "-c",
        "import json, sys, urllib.request; "
        "request = urllib.request.Request('http://127.0.0.1:8001' + sys.argv[1], "
        "headers={'Host': sys.argv[2], 'X-Sendfile-Type': 'X-Accel-Redirect'}); "
        "answer = urllib.request.urlopen(request, timeout=10); "
        "print(json.dumps([answer.headers.get('X-Accel-Redirect'), len(answer.read())]))",
        path,
        f"127.0.0.1:{stack.port}",
    )
    redirect, body_length = json.loads(direct)
    check(body_length == 0, "the media service sent the bytes itself")
    if stack.object_store:
        # nginx fetches a presigned URL of the store (its internal /_protected_s3/ location).
        prefix = "/_protected_s3/http/object-store:9000/"
        check(redirect.startswith(prefix), f"the media service's X-Accel-Redirect is {redirect!r}")
        check_in_bucket(stack, media["storage_path"])
    else:
        expected = f"/_protected_media/{media['storage_path']}"
        check(redirect == expected, f"the media service's X-Accel-Redirect is {redirect!r}")
        stack.exec("gateway", "test", "-r", f"/app/media/{media['storage_path']}")
    return Seeded(email=email, access=registered["access"], media_id=media["id"], content=content)


def bucket_keys(stack: Stack) -> list[str]:
    """The keys in the bucket, listed from the media container with the services' own S3_*
    settings."""
    return stack.exec(
        "media",
        "python",
        "-c",
        "import os, boto3; "
        "client = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT_URL'], "
        "aws_access_key_id=os.environ['S3_ACCESS_KEY_ID'], "
        "aws_secret_access_key=os.environ['S3_SECRET_ACCESS_KEY'], region_name='us-east-1'); "
        "listing = client.list_objects_v2(Bucket=os.environ['S3_BUCKET']); "
        "print('\\n'.join(item['Key'] for item in listing.get('Contents', [])))",
    ).split()


def check_in_bucket(stack: Stack, storage_path: str) -> None:
    """The stored file is an object of the bucket, and nothing is on the media volume."""
    keys = bucket_keys(stack)
    check(
        any(key.endswith(storage_path) for key in keys),
        f"{storage_path} is not in the bucket: {keys}",
    )
    on_disk = stack.exec("media", "sh", "-c", "find /app/media -type f | head -5")
    check(storage_path not in on_disk, f"the file is on the media volume too: {on_disk}")


def check_resumable(stack: Stack) -> None:
    """A resumable (tus) upload in two chunks through the gateway becomes a media (another
    account's: the seeded one keeps its single media for the restart check). With the object
    store, the first chunk waits in the bucket (under resumable/), not on a volume, and is gone
    once the upload is finished."""
    _, registered = register(stack)
    tus = {"Authorization": f"Bearer {registered['access']}", "Tus-Resumable": "1.0.0"}
    content = png_bytes()
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in {"filename": "smoke-tus.png", "type": "image"}.items()
    )
    created = requests.post(
        f"{stack.url}/api/media/uploads/",
        headers={**tus, "Upload-Length": str(len(content)), "Upload-Metadata": metadata},
        timeout=30,
    )
    url = expect(created, 201).headers["Location"]
    check(url.startswith(f"{stack.url}/"), f"the upload's URL is not on the gateway: {url}")
    half = len(content) // 2
    chunk = {**tus, "Content-Type": "application/offset+octet-stream"}
    first = requests.patch(
        url, data=content[:half], headers={**chunk, "Upload-Offset": "0"}, timeout=30
    )
    expect(first, 204)
    if stack.object_store:
        waiting = [key for key in bucket_keys(stack) if "resumable/" in key]
        check(len(waiting) == 1, f"the first chunk is not one object of the bucket: {waiting}")
        on_disk = stack.exec("media", "sh", "-c", "find /app/media -path '*resumable*' -type f")
        check(not on_disk.strip(), f"the media volume holds the chunk: {on_disk}")
    last = requests.patch(
        url, data=content[half:], headers={**chunk, "Upload-Offset": str(half)}, timeout=30
    )
    media_id = expect(last, 204).headers.get("Media-Id", "")
    media = expect(
        requests.get(f"{stack.url}/api/media/media/{media_id}/", headers=tus, timeout=30), 200
    ).json()
    download = expect(requests.get(media["file"], timeout=30), 200)
    check(download.content == content, "the resumable upload's bytes differ")
    if stack.object_store:
        left = [key for key in bucket_keys(stack) if "resumable/" in key]
        check(not left, f"the chunks stayed in the bucket: {left}")


def check_worker(stack: Stack) -> None:
    """The job worker is up and takes messages from the broker (a ping goes through Redis)."""
    answer = stack.exec(
        "worker",
        "sh",
        "-c",
        "cd backend_server && python -c "
        "'from backend_server.celery import app; print(app.control.ping(timeout=10))'",
    )
    check("pong" in answer, f"the job worker did not answer a ping: {answer!r}")


def check_docs(stack: Stack) -> None:
    """The API docs render from the image's own static files: Swagger UI's script is linked under
    a hashed name (collectstatic ran when the image was built) and served for a year."""
    page = expect(requests.get(f"{stack.url}/api/media/docs/", timeout=30), 200).text
    scripts = re.findall(r'src="(/api/media/static/[^"]+\.js)"', page)
    check(bool(scripts), f"the docs page links no script of its own: {page[:500]}")
    hashed = [src for src in scripts if re.search(r"\.[0-9a-f]{12}\.js$", src)]
    check(bool(hashed), f"the docs' scripts are not under hashed names: {scripts}")
    script = expect(requests.get(f"{stack.url}{hashed[0]}", timeout=30), 200)
    check("immutable" in script.headers.get("Cache-Control", ""), str(script.headers))


def verify_survived(stack: Stack, seeded: Seeded) -> None:
    """After `down` and `up`: the account, its token, the record and the file are all there."""
    logged_in = expect(
        requests.post(
            f"{stack.url}/api/auth/login/",
            json={"email": seeded.email, "password": PASSWORD},
            timeout=30,
        ),
        200,
    ).json()
    # The token from before the restart still verifies: the signing keys live in a volume too.
    old = {"Authorization": f"Bearer {seeded.access}"}
    expect(requests.get(f"{stack.url}/api/auth/profile/", headers=old, timeout=30), 200)
    bearer = {"Authorization": f"Bearer {logged_in['access']}"}
    listed = expect(
        requests.get(f"{stack.url}/api/media/media/", headers=bearer, timeout=30), 200
    ).json()
    check([item["id"] for item in listed["results"]] == [seeded.media_id], f"list: {listed}")
    media = expect(
        requests.get(f"{stack.url}/api/media/media/{seeded.media_id}/", headers=old, timeout=30),
        200,
    ).json()
    download = expect(requests.get(media["file"], timeout=30), 200)
    check(download.content == seeded.content, "the file's bytes did not survive the restart")


def smoke(name: str, command: list[str], workdir: Path, *, object_store: bool = False) -> Stack:
    port = spare_port()
    env_file = workdir / f"{name}.env"
    # Only what the smoke needs: the developer's .env is not read (--env-file replaces it).
    settings = (
        f"GATEWAY_PORT={port}\n"
        "GATEWAY_BIND_ADDRESS=127.0.0.1\n"
        f"POSTGRES_PASSWORD={secrets.token_urlsafe(16)}\n"
    )
    if object_store:
        # The README's switch to the bucket (section "Object storage").
        settings += (
            "MEDIA_STORAGE=s3\n"
            "S3_BUCKET=media-handler\n"
            "S3_ENDPOINT_URL=http://object-store:9000\n"
            f"S3_ACCESS_KEY_ID=smoke-{secrets.token_hex(4)}\n"
            f"S3_SECRET_ACCESS_KEY={secrets.token_urlsafe(24)}\n"
        )
    env_file.write_text(settings)
    stack = Stack(command, f"mh-smoke-{name}-{secrets.token_hex(3)}", env_file, port, object_store)
    print(f"==> Compose {name} ({' '.join(command)}), project {stack.project}, {stack.url}")
    volumes_before = docker_volumes()
    try:
        with stack.timed("build"):
            stack.compose("build", "--force-rm", timeout=BUILD_TIMEOUT)
        with stack.timed("up until healthy"):
            stack.start()
        with stack.timed("register, upload, download"):
            seeded = seed(stack)
        with stack.timed("resumable upload"):
            check_resumable(stack)
        with stack.timed("job worker answers"):
            check_worker(stack)
        with stack.timed("docs from the image's static files"):
            check_docs(stack)
        if not object_store:  # the stand-in store keeps nothing across a restart
            with stack.timed("down and up again"):
                stack.compose("down")
                stack.start()
            with stack.timed("data survived"):
                verify_survived(stack, seeded)
    except BaseException:
        stack.print_logs()
        raise
    finally:
        with stack.timed("down -v"):
            stack.compose("down", "--volumes", "--remove-orphans", check=False)
    # Named and anonymous: nothing of the stack's may outlive `down -v`.
    left_behind = docker_volumes() - volumes_before
    check(not left_behind, f"volumes left behind: {sorted(left_behind)}")
    return stack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--compose",
        choices=sorted(COMPOSES),
        action="append",
        help="the Compose to run under (repeatable); default: every one installed",
    )
    parser.add_argument(
        "--no-object-store",
        action="store_true",
        help="skip the run with the optional object store (by default once, under the last "
        "Compose that passed)",
    )
    options = parser.parse_args()
    # The Makefile's `timeout` sends SIGTERM: unwind, so the stack is torn down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))

    wanted = options.compose or sorted(COMPOSES)
    passed, failed = [], []
    with tempfile.TemporaryDirectory(prefix="compose-smoke-") as workdir:
        for name in wanted:
            version = compose_version(COMPOSES[name])
            if version is None:
                if options.compose:
                    failed.append(name)
                    print(f"==> Compose {name}: {' '.join(COMPOSES[name])} is not installed")
                else:
                    print(f"==> Compose {name}: skipped, {' '.join(COMPOSES[name])} not installed")
                continue
            started = time.monotonic()
            try:
                smoke(name, COMPOSES[name], Path(workdir))
            except (SmokeFailure, subprocess.TimeoutExpired, requests.RequestException) as error:
                failed.append(name)
                print(f"==> Compose {name} {version}: FAILED: {error}", file=sys.stderr)
            else:
                passed.append(name)
                took = time.monotonic() - started
                print(f"==> Compose {name} {version}: passed in {took:.0f} s")
        if passed and not options.no_object_store:
            name = passed[-1]
            started = time.monotonic()
            try:
                smoke(f"{name}-object-store", COMPOSES[name], Path(workdir), object_store=True)
            except (SmokeFailure, subprocess.TimeoutExpired, requests.RequestException) as error:
                failed.append(f"{name}-object-store")
                print(f"==> Compose {name} with the object store: FAILED: {error}", file=sys.stderr)
            else:
                passed.append(f"{name}-object-store")
                took = time.monotonic() - started
                print(f"==> Compose {name} with the object store: passed in {took:.0f} s")
    if not passed and not failed:
        print("compose-smoke: no Compose installed (scripts/install_docker.sh)", file=sys.stderr)
        return 1
    print(f"compose-smoke: {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
