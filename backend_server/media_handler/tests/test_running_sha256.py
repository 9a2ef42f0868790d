"""The running SHA-256 of resumable uploads (uploads.running_sha256): saved and taken up again
at any byte, read from the states rehashes saved before it, and hashing without the GIL."""

import hashlib
import random
import threading
import time

import pytest
from rehashes import PySha256

from media_handler.uploads.running_sha256 import _STATE, STATE_TAG, RunningSha256

CONTENT = random.Random(5).randbytes(300_000)
# Both sides of block boundaries (64 bytes), the empty start, and the last byte.
CUTS = [0, 1, 63, 64, 65, 127, 128, 4096, 100_001, len(CONTENT) - 1, len(CONTENT)]


def expected(content: bytes = CONTENT) -> str:
    return hashlib.sha256(content).hexdigest()


def saved_by_us(content: bytes) -> bytes:
    hasher = RunningSha256()
    hasher.update(content)
    return hasher.state()


def saved_by_rehashes(content: bytes) -> bytes:
    # An upload begun before the switch holds a rehashes state on its row.
    legacy = PySha256()
    legacy.update(content)
    return legacy.serialize()


@pytest.mark.parametrize("saved_by", [saved_by_us, saved_by_rehashes], ids=["ours", "rehashes"])
@pytest.mark.parametrize("cut", CUTS)
def test_a_state_saved_at_any_byte_goes_on_to_the_one_pass_digest(saved_by, cut):
    after = RunningSha256(saved_by(CONTENT[:cut]))
    after.update(CONTENT[cut:])

    assert after.hexdigest() == expected()


def test_a_state_saved_many_times_over_goes_on_to_the_one_pass_digest():
    hasher = RunningSha256()
    offset = 0
    for size in (7, 64, 1, 1000, 65, 250_000):
        hasher.update(CONTENT[offset : offset + size])
        hasher = RunningSha256(hasher.state())
        offset += size
    hasher.update(CONTENT[offset:])

    assert hasher.hexdigest() == expected()


def test_the_digest_so_far_leaves_the_hasher_going():
    hasher = RunningSha256()
    hasher.update(CONTENT[:1000])

    assert hasher.hexdigest() == expected(CONTENT[:1000])
    hasher.update(CONTENT[1000:])
    assert hasher.hexdigest() == expected()


def test_the_empty_input_has_sha256s_empty_digest():
    assert RunningSha256().hexdigest() == expected(b"")


@pytest.mark.parametrize(
    "state",
    [b"openssl-sha256-ctx:1:" + b"\0" * 5, b"not a state", b"\0" * 104 + b"x"],
)
def test_a_state_that_is_not_one_is_refused(state):
    with pytest.raises(ValueError, match="not a saved SHA-256 state"):
        RunningSha256(state)


@pytest.mark.parametrize(("field", "value"), [("num", 64), ("num", 1000), ("md_len", 28)])
def test_a_saved_state_whose_counts_cannot_be_is_refused(field, value):
    # OpenSSL trusts its context: a partial-block count past the block would overrun it.
    hasher = RunningSha256()
    hasher.update(CONTENT[:100])
    tag = hasher.state()[: len(STATE_TAG)]
    *h, low, high, partial, num, md_len = _STATE.unpack(hasher.state()[len(STATE_TAG) :])
    counts = {"num": num, "md_len": md_len, field: value}

    with pytest.raises(ValueError, match="not a saved SHA-256 state"):
        RunningSha256(tag + _STATE.pack(*h, low, high, partial, counts["num"], counts["md_len"]))


def test_a_saved_state_is_little_endian_whatever_the_node():
    state = RunningSha256().state()[len(STATE_TAG) :]

    assert state[:4] == (0x6A09E667).to_bytes(4, "little")  # SHA-256's first initial word
    # The whole chaining value after some bytes, as rehashes (little-endian by its format) saves
    # it. (On a little-endian machine this cannot tell native order from little-endian.)
    assert (
        saved_by_us(CONTENT[:100])[len(STATE_TAG) :][:32] == saved_by_rehashes(CONTENT[:100])[:32]
    )


def test_a_rehashes_state_with_a_full_buffer_is_refused():
    legacy = bytearray(PySha256().serialize())
    legacy[40] = 64  # the buffer's count: a block is never kept whole

    with pytest.raises(ValueError, match="not a saved SHA-256 state"):
        RunningSha256(bytes(legacy))


def woke_during_the_call(hasher, data: bytes) -> bool:
    """Whether this thread, woken as another starts `hasher.update(data)`, ran Python (it takes
    the GIL to read the clock) in the first half of that call."""
    started = threading.Event()
    call: list[float] = []

    def hash_it() -> None:
        started.set()
        call.append(time.perf_counter())
        hasher.update(data)
        call.append(time.perf_counter())

    thread = threading.Thread(target=hash_it)
    thread.start()
    started.wait()
    woke = time.perf_counter()
    thread.join()
    began, returned = call
    return woke - began < (returned - began) / 2


def test_other_threads_run_while_it_hashes():
    # With the GIL held for the whole call (as rehashes holds it) this thread wakes only as the
    # call returns, every time; a busy machine may keep it asleep once, so it has three tries.
    data = bytes(64 * 1024 * 1024)
    hasher = RunningSha256()

    tries = [woke_during_the_call(hasher, data) for _ in range(3)]

    assert any(tries)
    assert hasher.hexdigest() == expected(data * 3)
