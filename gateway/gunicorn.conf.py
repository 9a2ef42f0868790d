"""Gunicorn settings for both services behind the gateway. Their launchers (run_with_gateway.sh,
scripts/docker_service.sh) say which service this is in GUNICORN_SERVICE: `auth` or `media`.

The auth service runs sync workers: nginx buffers its request bodies and responses, so a worker
is busy only while Django works. The media service runs gthread workers (GUNICORN_THREADS threads
each): the gateway streams uploads to it as they arrive (`proxy_request_buffering off` on the
create endpoints), so an upload from a slow phone holds one thread for minutes, not a whole
worker, and a worker's heartbeat never waits for a request. The gateway streams fewer uploads at
once than there are threads (MEDIA_STREAMED_UPLOADS, gateway/render.sh), so some are always free
for other requests. Every thread keeps its own database connection (CONN_MAX_AGE): up to
workers x threads of them for the media service.
"""

import ctypes
import os

SERVICE = os.environ.get("GUNICORN_SERVICE", "")
# glibc's mallopt parameter for the number of malloc arenas (<malloc.h>).
M_ARENA_MAX = -8
# The media workers' malloc arenas (MALLOC_ARENA_MAX in the environment wins).
MEDIA_MALLOC_ARENAS = 2


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this container or cgroup may use
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def limit_malloc_arenas(arenas: int) -> None:
    """At most `arenas` malloc arenas in this process and those forked from it. glibc gives
    each thread that allocates an arena of its own, up to eight per core, and an arena keeps
    much of what its threads freed: a media worker's threads (requests, chunk writers, part
    senders) held about 30 MB that way during a bucket upload (docs/performance.md, worker
    memory). Python's small objects do not come from malloc, and with two arenas the upload
    figures moved no more than their noise. Not glibc (musl, macOS): nothing to set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return  # glibc read it at start-up
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_ARENA_MAX, arenas)


workers = int(os.environ.get("GUNICORN_WORKERS") or min(2 * _cores() + 1, 9))
# How long a sync worker may spend on one request (a gthread worker's threads have no limit: only
# its heartbeat counts); nginx waits 300 s for the media service's answer.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "300"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 10)
if SERVICE == "media":
    worker_class = "gthread"
    limit_malloc_arenas(MEDIA_MALLOC_ARENAS)  # in the master: every worker is forked from it
    threads = int(os.environ.get("GUNICORN_THREADS") or 4)
    # A worker whose threads are all busy (slow uploads) takes no more connections, so a list
    # request waits for no upload: another worker accepts it. nginx opens a connection per
    # request, so there is nothing to keep alive.
    worker_connections = threads
    keepalive = 0
    # A worker that stops (max_requests below, a restart) stops taking requests and lets the
    # ones in progress finish: an upload still arriving gets as long as nginx would wait.
    graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or timeout)
# Recycle workers now and then, so a slow leak can never grow without bound. Workers serve
# about as many requests each, so a jitter of a tenth recycled them all within a second or two:
# half of it spreads them out.
max_requests = 2000
max_requests_jitter = 1000
# The application is imported once, by the master, and every worker is forked from it: a
# recycled worker starts in milliseconds instead of importing Django again (about a second of
# CPU here; with every worker recycled at once under load, the whole service stalled). Each
# service's wsgi module imports every view too (common.wsgi.import_every_view), and the media
# service's its bucket code: a worker that loaded them itself kept more memory. Nothing
# connects at import (databases, Redis and the upload writers are opened by each worker on first
# use), so nothing is shared across the fork. New code needs a restart, not a HUP.
preload_app = True
# As long a request line as nginx passes (its 8 KiB header buffers), so a long URL meets nginx's
# JSON 414 rather than gunicorn's HTML page (gunicorn's default limit is 4094 bytes).
limit_request_line = 8190
# As many header fields as nginx passes (its header buffers bound them, not a count): past
# gunicorn's default of 100 a request got gunicorn's HTML 431 instead of an answer.
limit_request_fields = 32768
limit_request_field_size = 8190

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The request id is the one the gateway assigned (echoed by common.request_id).
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
# Both services run on one machine; one shared default control socket would clash. Signals do.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """A media worker loads its storage's client before its first request (with the files in
    a bucket, boto3 and its client: a quarter of a second the first download or upload of
    every new worker waited for, workers being replaced every few thousand requests). A
    failure here is logged and left to the first request that needs the store. In the worker,
    after the fork, never in the master (preload_app): a client made there would hand its
    connection pool to every worker."""
    if SERVICE != "media":
        return
    try:
        from media_handler.files.storage import warm_up

        warm_up()
    except Exception:
        worker.log.exception("could not load the media storage's client ahead of requests")
