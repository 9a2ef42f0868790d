"""Django's PostgreSQL backend with a health check that needs no round trip.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request that
reuses a connection: a round trip to PostgreSQL per request (its cost: docs/performance.md).
An idle connection has nothing to read, so a readable socket means the server said goodbye (a
restart, a terminated backend, an idle timeout) or closed it: polling the socket catches what
`SELECT 1` catches after a restart, without asking the server. A connection idle for a while is
still asked.
"""

import select
import time

from django.db.backends.postgresql import base

# A connection unused for longer is checked with `SELECT 1` after all: a server that vanished
# without closing it (a failover to another address, a NAT dropping an idle flow) leaves
# nothing on the socket to read.
IDLE_SECONDS_BEFORE_A_QUERY = 10


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        now = time.monotonic()
        last_checked, self.last_checked_at = getattr(self, "last_checked_at", now), now
        if now - last_checked > IDLE_SECONDS_BEFORE_A_QUERY:
            return super().is_usable()
        try:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        except (OSError, ValueError, self.Database.Error):
            return False
        return not poller.poll(0)
