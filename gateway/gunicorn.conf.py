"""Gunicorn settings for both services behind the gateway (run_with_gateway.sh, the Dockerfile).

Sync workers are right here: nginx buffers every request body and response, so a worker is busy
only while Django works, never while a slow phone uploads or downloads.
"""

import os


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this container or cgroup may use
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


workers = int(os.environ.get("GUNICORN_WORKERS") or min(2 * _cores() + 1, 9))
# Long enough for a 1 GiB upload to be checksummed and moved; nginx waits 300 s for the media.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "300"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
# Recycle workers now and then, so a slow leak can never grow without bound.
max_requests = 2000
max_requests_jitter = 200
# As long a request line as nginx passes (its 8 KiB header buffers), so a long URL meets nginx's
# JSON 414 rather than gunicorn's HTML page (gunicorn's default limit is 4094 bytes).
limit_request_line = 8190

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The request id is the one the gateway assigned (echoed by common.request_id).
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
# Both services run on one machine; one shared default control socket would clash. Signals do.
control_socket_disable = True
