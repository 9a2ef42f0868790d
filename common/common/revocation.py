"""Revocation marks: how a sign-out, a password change or reset, or an account deletion at the
auth service reaches the media service's token check within seconds, with no call to the auth
service and no query per request.

The auth service publishes "not before" marks: one per ended session (`s:<sid>`: every access
token of that session is refused) and one per user whose every token must stop (`u:<user_id>`:
tokens issued in an earlier second are refused; the sessions ended with it carry their own marks,
so a token issued in the same second before the revocation is refused too, and a new sign-in in
that second is not). Each media worker keeps a local copy of the marks, fed in the background,
and checks a token against it in memory (`is_revoked`).

A mark is kept as long as an access token issued before it could still be valid (the access
lifetime and the leeway, plus a margin); after that, every token it refused has expired anyway.

Two stores, chosen by the settings (`REVOCATION_STORE`):
- Redis (`redis://…`, the default when REDIS_URL is set): a hash of the marks, a sorted set of
  their expiry, and a pub/sub channel. A worker subscribes, then loads every mark, so nothing
  published in between is missed; after a lost connection it reconnects and loads them again.
- a SQLite file both services on one machine share (`file://…`, the default otherwise, in the
  cache folder): a worker reads the marks added since its last look, once a second.

While its store cannot be read, a worker keeps the marks it has and accepts the other tokens
(fail open): a revocation then takes effect at the latest when the token expires, as it did
before marks existed, and refreshing is refused by the auth service at once either way. The
auth service keeps marks it could not publish and publishes them when the store answers again.
docs/reliability.md ("Revocation") says why.
"""

import functools
import json
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

logger = logging.getLogger(__name__)

# How often a worker following a file store looks for new marks, and how long a worker waits
# before reconnecting to a store it lost.
FILE_POLL_SECONDS = 1.0
RECONNECT_SECONDS = 1.0
# How long a worker's first check waits for the marks to load (a worker just forked or recycled
# knows none yet): past it, the store is taken as unreachable and the check fails open.
FIRST_LOAD_WAIT_SECONDS = 2.0
# Kept beyond the access lifetime and leeway: clocks of two machines are never quite equal.
MARK_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Mark:
    """Tokens of `key` issued before `not_before` are refused until `expires_at` (epoch seconds)."""

    key: str
    not_before: float
    expires_at: float

    def encode(self) -> str:
        return f"{self.not_before}:{self.expires_at}"

    @classmethod
    def decode(cls, key: str, value: str) -> "Mark":
        not_before, expires_at = value.split(":")
        return cls(key, float(not_before), float(expires_at))


def session_key(session_id: str) -> str:
    return f"s:{session_id}"


def user_key(user_id: int) -> str:
    return f"u:{user_id}"


def marks_for(
    *, session_ids: Iterable[str] = (), user_ids: Iterable[int] = (), at: float | None = None
) -> list[Mark]:
    """The marks that end the given sessions and every earlier token of the given users."""
    now = time.time() if at is None else at
    expires_at = now + mark_lifetime_seconds()
    keys = [session_key(str(sid)) for sid in session_ids] + [user_key(uid) for uid in user_ids]
    return [Mark(key, now, expires_at) for key in keys]


def is_revoked(marks: dict[str, Mark], *, user_id: int, session_id: str | None, iat: float) -> bool:
    """Whether a token (its `user_id`, `sid` and `iat` claims) is refused by these marks."""
    # A session mark refuses all of that session's tokens, whenever issued: an ended session
    # issues none, and its id is never used again, but a refresh that read the session live
    # just before it ended may sign one a second later.
    if session_id is not None and session_key(session_id) in marks:
        return True
    mark = marks.get(user_key(user_id))
    return mark is not None and iat < math.floor(mark.not_before)


def mark_lifetime_seconds() -> float:
    jwt = settings.SIMPLE_JWT
    leeway = jwt.get("LEEWAY", 0)
    leeway = leeway.total_seconds() if hasattr(leeway, "total_seconds") else float(leeway)
    return jwt["ACCESS_TOKEN_LIFETIME"].total_seconds() + leeway + MARK_MARGIN_SECONDS


class Store(Protocol):
    def publish(self, marks: list[Mark]) -> None: ...

    def follow(
        self,
        *,
        replace_all: Callable[[list[Mark]], None],
        add: Callable[[list[Mark]], None],
        stop: threading.Event,
    ) -> None:
        """Calls `replace_all` with every mark, then `add` with each new one, until `stop` is
        set (returns) or the store is lost (raises)."""


