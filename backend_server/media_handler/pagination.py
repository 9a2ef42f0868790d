"""Page-number pagination for every list: `?page=` and `?page_size=` (default 10, max 100), with
DRF's body `{"count", "next", "previous", "results"}` and absolute links built on the host the
client used (behind the gateway, Django's USE_X_FORWARDED_HOST makes that the gateway's).

`?cursor=` (empty for the first page) asks for keyset pages instead (DRF's cursor pagination on
the list's ordering): the same body, its `next` carrying the cursor of the following page, so
an upload made meanwhile neither repeats nor hides an item on the way, and a page deep in the
list costs what the first does. Clients that never send `cursor` see page numbers as always.

Edge cases follow DRF: a `page_size` that is not a positive integer (0, -1, "abc") falls back to
the default, a larger one is clamped to the maximum; a page past the end, or a `page` that is
not a number, is a 404 `{"detail": "Invalid page."}`; page 1 of an empty list is a 200.

Counting: an exact `COUNT(*)` of a long list costs more than the rest of its page
(docs/performance.md), so the count is taken in a bounded subquery (`SELECT COUNT(*) FROM
(SELECT ... LIMIT N+1)`, N being PAGINATION_EXACT_COUNT_LIMIT), which is exact and cheap for any
list up to N rows. Only a list longer than that pays for one full count, which is then cached
for PAGINATION_COUNT_CACHE_SECONDS: `count` stays the real number, at most that many seconds
stale, and the pages of a huge list cost what the pages of a small one do. Each worker also
remembers the counts it read from the shared cache until they expire there, which spares a round
trip to Redis on every page of a long list.
"""

import hashlib
import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

logger = logging.getLogger(__name__)


def bounded_count(queryset: QuerySet) -> int:
    """The number of rows of `queryset`: exact, and cheap unless it is over the limit."""
    unordered = queryset.order_by()
    try:
        sql, params = unordered.query.sql_with_params()
    except EmptyResultSet:
        return 0
    cache_key = "list-count:v2:" + hashlib.sha256(f"{sql}|{params!r}".encode()).hexdigest()
    now = time.time()
    remembered = recent_counts.get(cache_key)
    if remembered is None or remembered[1] <= now:
        remembered = _shared_count(cache_key)
        if remembered is not None:
            recent_counts.remember(cache_key, remembered)
    if remembered is not None and remembered[1] > now:
        return remembered[0]
    limit = settings.PAGINATION_EXACT_COUNT_LIMIT
    count = unordered.values("pk")[: limit + 1].count()
    if count > limit:
        count = unordered.count()
        ttl = settings.PAGINATION_COUNT_CACHE_SECONDS
        # With its expiry, so every worker forgets it when the shared cache does.
        counted = (count, now + ttl)
        try:
            cache.set(cache_key, counted, ttl)
        except Exception:
            logger.warning("count not shared: the cache is unavailable", exc_info=True)
        recent_counts.remember(cache_key, counted)
    return count


def _shared_count(cache_key: str) -> tuple[int, float] | None:
    """The count another worker cached, or None (also while the cache cannot be reached: a
    list is then counted, not refused)."""
    try:
        return cache.get(cache_key)
    except Exception:
        logger.warning("count not read: the cache is unavailable", exc_info=True)
        return None


class RecentCounts:
    """This worker's copy of the long lists' counts it has seen: (count, expires at). Shared
    by the worker's threads (gthread), hence the lock around the eviction."""

    max_entries = 1024

    def __init__(self):
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[int, float] | None:
        return self._counts.get(key)

    def remember(self, key: str, counted: tuple[int, float]) -> None:
        with self._lock:
            if key not in self._counts and len(self._counts) >= self.max_entries:
                del self._counts[next(iter(self._counts))]  # the oldest
            self._counts[key] = counted

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


recent_counts = RecentCounts()


class BoundedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            return bounded_count(self.object_list)
        return len(self.object_list)


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 10
    page_size_query_param = "page_size"
    max_page_size = 100
    django_paginator_class = BoundedCountPaginator


class KeysetPagination(pagination.CursorPagination):
    cursor_query_param = "cursor"
    page_size = PageNumberPagination.page_size
    page_size_query_param = PageNumberPagination.page_size_query_param
    max_page_size = PageNumberPagination.max_page_size
    ordering = "-created_at"  # the views' ordering filter decides (DRF asks it first)

    def paginate_queryset(self, queryset, request, view=None):
        # A cursor is base64 of the last position seen: one forged with a position its field
        # cannot hold is an invalid cursor, not a database error.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, TypeError) as exc:
            raise NotFound(self.invalid_cursor_message) from exc


class ListPagination(PageNumberPagination):
    """Page numbers, or keyset pages when the request carries `cursor` (module docstring)."""

    keyset: KeysetPagination | None = None

    def paginate_queryset(self, queryset, request, view=None):
        if KeysetPagination.cursor_query_param not in request.query_params:
            self.keyset = None
            return super().paginate_queryset(queryset, request, view)
        self.keyset = KeysetPagination()
        self.keyset_count = bounded_count(queryset)
        return self.keyset.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self.keyset is None:
            return super().get_paginated_response(data)
        return Response(
            {
                "count": self.keyset_count,
                "next": self.keyset.get_next_link(),
                "previous": self.keyset.get_previous_link(),
                "results": data,
            }
        )

    def get_schema_operation_parameters(self, view):
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": KeysetPagination.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Keyset pages instead of page numbers: empty for the first page, "
                "then the `cursor` of the answer's `next` link.",
                "schema": {"type": "string"},
            },
        ]
