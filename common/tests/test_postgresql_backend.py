"""common.postgresql: a reused connection is checked by polling its socket, not by a query."""

import contextlib
import time

import psycopg2
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from common.postgresql.base import IDLE_SECONDS_BEFORE_A_QUERY

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL only (make test-postgres)"
    ),
]


@pytest.fixture(autouse=True)
def fresh_connection_afterwards():
    """The tests break the connection; the database teardown needs a working one."""
    yield
    connection.close()


@contextlib.contextmanager
def another_session():
    """A cursor on a second connection to the test database, beside Django's."""
    settings = connection.settings_dict
    other = psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"],
    )
    try:
        with other.cursor() as cursor:
            yield cursor
    finally:
        other.close()


def terminate_server_side(pid: int) -> None:
    """Kill the backend `pid` from another session, as a restart or an idle timeout would."""
    with another_session() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def usable_within(seconds: float) -> bool:
    """is_usable() once the server's goodbye has had time to arrive."""
    deadline = time.monotonic() + seconds
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.02)
    return connection.is_usable()


def test_the_backend_checks_connections_by_polling():
    assert type(connections[DEFAULT_DB_ALIAS]).__module__ == "common.postgresql.base"
    assert connection.health_check_enabled


def test_an_idle_connection_is_usable():
    backend_pid()

    assert connection.is_usable()


def test_a_connection_the_server_terminated_is_not_usable():
    terminate_server_side(backend_pid())

    assert not usable_within(5)


def test_a_closed_connection_is_not_usable():
    backend_pid()
    connection.connection.close()

    assert not connection.is_usable()


def test_the_next_request_after_a_terminated_connection_reconnects():
    old_pid = backend_pid()
    terminate_server_side(old_pid)
    usable_within(5)
    connection.close_if_unusable_or_obsolete()  # a request ends ...

    connection.close_if_health_check_failed()  # ... the next one starts

    assert backend_pid() != old_pid


def last_query_of(pid: int) -> str:
    with another_session() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def test_a_connection_in_use_is_checked_without_a_query():
    pid = backend_pid()
    connection.is_usable()

    assert connection.is_usable()
    assert last_query_of(pid) == "SELECT pg_backend_pid()"


def test_a_connection_idle_for_a_while_is_checked_with_a_query():
    pid = backend_pid()
    db = connections[DEFAULT_DB_ALIAS]
    db.last_checked_at = time.monotonic() - IDLE_SECONDS_BEFORE_A_QUERY - 1

    assert connection.is_usable()
    assert last_query_of(pid) == "SELECT 1"
