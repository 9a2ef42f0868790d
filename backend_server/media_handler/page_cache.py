"""Rendered pages of an owner's media list, served again until that owner changes anything.

The app reloads the first page of its list far more often than its owner uploads or edits:
rebuilding the page each time (count, query, signed URLs, JSON) costs far more than the rest of
the request (docs/performance.md). A page is kept under its absolute URL (path, query, host,
scheme), the accepted media type and the window of signed-URL expiry its file URLs were made in,
with the owner's *generation*: a random token that every write of the owner's media or
collections replaces once its transaction commits (see media_handler.signals). A page made under
an older generation is never served, so an owner sees every write as soon as it has committed;
and since a page lives only until its URLs' expiry window moves on, a cached answer is
byte-for-byte the answer the view would build now.

A viewset takes part through CachedListMixin, whose `list` is where a page is looked up: DRF
has authenticated the caller, checked the view's permissions and throttles and chosen the
renderer by then, exactly as for any other request. Only the renderer's plain rendering is
cached (any `Accept` that DRF answers with plain JSON). LIST_PAGE_CACHE=false turns it off.
"""

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from rest_framework import mixins
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request

from media_handler.authentication import caller_id
from media_handler.files.signing import signed_url_expiry
from media_handler.models import MediaType

logger = logging.getLogger(__name__)

# Longer than any page lives: a generation that lapses only means a fresh one (and misses).
GENERATION_SECONDS = 24 * 3600


def _generation_key(owner: int) -> str:
    return f"list-generation:{owner}"


def owner_changed(owner: int) -> None:
    """Retire every cached list page of `owner`, once the current transaction commits.

    Robust: the write has committed by then, so a cache that cannot be reached must not turn it
    into an error (its pages then live out their expiry window at most)."""
    if not settings.LIST_PAGE_CACHE:
        return

    def retire_pages() -> None:
        cache.set(_generation_key(owner), uuid.uuid4().hex, GENERATION_SECONDS)

    transaction.on_commit(retire_pages, robust=True)


@dataclass
class CachedPage:
    """One list request's place in the cache, and the page if it is there and current."""

    key: str
    generation: str
    seconds_left: int
    found: tuple[str, bytes] | None  # (content type, body)

    def response(self) -> HttpResponse:
        assert self.found is not None, "only a page that was found is answered"
        content_type, body = self.found
        return HttpResponse(body, content_type=content_type)

    def store(self, body: bytes, content_type: str) -> HttpResponse:
        try:
            cache.set(self.key, (self.generation, content_type, body), self.seconds_left)
        except Exception:
            logger.warning("list page not cached: the cache is unavailable", exc_info=True)
        return HttpResponse(body, content_type=content_type)


def lookup(request: HttpRequest | Request, *, owner: int, media_type: str) -> CachedPage | None:
    """This request's page, rendered as `media_type`, in the cache (`found` None on a miss);
    None when caching is off, for a query that is not worth a cache entry, or while the cache
    cannot be reached."""
    if not settings.LIST_PAGE_CACHE or not _cacheable(request.GET):
        return None
    try:
        return _lookup(request, owner, media_type)
    except Exception:
        logger.warning("list page built afresh: the cache is unavailable", exc_info=True)
        return None


def _cacheable(query: QueryDict) -> bool:
    """Only the everyday lists: their first pages, in the usual page sizes, filtered by type or
    trash at most. Any other query (`?x=1`, `?search=...`, `?collection=<any uuid>`, page 500)
    is built afresh, so no client can fill the cache by varying its query string: an owner has
    at most 6 x 10 x 4 x 3 pages cached."""
    return all(
        name in CACHEABLE_VALUES and len(values) == 1 and values[0] in CACHEABLE_VALUES[name]
        for name, values in query.lists()
    )


CACHEABLE_VALUES = {
    "page": {str(n) for n in range(1, 11)},
    "page_size": {"5", "10", "20", "25", "50", "100"},
    "type": set(MediaType.values),
    "is_deleted": {"true", "false"},
}


