"""The soak: SOAK_CLIENTS concurrent clients (default 50) for SOAK_SECONDS (default 30; `make soak`
runs 300) through the gateway, on throw-away PostgreSQL databases at 127.0.0.1:5432, with mixed
register/login/refresh/profile/list/search/upload/download/delete/restore/collection traffic.

Pass: zero 5xx (and zero connection errors), every upload that got a 201 downloads byte-exact
afterwards, the media rows with a file and the files under MEDIA_ROOT agree exactly (no orphan
either way, no temporary file left), and the memory of every service stays flat after warm-up.
The figures go to REL_REPORT_DIR/soak-<seconds>s.json (default var/reliability/)."""

import collections
import hashlib
import json
import os
import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from support.stored import files_under, originals, orphan_derivatives

import devstack
from devstack import client, processes, samples
from devstack.databases import query

SECONDS = float(os.environ.get("SOAK_SECONDS", "30"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "50"))
WARMUP_FRACTION = 1 / 3
# Memory after warm-up may wobble (allocator, caches, a recycled worker), not climb.
RSS_GROWTH_LIMIT_FRACTION = 0.25
RSS_GROWTH_LIMIT_KIB = 48 * 1024
REQUEST_TIMEOUT = 60


@pytest.fixture(scope="module")
def soak_stack(stack_spec):
    spec = stack_spec(
        "soak",
        database="postgres",
        env={
            "GUNICORN_WORKERS": os.environ.get("SOAK_WORKERS", "3"),
            "JWT_ACCESS_TOKEN_MINUTES": "120",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_LOG_LEVEL": "warning",
        },
    )
    with devstack.running(spec) as running:
        yield running


@dataclass
class Upload:
    media_id: str
    sha256: str
    size: int
    tokens: dict


