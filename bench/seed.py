"""Bulk loader: media rows straight into PostgreSQL with `INSERT ... SELECT generate_series`,
not through the API, so a million rows take seconds.

The column list is read from the live table (information_schema), so the loader follows the
model as it changes: known columns get realistic values, any other NOT NULL column a neutral
one of its type, nullable ones NULL.
"""

import time

from devstack import Stack
from devstack.databases import query

MEDIA_TABLE = "media_handler_media"

# `g` is the series index, `%(user)s` the owner. Newest first is by `created_at`, so rows get
# distinct timestamps one second apart. Every row looks like an uploaded file (a checksum, a
# sniffed type, a path under uploads/), as a mobile user's media do, so a list page signs a
# file URL per item; the files themselves are not on disk (a list never reads them).
KNOWN = {
    "id": "gen_random_uuid()",
    "name": "'bench item ' || g",
    "type": "(ARRAY['image','video','audio'])[1 + mod(g, 3)]",
    "mime_type": "(ARRAY['image/jpeg','video/mp4','audio/mpeg'])[1 + mod(g, 3)]",
    "checksum_sha256": "md5(g::text) || md5((g + 1)::text)",
    "size": "1000 + g",
    "storage_path": "'uploads/2026/01/01/' || md5(g::text) || '.bin'",
    "description": "'seeded by bench.seed'",
    "is_deleted": "false",
    "user_id": "%(user)s",
    "user": "%(user)s",
    "owner_id": "%(user)s",
    "created_at": "now() - make_interval(secs => g)",
    "updated_at": "now() - make_interval(secs => g)",
}

BY_TYPE = {
    "uuid": "gen_random_uuid()",
    "boolean": "false",
    "integer": "0",
    "bigint": "0",
    "smallint": "0",
    "double precision": "0",
    "numeric": "0",
    "real": "0",
    "timestamp with time zone": "now()",
    "timestamp without time zone": "now()",
    "date": "current_date",
    "jsonb": "'{}'::jsonb",
    "json": "'{}'::json",
}


def _columns(stack: Stack, table: str) -> list[tuple[str, str, bool]]:
    rows = query(
        stack.databases.media_url,
        "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    if not rows:
        raise RuntimeError(f"table {table} does not exist (are the migrations applied?)")
    return rows


def _expression(name: str, data_type: str, nullable: bool) -> str:
    if name in KNOWN:
        return KNOWN[name]
    if nullable:
        return "NULL"
    return BY_TYPE.get(data_type, "''")


def media_rows(stack: Stack, *, user_id: int, count: int, first: int = 1, batch: int = 250_000):
    """Insert `count` media rows owned by `user_id`, numbered from `first`; returns seconds."""
    columns = _columns(stack, MEDIA_TABLE)
    names = ", ".join(f'"{c[0]}"' for c in columns)
    values = ", ".join(_expression(*c) for c in columns)
    # Identifiers from our constant and from information_schema; values are parameters.
    sql = (
        f"INSERT INTO {MEDIA_TABLE} ({names}) SELECT {values} "  # noqa: S608
        "FROM generate_series(%(lo)s, %(hi)s) AS g"
    )
    started = time.monotonic()
    last = first + count - 1
    for lo in range(first, last + 1, batch):
        hi = min(lo + batch - 1, last)
        query(stack.databases.media_url, sql, {"user": user_id, "lo": lo, "hi": hi})
    query(stack.databases.media_url, f"VACUUM ANALYZE {MEDIA_TABLE}")
    return time.monotonic() - started
