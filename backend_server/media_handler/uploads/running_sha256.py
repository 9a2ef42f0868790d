"""The running SHA-256 of a resumable upload: fed each PATCH's bytes as they arrive, its state
saved on the upload's row between PATCHes (any worker of any node takes the next one), so the
finished file is never read again for its checksum.

It is OpenSSL's SHA-256, the one hashlib uses, called through ctypes:
- a foreign call releases the GIL, so while a MiB is hashed the worker's other threads run (the
  request's thread reading the next MiB of the body, other uploads), as they do beside hashlib;
- its context, SHA256_CTX, is a public struct of <openssl/sha.h>, plain data: saved and
  restored as its bytes. hashlib keeps its state private.

rehashes (RustCrypto's SHA-256 with a serializable state, used before) held the GIL for the
0.6 ms of every MiB; the request's thread then waited to read the body, and a tus upload lost
about a fifth of its throughput to it (docs/performance.md). A state it saved (an upload begun
before the switch) is read too: it holds the same numbers in another layout.
"""

import _hashlib
import ctypes
import functools
import struct

# A saved state: this tag, then the SHA256_CTX's fields in a fixed (little-endian) order, so a
# node of any byte order takes it up: h[8], Nl, Nh (u32), the partial block (64 bytes, as
# OpenSSL keeps it), num, md_len (u32). Nodes of an older release do not read it: an upload in
# progress during a rollback must start again.
STATE_TAG = b"openssl-sha256-ctx:1:"
_STATE = struct.Struct("<8I2I64s2I")
# rehashes' saved state: h[8] (u32, little-endian), blocks hashed (u64), bytes buffered (u8),
# the buffer (63 bytes: a full block is never buffered).
_REHASHES_STATE = struct.Struct("<8IQB63s")
BLOCK_BYTES = 64
DIGEST_BYTES = 32


class _Sha256Ctx(ctypes.Structure):
    """SHA256_CTX (SHA256state_st in <openssl/sha.h>): the chaining value, the message's length
    in bits (low and high words), the partial block, its byte count and the digest's length."""

    _fields_ = [
        ("h", ctypes.c_uint32 * 8),
        ("Nl", ctypes.c_uint32),
        ("Nh", ctypes.c_uint32),
        ("data", ctypes.c_uint32 * 16),
        ("num", ctypes.c_uint),
        ("md_len", ctypes.c_uint),
    ]


@functools.cache
def _libcrypto() -> ctypes.CDLL:
    """The libcrypto Python's own hashlib is linked with: its functions are found through
    _hashlib's module (a library's symbols include those of what it links). OpenSSL 3 keeps
    SHA256_Init, _Update and _Final, deprecated for new code but exported and stable."""
    library = ctypes.CDLL(_hashlib.__file__)  # CDLL, not PyDLL: every call releases the GIL
    context = ctypes.POINTER(_Sha256Ctx)
    library.SHA256_Init.argtypes = [context]
    library.SHA256_Update.argtypes = [context, ctypes.c_char_p, ctypes.c_size_t]
    library.SHA256_Final.argtypes = [ctypes.c_char_p, context]
    for function in (library.SHA256_Init, library.SHA256_Update, library.SHA256_Final):
        function.restype = ctypes.c_int
    return library


class RunningSha256:
    """A SHA-256 that can be saved (`state()`) and taken up again (`RunningSha256(state)`)."""

    def __init__(self, state: bytes = b"") -> None:
        if not state:
            self._ctx = _Sha256Ctx()
            _check(_libcrypto().SHA256_Init(ctypes.byref(self._ctx)))
        elif state.startswith(STATE_TAG):
            self._ctx = _from_saved(state[len(STATE_TAG) :])
        else:
            self._ctx = _from_rehashes(state)

    def update(self, data: bytes) -> None:
        # bytes (not bytearray or memoryview) are passed by address, no copy; the GIL is
        # released meanwhile.
        _check(_libcrypto().SHA256_Update(ctypes.byref(self._ctx), data, len(data)))

    def state(self) -> bytes:
        ctx = self._ctx
        partial = ctypes.string_at(ctypes.addressof(ctx.data), BLOCK_BYTES)
        return STATE_TAG + _STATE.pack(*ctx.h, ctx.Nl, ctx.Nh, partial, ctx.num, ctx.md_len)

    def hexdigest(self) -> str:
        """The digest of what was fed so far (this hasher can go on being fed)."""
        finished = _Sha256Ctx.from_buffer_copy(self._ctx)
        digest = ctypes.create_string_buffer(DIGEST_BYTES)
        _check(_libcrypto().SHA256_Final(digest, ctypes.byref(finished)))
        return digest.raw.hex()


def _from_saved(raw: bytes) -> _Sha256Ctx:
    try:
        *h, low, high, partial, num, md_len = _STATE.unpack(raw)
    except struct.error:
        raise ValueError("not a saved SHA-256 state") from None
    # OpenSSL trusts its context: a count past the block would overrun it.
    if num >= BLOCK_BYTES or md_len != DIGEST_BYTES:
        raise ValueError("not a saved SHA-256 state")
    ctx = _Sha256Ctx()
    ctx.h[:] = h
    ctx.Nl, ctx.Nh = low, high
    ctypes.memmove(ctx.data, partial, BLOCK_BYTES)
    ctx.num, ctx.md_len = num, md_len
    return ctx


def _from_rehashes(state: bytes) -> _Sha256Ctx:
    try:
        *h, blocks, buffered, buffer = _REHASHES_STATE.unpack(state)
    except struct.error:
        raise ValueError("not a saved SHA-256 state") from None
    if buffered >= BLOCK_BYTES:
        raise ValueError("not a saved SHA-256 state")
    bits = (blocks * BLOCK_BYTES + buffered) * 8
    ctx = _Sha256Ctx()
    ctx.h[:] = h
    ctx.Nl, ctx.Nh = bits & 0xFFFFFFFF, bits >> 32
    ctypes.memmove(ctx.data, buffer, buffered)  # OpenSSL keeps the partial block as bytes
    ctx.num = buffered
    ctx.md_len = DIGEST_BYTES
    return ctx


def _check(result: int) -> None:
    if result != 1:
        raise RuntimeError("OpenSSL's SHA-256 failed")