# Deletes the marks expired at ARGV[1] from the hash (KEYS[1]) and the expiry set (KEYS[2]), in
# batches (Lua's unpack has a limit on how many values it spreads).
PRUNE_SCRIPT = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for first = 1, #expired, 1000 do
    local batch = {unpack(expired, first, math.min(first + 999, #expired))}
    redis.call('HDEL', KEYS[1], unpack(batch))
    redis.call('ZREM', KEYS[2], unpack(batch))
end
return #expired
"""


class RedisStore:
    def __init__(self, url: str, *, namespace: str) -> None:
        import redis  # only where Redis is the store

        self._redis = redis
        self.url = url
        self.hash_key = f"{namespace}:revocation:marks"
        self.expiry_key = f"{namespace}:revocation:expiry"
        self.channel = f"{namespace}:revocation:published"
        self._client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        self._prune = self._client.register_script(PRUNE_SCRIPT)

    def publish(self, marks: list[Mark]) -> None:
        pipe = self._client.pipeline(transaction=True)
        for mark in marks:
            pipe.hset(self.hash_key, mark.key, mark.encode())
            pipe.zadd(self.expiry_key, {mark.key: mark.expires_at})
        pipe.publish(self.channel, json.dumps({m.key: m.encode() for m in marks}))
        # Pruned in the same transaction, by a script (atomic): expired marks read here and
        # deleted in a later step would take with them a fresh mark another worker wrote for
        # the same key in between.
        self._prune(keys=[self.hash_key, self.expiry_key], args=[time.time()], client=pipe)
        pipe.execute()

    def follow(self, *, replace_all, add, stop) -> None:
        client = self._redis.Redis.from_url(
            self.url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=5
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            # Subscribed first, then everything loaded: nothing published in between is missed.
            pubsub.subscribe(self.channel)
            replace_all(_decoded(client.hgetall(self.hash_key).items()))
            while not stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "message":
                    add(_decoded(json.loads(message["data"]).items()))
        finally:
            pubsub.close()
            client.close()


class FileStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        # AUTOINCREMENT: sequence numbers never go back, so "added since" never misses a mark.
        connection.execute(
            "CREATE TABLE IF NOT EXISTS marks (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "key TEXT NOT NULL, not_before REAL NOT NULL, expires_at REAL NOT NULL)"
        )
        return connection

    def publish(self, marks: list[Mark]) -> None:
        connection = self._connect()
        try:
            with connection:
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(
                    "INSERT INTO marks (key, not_before, expires_at) VALUES (?, ?, ?)",
                    [(m.key, m.not_before, m.expires_at) for m in marks],
                )
                connection.execute("DELETE FROM marks WHERE expires_at < ?", (time.time(),))
        finally:
            connection.close()

    def follow(self, *, replace_all, add, stop) -> None:
        connection = self._connect()
        try:
            seq, marks = self._since(connection, 0)
            replace_all(marks)
            while not stop.wait(FILE_POLL_SECONDS):
                seq, marks = self._since(connection, seq)
                if marks:
                    add(marks)
        finally:
            connection.close()

    @staticmethod
    def _since(connection: sqlite3.Connection, seq: int) -> tuple[int, list[Mark]]:
        rows = connection.execute(
            "SELECT seq, key, not_before, expires_at FROM marks WHERE seq > ? ORDER BY seq", (seq,)
        ).fetchall()
        if rows:
            seq = rows[-1][0]
        return seq, [Mark(key, not_before, expires_at) for _, key, not_before, expires_at in rows]


def _decoded(items: Iterable[tuple[bytes | str, bytes | str]]) -> list[Mark]:
    def text(value: bytes | str) -> str:
        return value.decode() if isinstance(value, bytes) else value

    return [Mark.decode(text(key), text(value)) for key, value in items]


def store_from_url(url: str, *, namespace: str) -> Store:
    scheme = urlsplit(url).scheme
    if scheme in {"redis", "rediss", "unix"}:
        return RedisStore(url, namespace=namespace)
    if scheme == "file":
        return FileStore(Path(urlsplit(url).path))
    raise ValueError(f"REVOCATION_STORE must be a redis:// or file:// URL, not {url!r}")


class RevocationList:
    """One worker's copy of the marks, followed by a background thread (started in the process
    that first asks, so each forked gunicorn worker has its own). `is_revoked` is a dictionary
    lookup: no I/O on the request's path."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.marks: dict[str, Mark] = {}
        self.is_following = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._owner_pid: int | None = None
        self._loaded = threading.Event()
        self._first_wait_over = False

    def is_revoked(self, *, user_id: int, session_id: str | None, iat: float) -> bool:
        self.start()
        if not self._first_wait_over:
            self._loaded.wait(FIRST_LOAD_WAIT_SECONDS)
            self._first_wait_over = True
        return is_revoked(self.marks, user_id=user_id, session_id=session_id, iat=iat)

    def start(self) -> None:
        if self._owner_pid == os.getpid():
            return
        with self._lock:
            if self._owner_pid == os.getpid():
                return
            # A forked process: what the parent knew (if anything) is loaded again, its own way.
            self._owner_pid = os.getpid()
            self._loaded = threading.Event()
            self._first_wait_over = False
            self.is_following = False
            self._stop.clear()
            threading.Thread(target=self._follow, name="revocation-marks", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def wait_loaded(self, timeout: float) -> bool:
        """Whether the marks were loaded from the store within `timeout` seconds (tests)."""
        self.start()
        return self._loaded.wait(timeout)

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.store.follow(replace_all=self._replace_all, add=self._add, stop=self._stop)
            except Exception:
                if self.is_following:
                    logger.warning(
                        "revocation marks: lost the store; accepting tokens on the marks known "
                        "until it answers again",
                        exc_info=True,
                    )
                self.is_following = False
                self._stop.wait(RECONNECT_SECONDS)

    def _replace_all(self, marks: list[Mark]) -> None:
        now = time.time()
        # Kept: marks received meanwhile, which the store's list may not have yet.
        current = {key: mark for key, mark in self.marks.items() if mark.expires_at > now}
        for mark in marks:
            if mark.expires_at > now:
                current[mark.key] = _later(current.get(mark.key), mark)
        self.marks = current
        self.is_following = True
        self._loaded.set()

    def _add(self, marks: list[Mark]) -> None:
        updated = dict(self.marks)
        for mark in marks:
            updated[mark.key] = _later(updated.get(mark.key), mark)
        now = time.time()
        self.marks = {key: mark for key, mark in updated.items() if mark.expires_at > now}


def _later(known: Mark | None, new: Mark) -> Mark:
    return new if known is None or new.not_before >= known.not_before else known


class Publisher:
    """Publishes marks from the auth service; marks the store refuses are kept and published
    again each second by a background thread until it takes them (or they expire)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending: list[Mark] = []
        self._lock = threading.Lock()
        self._retrying = False

    def publish(self, marks: list[Mark]) -> bool:
        """True when the store took the marks (and any kept from before), else False. Kept
        marks stay `pending` until the store has taken them (not while they are on their way:
        an empty `pending` means published)."""
        with self._lock:
            batch = [*self.pending, *marks]
        try:
            self.store.publish(batch)
        except Exception:
            logger.warning("revocation marks: the store refused %d marks; will retry", len(batch))
            self._keep(marks)
            return False
        taken = {id(mark) for mark in batch}
        with self._lock:
            self.pending = [mark for mark in self.pending if id(mark) not in taken]
        return True

    def _keep(self, marks: list[Mark]) -> None:
        """Keep `marks` with those pending already (expired ones go), and retry them."""
        now = time.time()
        with self._lock:
            self.pending = [mark for mark in [*self.pending, *marks] if mark.expires_at > now]
            start = not self._retrying and bool(self.pending)
            self._retrying = self._retrying or start
        if start:
            threading.Thread(target=self._retry, name="revocation-retry", daemon=True).start()

    def _retry(self) -> None:
        while True:
            time.sleep(RECONNECT_SECONDS)
            with self._lock:
                if not self.pending:
                    self._retrying = False
                    return
            if self.publish([]):
                with self._lock:
                    if not self.pending:
                        self._retrying = False
                        return


@functools.cache
def revocation_store() -> Store:
    return store_from_url(settings.REVOCATION_STORE, namespace=settings.REVOCATION_NAMESPACE)


@functools.cache
def publisher() -> Publisher:
    return Publisher(revocation_store())


@functools.cache
def revocation_list() -> RevocationList:
    return RevocationList(revocation_store())


def publish(marks: list[Mark]) -> bool:
    """Publishes marks (the auth service); see Publisher."""
    return publisher().publish(marks) if marks else True


@receiver(setting_changed)
def _forget_store(*, setting: str, **kwargs) -> None:
    if setting in {"REVOCATION_STORE", "REVOCATION_NAMESPACE", "SIMPLE_JWT"}:
        if revocation_list.cache_info().currsize:
            revocation_list().stop()
        revocation_list.cache_clear()
        publisher.cache_clear()
        revocation_store.cache_clear()