@dataclass
class Ledger:
    """What every client did, shared (under a lock) by all of them."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    by_action: collections.Counter = field(default_factory=collections.Counter)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    server_errors: list = field(default_factory=list)
    transport_errors: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    uploads: list = field(default_factory=list)
    bytes_downloaded: int = 0

    def record(self, action: str, response: requests.Response | None, error: str = "") -> None:
        with self.lock:
            self.by_action[action] += 1
            if response is None:
                self.transport_errors.append(f"{action}: {error}")
                return
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.server_errors.append(
                    f"{action}: {response.status_code} {response.request.method} "
                    f"{response.url} {response.text[:300]}"
                )


class Client:
    """One simulated app user (who now and then signs up as someone new)."""

    def __init__(self, gw: str, ledger: Ledger, seed: int):
        self.gw = gw
        self.ledger = ledger
        self.random = random.Random(seed)
        self.http = requests.Session()
        self.tokens: dict = {}
        self.email = ""
        self.media: list[dict] = []
        self.trash: list[dict] = []
        self.collections: list[str] = []
        self.seed = seed
        self.counter = 0

    def call(self, action: str, method: str, url: str, expected=(200,), **kwargs):
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        if self.tokens and "headers" not in kwargs:
            kwargs["headers"] = client.bearer(self.tokens)
        try:
            response = self.http.request(method, url, **kwargs)
        except requests.RequestException as exc:
            self.ledger.record(action, None, repr(exc))
            return None
        self.ledger.record(action, response)
        if response.status_code not in expected and response.status_code < 500:
            with self.ledger.lock:
                self.ledger.unexpected.append(
                    f"{action}: {response.status_code} {response.text[:200]}"
                )
        return response if response.status_code in expected else None

    # Actions -----------------------------------------------------------------------------

    def register(self):
        self.email = client.unique_email(f"soak{self.seed}")
        body = {"first_name": "Soak", "last_name": "Client", "email": self.email}
        response = self.call(
            "register",
            "POST",
            f"{self.gw}/api/auth/register/",
            (201,),
            json=body | {"password": client.PASSWORD},
            headers={},
        )
        if response is not None:
            self.tokens = response.json()
            self.media, self.trash, self.collections = [], [], []

    def login(self):
        response = self.call(
            "login",
            "POST",
            f"{self.gw}/api/auth/login/",
            json={"username": self.email, "password": client.PASSWORD},
            headers={},
        )
        if response is not None:
            self.tokens = response.json()

    def refresh(self):
        response = self.call(
            "refresh",
            "POST",
            f"{self.gw}/api/auth/token/refresh/",
            json={"refresh": self.tokens["refresh"]},
            headers={},
        )
        if response is not None:
            self.tokens = {**self.tokens, "access": response.json()["access"]}

    def profile(self):
        self.call("profile", "GET", f"{self.gw}/api/auth/profile/")

    def list_media(self):
        params = self.random.choice(
            [
                {"page": 1},
                {"page_size": 50},
                {"search": "photo"},
                {"type": "audio"},
                {"ordering": "-size"},
                {"is_deleted": "true"},
            ]
        )
        self.call("list", "GET", f"{self.gw}/api/media", params=params)

    def upload(self):
        self.counter += 1
        if self.random.random() < 0.7:
            content = (
                samples.png_bytes(
                    self.random.randint(8, 64),
                    self.random.randint(8, 64),
                    seed=self.random.randint(0, 255),
                )
                + f"{self.seed}-{self.counter}-{time.time_ns()}".encode()
            )
            media_type, filename = "image", "photo.png"
        else:
            content = samples.wav_bytes(self.random.choice([0.05, 0.1, 0.2]))
            content += f"{self.seed}-{self.counter}-{time.time_ns()}".encode()
            media_type, filename = "audio", "clip.wav"
        data = {"name": f"photo {self.counter}", "type": media_type}
        if self.collections and self.random.random() < 0.3:
            data["collection"] = self.random.choice(self.collections)
        response = self.call(
            "upload",
            "POST",
            f"{self.gw}/api/media/",
            (201,),
            data=data,
            files={"file": (filename, content, "application/octet-stream")},
        )
        if response is not None:
            media = response.json()
            self.media.append(media)
            with self.ledger.lock:
                self.ledger.uploads.append(
                    Upload(
                        media["id"], hashlib.sha256(content).hexdigest(), len(content), self.tokens
                    )
                )

    def download(self):
        if not self.media:
            return
        media = self.random.choice(self.media)
        response = self.call("download", "GET", media["file"], headers={})
        if response is not None:
            with self.ledger.lock:
                self.ledger.bytes_downloaded += len(response.content)
            if hashlib.sha256(response.content).hexdigest() != media["checksum_sha256"]:
                with self.ledger.lock:
                    self.ledger.unexpected.append(f"download: wrong bytes for {media['id']}")

    def delete(self):
        if not self.media:
            return
        media = self.media.pop(self.random.randrange(len(self.media)))
        if self.call("delete", "DELETE", f"{self.gw}/api/media/{media['id']}/", (204,)):
            self.trash.append(media)

    def restore(self):
        if not self.trash:
            return
        media = self.trash.pop()
        if self.call("restore", "POST", f"{self.gw}/api/media/{media['id']}/restore/"):
            self.media.append(media)

    def collection(self):
        roll = self.random.random()
        if not self.collections or roll < 0.3:
            response = self.call(
                "collection-create",
                "POST",
                f"{self.gw}/api/media/collections/",
                (201,),
                json={"name": f"album {self.counter}"},
            )
            if response is not None:
                self.collections.append(response.json()["id"])
        elif roll < 0.6 and self.media:
            media = self.random.choice(self.media)
            self.call(
                "collection-add",
                "POST",
                f"{self.gw}/api/media/{media['id']}/add-to-collection/",
                json={"collection_id": self.random.choice(self.collections)},
            )
        elif roll < 0.75 and self.media:
            media = self.random.choice(self.media)
            self.call(
                "collection-remove",
                "POST",
                f"{self.gw}/api/media/{media['id']}/remove-from-collection/",
            )
        elif roll < 0.9:
            collection = self.random.choice(self.collections)
            self.call("collection-get", "GET", f"{self.gw}/api/media/collection/{collection}/")
        else:
            collection = self.collections.pop()
            self.call(
                "collection-delete",
                "DELETE",
                f"{self.gw}/api/media/collections/{collection}/",
                (204,),
            )

    ACTIONS = [
        ("list_media", 25),
        ("upload", 20),
        ("download", 20),
        ("collection", 10),
        ("delete", 5),
        ("restore", 3),
        ("refresh", 5),
        ("profile", 5),
        ("login", 3),
        ("register", 1),
    ]

    def run(self, deadline: float):
        self.register()
        names = [name for name, _ in self.ACTIONS]
        weights = [weight for _, weight in self.ACTIONS]
        while time.monotonic() < deadline:
            if not self.tokens:
                self.register()
                continue
            getattr(self, self.random.choices(names, weights)[0])()


class MemorySampler(threading.Thread):
    """RSS of every gunicorn and nginx process of the stack, every second."""

    def __init__(self, pgid: int, deadline: float):
        super().__init__(daemon=True)
        self.pgid = pgid
        self.deadline = deadline
        self.samples: list[tuple[float, dict[str, int]]] = []

    def run(self):
        started = time.monotonic()
        while time.monotonic() < self.deadline:
            per_service: collections.Counter = collections.Counter()
            for process in processes.in_group(self.pgid):
                per_service[processes.service_of(process.command)] += processes.status_kib(
                    process.pid
                )
            self.samples.append((time.monotonic() - started, dict(per_service)))
            time.sleep(1)

    def verdict(self, seconds: float) -> dict:
        after = [s for t, s in self.samples if t >= seconds * WARMUP_FRACTION]
        window = max(len(after) // 4, 1)
        result = {}
        for service in ("auth", "media", "gateway"):
            values = [sample.get(service, 0) for sample in after]
            start = statistics.median(values[:window])
            end = statistics.median(values[-window:])
            limit = max(start * RSS_GROWTH_LIMIT_FRACTION, RSS_GROWTH_LIMIT_KIB)
            result[service] = {
                "after_warmup_kib": int(start),
                "end_kib": int(end),
                "peak_kib": max(values),
                "growth_kib": int(end - start),
                "limit_kib": int(limit),
                "flat": end - start <= limit,
            }
        return result


def verify_upload(gw: str, upload: Upload) -> str | None:
    """None when the upload downloads byte-exact (restored first if it is in the trash)."""
    headers = client.bearer(upload.tokens)
    with requests.Session() as http:
        response = http.get(f"{gw}/api/media/{upload.media_id}/file/", headers=headers, timeout=60)
        if response.status_code == 404:
            restored = http.post(
                f"{gw}/api/media/{upload.media_id}/restore/", headers=headers, timeout=60
            )
            if restored.status_code != 200:
                return f"{upload.media_id}: restore {restored.status_code} {restored.text[:200]}"
            response = http.get(
                f"{gw}/api/media/{upload.media_id}/file/", headers=headers, timeout=60
            )
        if response.status_code != 200:
            return f"{upload.media_id}: file {response.status_code} {response.text[:200]}"
        if hashlib.sha256(response.content).hexdigest() != upload.sha256:
            return f"{upload.media_id}: {len(response.content)} bytes differ from the upload"
    return None


def rows_with_files(stack) -> set[str]:
    sql = "SELECT storage_path FROM media_handler_media WHERE checksum_sha256 <> ''"
    return {row[0] for row in query(stack.databases.media_url, sql)}


def files_on_disk(stack) -> set[str]:
    """The originals on disk; a derivative without its original counts as an orphan too."""
    everything = files_under(stack.media_root / "uploads", stack.media_root)
    return originals(everything) | orphan_derivatives(everything)


def temporary_files(stack) -> list[Path]:
    incoming = stack.media_root / ".incoming"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [path for path in incoming.glob("*") if path.is_file()]
        if not left:
            return []
        time.sleep(0.2)
    return left


def test_soak(soak_stack, report_dir):
    stack = soak_stack
    ledger = Ledger()
    started = time.monotonic()
    deadline = started + SECONDS
    sampler = MemorySampler(stack.process.pid, deadline)
    sampler.start()
    clients = [Client(stack.gateway, ledger, seed) for seed in range(CLIENTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(client.run, deadline) for client in clients]
        for future in futures:
            future.result(timeout=SECONDS + 300)
    elapsed = time.monotonic() - started
    sampler.join(timeout=10)

    with ThreadPoolExecutor(8) as pool:
        broken = [
            problem
            for problem in pool.map(
                lambda upload: verify_upload(stack.gateway, upload), ledger.uploads
            )
            if problem
        ]
    rows, files = rows_with_files(stack), files_on_disk(stack)
    left_over = temporary_files(stack)
    memory = sampler.verdict(SECONDS)

    total = sum(ledger.by_action.values())
    figures = {
        "clients": CLIENTS,
        "seconds": round(elapsed, 1),
        "requests": total,
        "requests_per_second": round(total / elapsed, 1),
        "by_action": dict(ledger.by_action.most_common()),
        "statuses": {str(k): v for k, v in sorted(ledger.statuses.items())},
        "server_errors": len(ledger.server_errors),
        "transport_errors": len(ledger.transport_errors),
        "unexpected_answers": len(ledger.unexpected),
        "uploads_201": len(ledger.uploads),
        "uploads_verified_byte_exact": len(ledger.uploads) - len(broken),
        "bytes_downloaded_during_soak": ledger.bytes_downloaded,
        "rows_with_file": len(rows),
        "files_on_disk": len(files),
        "orphan_files": len(files - rows),
        "rows_without_file": len(rows - files),
        "temporary_files_left": len(left_over),
        "memory": memory,
    }
    (report_dir / f"soak-{int(SECONDS)}s.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))

    assert not ledger.server_errors, ledger.server_errors[:20]
    assert not ledger.transport_errors, ledger.transport_errors[:20]
    assert not ledger.unexpected, ledger.unexpected[:20]
    assert ledger.uploads, "no upload succeeded"
    assert not broken, broken[:20]
    assert files == rows, {
        "orphan files": sorted(files - rows)[:10],
        "rows without a file": sorted(rows - files)[:10],
    }
    assert len(rows) == len(ledger.uploads)
    assert not left_over, left_over[:10]
    assert all(service["flat"] for service in memory.values()), memory
