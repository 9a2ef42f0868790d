"""PostgreSQL stopped and started again under load: requests during the outage get a JSON 503
quickly (no hang, no HTML, no 500), the services answer again within 5 s of the database
coming back (connection health checks), and nothing acknowledged before, during or after is
lost."""

import hashlib
import threading
import time
from dataclasses import dataclass, field

import requests
from support.stored import files_under, originals, orphan_derivatives

from devstack import client, samples
from devstack.polling import wait_until

OUTAGE_SECONDS = 6
RECOVERY_LIMIT_SECONDS = 5
HANG_LIMIT_SECONDS = 8


@dataclass
class Sample:
    started: float
    elapsed: float
    action: str
    status: int  # 0: no answer
    content_type: str = ""
    error: str = ""


@dataclass
class Load:
    """A few clients in a loop: list, upload, profile and a signed download."""

    gw: str
    tokens: dict
    samples: list = field(default_factory=list)
    uploads: dict = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _call(self, http, action, method, url, **kwargs):
        started = time.monotonic()
        try:
            response = http.request(method, url, timeout=30, **kwargs)
        except requests.RequestException as exc:
            sample = Sample(started, time.monotonic() - started, action, 0, error=repr(exc))
            response = None
        else:
            sample = Sample(
                started,
                time.monotonic() - started,
                action,
                response.status_code,
                response.headers.get("Content-Type", ""),
            )
        with self.lock:
            self.samples.append(sample)
        return response

    def client(self, number: int, deadline: float):
        headers = client.bearer(self.tokens)
        counter = 0
        with requests.Session() as http:
            while not self.stop.is_set() and time.monotonic() < deadline:
                counter += 1
                content = samples.png_bytes(seed=number) + f"{number}-{counter}".encode()
                response = self._call(
                    http,
                    "upload",
                    "POST",
                    f"{self.gw}/api/media/",
                    headers=headers,
                    data={"name": f"c{number}-{counter}", "type": "image"},
                    files={"file": ("p.png", content, "image/png")},
                )
                if response is not None and response.status_code == 201:
                    media = response.json()
                    with self.lock:
                        self.uploads[media["id"]] = hashlib.sha256(content).hexdigest()
                    self._call(http, "download", "GET", media["file"])
                self._call(http, "list", "GET", f"{self.gw}/api/media/", headers=headers)
                self._call(http, "profile", "GET", f"{self.gw}/api/auth/profile/", headers=headers)
                time.sleep(0.05)


def test_postgres_restart_mid_load(http, fault_stack, private_postgres):
    stack = fault_stack
    gw = stack.gateway
    tokens = client.register(http, gw, client.unique_email("pgfault"))
    load = Load(gw, tokens)
    threads = [
        threading.Thread(target=load.client, args=(n, time.monotonic() + 120), daemon=True)
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    time.sleep(3)

    outage_started = time.monotonic()
    private_postgres.stop("fast")
    time.sleep(1)
    health = requests.get(f"{gw}/health", timeout=15)
    time.sleep(OUTAGE_SECONDS - 1)
    private_postgres.start()
    back = time.monotonic()

    recovered = wait_until(
        lambda: any(
            s.started >= back and s.status in (200, 201) and s.action in ("list", "profile")
            for s in list(load.samples)
        ),
        timeout=RECOVERY_LIMIT_SECONDS + 10,
    )
    time.sleep(6)
    load.stop.set()
    for thread in threads:
        thread.join(timeout=60)

    samples = sorted(load.samples, key=lambda s: s.started)
    during = [s for s in samples if outage_started + 0.5 <= s.started <= back]
    after = [s for s in samples if s.started >= back + RECOVERY_LIMIT_SECONDS]
    first_success = {
        action: min(
            (
                s.started + s.elapsed - back
                for s in samples
                if s.started >= back and s.action == action and s.status in (200, 201)
            ),
            default=None,
        )
        for action in ("list", "profile", "upload")
    }
    print({"during": len(during), "after": len(after), "first_success": first_success})

    # The gateway's /health names the services whose database is gone.
    assert health.status_code == 503, health.text
    assert set(health.json()["down"]) == {"auth", "media"}, health.text
    # During the outage: answers, quickly, JSON 503s.
    assert during, "no request was made during the outage"
    assert all(s.status != 0 for s in during), [s for s in during if s.status == 0][:5]
    assert max(s.elapsed for s in during) < HANG_LIMIT_SECONDS, max(s.elapsed for s in during)
    statuses = {s.status for s in during if s.action != "download"}
    assert statuses <= {503, 200, 201}, [s for s in during if s.status not in (503, 200, 201)]
    assert 503 in statuses
    assert all(s.content_type.startswith("application/json") for s in during if s.status == 503)
    assert not [s for s in samples if s.status >= 500 and s.status != 503]
    # Back within 5 s of the database, and every request after that succeeds.
    assert recovered
    assert first_success["list"] is not None
    assert first_success["list"] <= RECOVERY_LIMIT_SECONDS, first_success
    assert first_success["profile"] <= RECOVERY_LIMIT_SECONDS, first_success
    assert after, "no request after recovery"
    assert all(s.status in (200, 201) for s in after), [s for s in after if s.status >= 300][:5]

    # Nothing lost: every acknowledged upload is there, byte-exact, and no file is orphaned.
    headers = client.bearer(tokens)
    listed = http.get(f"{gw}/api/media/?page_size=100", headers=headers, timeout=30).json()
    assert listed["count"] == len(load.uploads)
    for media_id, digest in load.uploads.items():
        got = http.get(f"{gw}/api/media/{media_id}/file/", headers=headers, timeout=30)
        assert got.status_code == 200, got.text
        assert hashlib.sha256(got.content).hexdigest() == digest
    on_disk = files_under(stack.media_root / "uploads", stack.media_root)
    assert len(originals(on_disk)) == len(load.uploads)
    assert not orphan_derivatives(on_disk)
    assert client.login(http, gw, tokens["user"]["email"])["access"]
