"""WSGI glue both services wrap their application in."""

from collections.abc import Callable, Iterable

from django.urls import get_resolver

# Past this many unread bytes a refused body is not read to its end: the connection is closed
# on the client instead. Behind the gateway nothing that large is left unread (nginx refuses a
# body over the limit and checks an upload's token before sending it).
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
DRAIN_CHUNK_BYTES = 256 * 1024


class _CountingInput:
    """`wsgi.input`, counting what the application read of it."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.consumed += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        line = self._stream.readline(size)
        self.consumed += len(line)
        return line

    def __iter__(self):
        return iter(self.readline, b"")

    def discard(self, remaining: int) -> None:
        while remaining > 0:
            data = self._stream.read(min(DRAIN_CHUNK_BYTES, remaining))
            if not data:
                return
            remaining -= len(data)


class UnreadBodyDrained:
    """Reads to its end a request body the application answered without reading (a refused
    token, a body over the limit found part-way), so the answer reaches the client.

    A server that answers and closes while the client is still sending makes the client's next
    write fail (EPIPE, then RST): nginx turns that into a 502 and curl into an error, and the
    service's own JSON answer is lost. Bodies with more than DRAIN_LIMIT_BYTES left are not
    read: holding a worker for them would cost more than the lost answer.
    """

    def __init__(self, application: Callable, *, limit: int = DRAIN_LIMIT_BYTES) -> None:
        self.application = application
        self.limit = limit

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0:
            return self.application(environ, start_response)
        body = _CountingInput(environ["wsgi.input"])
        environ["wsgi.input"] = body
        result = self.application(environ, start_response)
        unread = length - body.consumed
        if 0 < unread <= self.limit:
            body.discard(unread)
        return result


def import_every_view() -> None:
    """Import the URLconf now, and with it every view and what the views import (Pillow, libmagic,
    the serializers), instead of on a worker's first request.

    Called at the end of a service's wsgi module: gunicorn imports that module once, in its
    master (preload_app), and forks every worker from it, so the workers start with these
    modules loaded rather than each loading them itself. A worker's own load of them cost it
    memory that it kept (docs/performance.md, object storage, twelfth session): the pages of
    each shared library touched while loading it stayed in its RSS (a forked worker counts only
    the pages it touches itself), and so did its imports' leftovers; and its first request waited
    for them. Nothing here connects to anything (no database, no cache, no bucket), so nothing
    is shared across the fork.
    """
    get_resolver().url_patterns  # noqa: B018 -- the property imports the URLconf