def _lookup(request: HttpRequest | Request, owner: int, media_type: str) -> CachedPage:
    expires, seconds_left = signed_url_expiry(time.time())
    # A long list's count may be that old already (media_handler.pagination): a page must not
    # keep a stale count longer than the count cache itself would.
    seconds_left = min(seconds_left, settings.PAGINATION_COUNT_CACHE_SECONDS)
    identity = f"{owner}|{request.build_absolute_uri()}|{media_type}|{expires}"
    key = "list-page:" + hashlib.sha256(identity.encode()).hexdigest()
    generation_key = _generation_key(owner)
    cached = cache.get_many([generation_key, key])
    generation = cached.get(generation_key)
    if generation is None:
        # Made before the page is read from the database, so a write committed meanwhile
        # replaces it and the page is stored under a generation already retired.
        cache.add(generation_key, uuid.uuid4().hex, GENERATION_SECONDS)
        generation = cache.get(generation_key, "")
    page = cached.get(key)
    found = page[1:] if page is not None and generation and page[0] == generation else None
    return CachedPage(key, generation, seconds_left, found)


# A list view whose pages are kept here (comments, not docstrings: drf-spectacular would publish
# them as every operation's description).
#
# `list` is where a page is looked up and stored: inside DRF's dispatch, after the view's
# authentication, permission and throttle checks, so a cached page is never served to a request
# the view would refuse. `dispatch` answers the everyday request sooner, because DRF's whole
# path costs more than serving the page: a GET of the list asking for plain JSON (no Accept,
# `*/*` or the renderer's own type, so there is nothing to negotiate) gets the view's own
# authentication and permission checks on a DRF request, then the current page. Anything else
# (a check that fails, a miss, another Accept) takes DRF's path unchanged, which checks again
# and answers as for any request. A view with throttles never takes the shortcut: throttling
# counts each request, and a miss would be counted twice.
class CachedListMixin(mixins.ListModelMixin, GenericAPIView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        page = self._current_page(request, *args, **kwargs)
        if page is not None:
            return page
        return super().dispatch(request, *args, **kwargs)

    def _current_page(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase | None:
        renderer = self.renderer_classes[0]
        is_everyday_list = (
            request.method == "GET"
            and getattr(self, "action_map", {}).get("get") == "list"
            and request.META.get("HTTP_ACCEPT", "*/*") in ("*/*", renderer.media_type)
            and not self.throttle_classes
        )
        if not is_everyday_list:
            return None
        self.args, self.kwargs = args, kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        try:
            self.check_permissions(drf_request)  # authenticates the caller first
        except APIException:
            return None
        page = lookup(drf_request, owner=caller_id(drf_request), media_type=renderer.media_type)
        if page is None or page.found is None:
            return None
        self.request, self.headers = drf_request, self.default_response_headers
        # DRF's own response headers; it finalizes any HttpResponse, whatever its stubs say.
        return self.finalize_response(drf_request, page.response(), *args, **kwargs)  # type: ignore[arg-type]

    def list(  # type: ignore[override]  # DRF answers any HttpResponse a handler returns
        self, request: Request, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        renderer = request.accepted_renderer
        # Only the renderer's plain rendering: media type parameters (`; indent=4`, `; x=1`)
        # would each make a page of their own, and a client could fill the cache with them.
        if request.accepted_media_type != renderer.media_type:
            return super().list(request, *args, **kwargs)
        page = lookup(request, owner=caller_id(request), media_type=renderer.media_type)
        if page is not None and page.found is not None:
            return page.response()
        response = super().list(request, *args, **kwargs)
        if page is None:
            return response
        body = renderer.render(response.data, renderer.media_type, self.get_renderer_context())
        if isinstance(body, str):
            body = body.encode(renderer.charset or "utf-8")
        return page.store(body, content_type=renderer.media_type)
