"""The two databases of one stack, thrown away afterwards: SQLite files in the stack's
directory, or PostgreSQL databases with random names (never another run's) created on a server
and dropped by `drop()`."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"
Kind = Literal["sqlite", "postgres"]


class Databases:
    def __init__(
        self, kind: Kind, *, directory: Path, server: str = DEFAULT_POSTGRES, label: str = "stack"
    ):
        self.kind = kind
        self.server = server
        self.names: list[str] = []
        if kind == "postgres":
            suffix = secrets.token_hex(4)
            self.names = [f"{label}_auth_{suffix}", f"{label}_media_{suffix}"]
            self._execute([f'CREATE DATABASE "{name}"' for name in self.names])
            self.auth_url, self.media_url = (f"{server}/{name}" for name in self.names)
        elif kind == "sqlite":
            self.auth_url = f"sqlite:///{directory / 'auth.sqlite3'}"
            self.media_url = f"sqlite:///{directory / 'media.sqlite3'}"
        else:
            raise ValueError(f"a stack's databases are sqlite or postgres, not {kind!r}")

    @property
    def env(self) -> dict[str, str]:
        return {"AUTH_DATABASE_URL": self.auth_url, "BACKEND_DATABASE_URL": self.media_url}

    def drop(self) -> None:
        if self.names:
            self._execute([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.names])
            self.names = []

    def _execute(self, statements: list[str]) -> None:
        with _connect(f"{self.server}/postgres") as connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def query(url: str, sql: str, params: tuple | dict = ()) -> list[tuple[Any, ...]]:
    """Rows of one statement on the PostgreSQL database at `url` (none for a statement that
    returns none), run outside a transaction."""
    with _connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


@contextmanager
def _connect(url: str) -> Iterator[Any]:
    """An autocommit connection, closed on exit (psycopg2's own `with` leaves it open)."""
    import psycopg2  # installed with the services; only PostgreSQL runs need it

    connection = psycopg2.connect(url, connect_timeout=5)
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()
