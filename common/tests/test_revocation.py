"""common.revocation: marks published by the auth service reach every media worker's local copy
within seconds, through a real store (a SQLite file, Redis), and the check fails open while the
store cannot be read."""

import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from common import revocation
from common.revocation import FileStore, Mark, Publisher, RedisStore, RevocationList

ISSUED = 1_800_000_000  # a token's `iat`


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def mark(key: str, at: float = ISSUED + 10, lifetime: float = 3600) -> Mark:
    return Mark(key, at, time.time() + lifetime)


@pytest.fixture
def file_store(tmp_path) -> FileStore:
    return FileStore(tmp_path / "marks.sqlite3")


@pytest.fixture
def following():
    """A RevocationList following a store, stopped at the end of the test."""
    lists = []

    def follow(store) -> RevocationList:
        marks = RevocationList(store)
        lists.append(marks)
        marks.start()
        return marks

    yield follow
    for marks in lists:
        marks.stop()


def test_a_session_mark_refuses_every_token_of_that_session():
    marks = {"s:abc": Mark("s:abc", ISSUED + 0.5, time.time() + 60)}

    assert revocation.is_revoked(marks, user_id=1, session_id="abc", iat=ISSUED)
    # Signed by a refresh that read the session live just before it ended.
    assert revocation.is_revoked(marks, user_id=1, session_id="abc", iat=ISSUED + 1)
    assert not revocation.is_revoked(marks, user_id=1, session_id="other", iat=ISSUED)
    assert not revocation.is_revoked(marks, user_id=1, session_id=None, iat=ISSUED)


def test_a_user_mark_refuses_tokens_issued_in_earlier_seconds_only():
    # A new sign-in in the same second as a password reset must work: its session is new.
    marks = {"u:7": Mark("u:7", ISSUED + 0.5, time.time() + 60)}

    assert revocation.is_revoked(marks, user_id=7, session_id="any", iat=ISSUED - 1)
    assert revocation.is_revoked(marks, user_id=7, session_id=None, iat=ISSUED - 1)
    assert not revocation.is_revoked(marks, user_id=7, session_id="new", iat=ISSUED)
    assert not revocation.is_revoked(marks, user_id=8, session_id=None, iat=ISSUED - 1)


def test_marks_live_as_long_as_an_access_token_could(settings):
    (made,) = revocation.marks_for(session_ids=["abc"], at=ISSUED)

    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
    assert made.key == "s:abc"
    assert made.not_before == ISSUED
    assert made.expires_at >= ISSUED + lifetime + settings.SIMPLE_JWT["LEEWAY"]


def test_a_worker_following_a_file_store_sees_new_marks_within_two_seconds(file_store, following):
    worker = following(file_store)
    assert worker.wait_loaded(5)
    published_at = time.monotonic()

    file_store.publish([mark("s:abc")])

    assert wait_for(lambda: worker.is_revoked(user_id=1, session_id="abc", iat=ISSUED))
    assert time.monotonic() - published_at < 2


def test_a_worker_starting_later_loads_the_marks_already_published(file_store, following):
    file_store.publish([mark("s:abc"), mark("u:7")])

    worker = following(file_store)

    assert worker.wait_loaded(5)
    assert worker.is_revoked(user_id=1, session_id="abc", iat=ISSUED)
    assert worker.is_revoked(user_id=7, session_id=None, iat=ISSUED)


def test_expired_marks_are_dropped_by_the_store_and_the_worker(file_store, following):
    file_store.publish([mark("s:old", lifetime=-1)])
    file_store.publish([mark("s:new")])

    worker = following(file_store)

    assert worker.wait_loaded(5)
    assert set(worker.marks) == {"s:new"}


def test_the_check_runs_no_io_on_the_requests_path(file_store, following, tmp_path):
    worker = following(file_store)
    assert worker.wait_loaded(5)
    file_store.path.unlink()  # a store that vanished: a request must not notice

    assert not worker.is_revoked(user_id=1, session_id="abc", iat=ISSUED)


def test_a_worker_whose_store_is_unreadable_accepts_tokens_and_catches_up_later(
    tmp_path, following
):
    # A folder where the file should be: the store cannot be opened until it is replaced.
    path = tmp_path / "marks.sqlite3"
    path.mkdir()
    worker = following(FileStore(path))

    assert not worker.wait_loaded(1.5)
    assert not worker.is_following
    assert not worker.is_revoked(user_id=1, session_id="abc", iat=ISSUED)

    path.rmdir()
    FileStore(path).publish([mark("s:abc")])
    assert wait_for(lambda: worker.is_revoked(user_id=1, session_id="abc", iat=ISSUED))


def test_the_publisher_keeps_marks_the_store_refuses_and_publishes_them_later(tmp_path):
    path = tmp_path / "marks.sqlite3"
    path.mkdir()
    publisher = Publisher(FileStore(path))

    assert publisher.publish([mark("s:abc")]) is False

    path.rmdir()
    assert wait_for(lambda: not publisher.pending)
    assert "s:abc" in snapshot(FileStore(path))


class SlowStore(FileStore):
    """A SQLite file store that takes marks only once `answer` is set (a store slow to answer)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.answer = threading.Event()
        self.asked = threading.Event()

    def publish(self, marks: list[Mark]) -> None:
        self.asked.set()
        self.answer.wait(10)
        super().publish(marks)


def test_marks_on_their_way_to_the_store_are_still_pending(tmp_path):
    path = tmp_path / "marks.sqlite3"
    path.mkdir()
    store = SlowStore(path)
    store.answer.set()
    publisher = Publisher(store)
    assert publisher.publish([mark("s:abc")]) is False  # a directory: refused, kept
    store.answer.clear()
    store.asked.clear()
    path.rmdir()

    assert store.asked.wait(10)  # the retry is on its way
    assert [kept.key for kept in publisher.pending] == ["s:abc"]  # not published yet
    store.answer.set()
    assert wait_for(lambda: not publisher.pending)
    assert "s:abc" in snapshot(FileStore(path))


def test_the_store_is_chosen_by_its_url(tmp_path):
    assert isinstance(
        revocation.store_from_url(f"file://{tmp_path}/m.sqlite3", namespace="x"), FileStore
    )
    assert isinstance(
        revocation.store_from_url("redis://127.0.0.1:6379/0", namespace="x"), RedisStore
    )
    with pytest.raises(ValueError, match="REVOCATION_STORE"):
        revocation.store_from_url("memcached://x", namespace="x")


def test_the_default_namespace_follows_the_shared_key():
    one = revocation_namespace_for("key-one")
    assert one == revocation_namespace_for("key-one")
    assert one != revocation_namespace_for("key-two")
    assert "key-one" not in one


def revocation_namespace_for(key: str) -> str:
    from common.settings import revocation_namespace

    return revocation_namespace({"ALGORITHM": "HS256", "SIGNING_KEY": key})


def snapshot(store) -> dict[str, Mark]:
    """Every mark in the store, read once as a worker starting now would."""
    loaded: dict[str, Mark] = {}
    stop = threading.Event()

    def replace_all(marks: list[Mark]) -> None:
        loaded.update({m.key: m for m in marks})
        stop.set()

    store.follow(replace_all=replace_all, add=replace_all, stop=stop)
    return loaded


# --- Redis -------------------------------------------------------------------------------------


@pytest.fixture
def redis_store() -> RedisStore:
    # The shared Redis, with a namespace of this test's own (nothing else is touched).
    return RedisStore("redis://127.0.0.1:6379/0", namespace=f"test-{uuid.uuid4().hex}")


@pytest.mark.redis
def test_a_worker_following_redis_sees_a_mark_at_once(redis_store, following):
    worker = following(redis_store)
    assert worker.wait_loaded(5)
    published_at = time.monotonic()

    redis_store.publish([mark("s:abc")])

    assert wait_for(lambda: worker.is_revoked(user_id=1, session_id="abc", iat=ISSUED))
    assert time.monotonic() - published_at < 1
    _forget(redis_store)


@pytest.mark.redis
def test_a_worker_starting_later_loads_the_marks_from_redis(redis_store, following):
    redis_store.publish([mark("s:abc"), mark("s:old", lifetime=-1)])
    redis_store.publish([mark("u:7")])  # publishing prunes what has expired

    worker = following(redis_store)

    assert worker.wait_loaded(5)
    assert set(worker.marks) == {"s:abc", "u:7"}
    _forget(redis_store)


@pytest.mark.redis
def test_pruning_redis_keeps_a_mark_written_again_while_it_prunes(monkeypatch):
    # `u:7` has expired, and another auth worker is about to write it again (the user's password
    # changed again): this worker's pruning must not delete the fresh mark.
    namespace = f"test-{uuid.uuid4().hex}"
    store = RedisStore("redis://127.0.0.1:6379/0", namespace=namespace)
    other_worker = RedisStore("redis://127.0.0.1:6379/0", namespace=namespace)
    store._client.hset(store.hash_key, "u:7", mark("u:7", lifetime=-1).encode())
    store._client.zadd(store.expiry_key, {"u:7": time.time() - 1})
    fresh = mark("u:7", at=ISSUED + 99)
    fresh_published = threading.Event()
    pipeline = store._client.pipeline

    def pipeline_then_the_other_worker_publishes(*args, **kwargs):
        # The other worker writes just after this worker's first round trip, which found `u:7`
        # expired: the interleaving a prune in two steps loses the fresh mark to.
        pipe = pipeline(*args, **kwargs)
        execute = pipe.execute

        def execute_then_publish(*args, **kwargs):
            result = execute(*args, **kwargs)
            if not fresh_published.is_set():
                fresh_published.set()
                other_worker.publish([fresh])
            return result

        pipe.execute = execute_then_publish
        return pipe

    monkeypatch.setattr(store._client, "pipeline", pipeline_then_the_other_worker_publishes)

    store.publish([mark("s:abc")])

    assert fresh_published.is_set()
    assert snapshot(store)["u:7"] == fresh
    assert store._client.zscore(store.expiry_key, "u:7") == fresh.expires_at
    _forget(store)


def _forget(store: RedisStore) -> None:
    store._client.delete(store.hash_key, store.expiry_key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnRedis:
    """A redis-server of this test's own, which it can stop and start again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 -- the system's redis-server, our options
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        assert wait_for(self._answers), "redis-server did not start"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def _answers(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0


@pytest.fixture
def own_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed (scripts/install_system_packages.sh)")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.mark.redis
def test_while_redis_is_down_tokens_are_accepted_and_marks_reach_the_worker_after(
    own_redis, following
):
    url = f"redis://127.0.0.1:{own_redis.port}/0"
    worker = following(RedisStore(url, namespace="down-and-up"))
    assert worker.wait_loaded(5)
    publisher = Publisher(RedisStore(url, namespace="down-and-up"))

    own_redis.stop()
    assert wait_for(lambda: not worker.is_following)
    started = time.monotonic()
    assert not worker.is_revoked(user_id=1, session_id="abc", iat=ISSUED)  # fail open
    assert time.monotonic() - started < 0.05
    assert publisher.publish([mark("s:abc")]) is False  # kept by the auth service

    own_redis.start()  # empty: the mark reaches it from the publisher's retry, the worker on reload
    assert wait_for(lambda: worker.is_revoked(user_id=1, session_id="abc", iat=ISSUED), 10)
    assert worker.is_following


def test_a_workers_first_check_waits_for_the_marks_to_load(file_store):
    file_store.publish([mark("s:abc")])
    worker = RevocationList(file_store)  # not started: a worker just forked

    try:
        assert worker.is_revoked(user_id=1, session_id="abc", iat=ISSUED)
    finally:
        worker.stop()


def test_a_first_check_waits_a_bounded_time_when_the_store_is_unreadable(tmp_path):
    path = tmp_path / "marks.sqlite3"
    path.mkdir()
    worker = RevocationList(FileStore(path))

    started = time.monotonic()
    try:
        assert not worker.is_revoked(user_id=1, session_id="abc", iat=ISSUED)
        assert time.monotonic() - started < revocation.FIRST_LOAD_WAIT_SECONDS + 0.5
        started = time.monotonic()
        assert not worker.is_revoked(user_id=1, session_id="abc", iat=ISSUED)
        assert time.monotonic() - started < 0.05  # only the first check waits
    finally:
        worker.stop()
