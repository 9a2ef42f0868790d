"""Rendered pages of an owner's media list, served again until that owner changes anything.

The app reloads the first page of its list far more often than its owner uploads or edits:
rebuilding the page each time (count, query, signed URLs, JSON) costs far more than the rest of
the request (docs/performance.md). A page is kept under its path and decoded query, the accepted
media type and the window of signed-URL expiry its file URLs were made in, with the owner's
*generation*: a random token that every write of the owner's media or
collections replaces once its transaction commits (see media_handler.signals). A page made under
an older generation is never served, so an owner sees every write as soon as it has committed;
and since a page lives only until its URLs' expiry window moves on, a cached answer is
byte-for-byte the answer the view would build now.

The page's links (signed file URLs, `next`, `previous`) are absolute, on the host the client
used. A page is kept with a placeholder origin in their place, which each answer replaces with
its request's own scheme and host: one entry serves every host a client may send, so no client
can multiply the entries by varying its Host header (or its port). The placeholder is derived
from SECRET_KEY, so no user's text can hold it. The pages live in their own cache (`pages`),
bounded in entries, and no page over LIST_PAGE_CACHE_MAX_PAGE_BYTES is kept.

A viewset takes part through CachedListMixin, whose `list` is where a page is looked up: DRF
has authenticated the caller, checked the view's permissions and throttles and chosen the
renderer by then, exactly as for any other request. Only the renderer's plain rendering is
cached (any `Accept` that DRF answers with plain JSON). LIST_PAGE_CACHE=false turns it off.
"""

import contextlib
import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
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


def _pages():  # the cache alias of the pages and generations (backend_server.settings)
    return caches["pages"]


def _generation_key(owner: int) -> str:
    return f"list-generation:{owner}"


def owner_changed(owner: int) -> None:
    """Retire every cached list page of `owner`, once the current transaction commits.

    Robust: the write has committed by then, so a cache that cannot be reached must not turn it
    into an error (its pages then live out their expiry window at most)."""
    if not settings.LIST_PAGE_CACHE:
        return

    def retire_pages() -> None:
        _pages().set(_generation_key(owner), uuid.uuid4().hex, GENERATION_SECONDS)

    transaction.on_commit(retire_pages, robust=True)


@dataclass
class CachedPage:
    """One list request's place in the cache, and the page if it is there and current."""

    key: str
    generation: str
    seconds_left: int
    found: tuple[str, bytes] | None  # (content type, body)

    def response(self, *, origin: str) -> HttpResponse:
        """The page found, its links on `origin` (the request's scheme and host)."""
        assert self.found is not None, "only a page that was found is answered"
        content_type, body = self.found
        return HttpResponse(_with_origin(body, origin), content_type=content_type)

    def store(self, body: bytes, content_type: str, *, origin: str) -> HttpResponse:
        """Keep `body` (rendered with the placeholder origin) and answer it on `origin`."""
        if len(body) <= settings.LIST_PAGE_CACHE_MAX_PAGE_BYTES:
            try:
                _pages().set(self.key, (self.generation, content_type, body), self.seconds_left)
            except Exception:
                logger.warning("list page not cached: the cache is unavailable", exc_info=True)
        return HttpResponse(_with_origin(body, origin), content_type=content_type)


def _placeholder_origin() -> str:
    """The origin cached pages carry in place of the request's: unguessable without SECRET_KEY
    (so no name or description holds it), and the same in every worker and node."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"list-page-origin", "sha256").hexdigest()
    return f"http://{digest[:32]}.invalid"


def _with_origin(body: bytes, origin: str) -> bytes:
    return body.replace(_placeholder_origin().encode(), origin.encode())


def request_origin(request: HttpRequest | Request) -> str:
    """The scheme and host the client used (the host validated as Django validates it)."""
    return request.build_absolute_uri("/")[:-1]


@contextlib.contextmanager
def _links_on_placeholder_origin(request: Request) -> Iterator[None]:
    """While a page is built for the cache, its absolute links are made on the placeholder
    origin: Django's build_absolute_uri reads the request's cached `_current_scheme_host`."""
    django_request = request._request
    real = request_origin(request)
    django_request.__dict__["_current_scheme_host"] = _placeholder_origin()
    try:
        yield
    finally:
        django_request.__dict__["_current_scheme_host"] = real


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


def _query_key(query: QueryDict) -> str:
    """A cacheable query as the page's key holds it: decoded, one value a name (_cacheable),
    sorted, so every spelling of one query (`?p%61ge=1&page_size=5`, `?page_size=5&page=1`)
    shares one page, whose links DRF builds from the same decoded query."""
    return urlencode(sorted(query.items()))


def _lookup(request: HttpRequest | Request, owner: int, media_type: str) -> CachedPage:
    expires, seconds_left = signed_url_expiry(time.time())
    # A long list's count may be that old already (media_handler.pagination): a page must not
    # keep a stale count longer than the count cache itself would.
    seconds_left = min(seconds_left, settings.PAGINATION_COUNT_CACHE_SECONDS)
    identity = f"{owner}|{request.path}|{_query_key(request.GET)}|{media_type}|{expires}"
    key = "list-page:" + hashlib.sha256(identity.encode()).hexdigest()
    generation_key = _generation_key(owner)
    pages = _pages()
    cached = pages.get_many([generation_key, key])
    generation = cached.get(generation_key)
    if generation is None:
        # Made before the page is read from the database, so a write committed meanwhile
        # replaces it and the page is stored under a generation already retired.
        pages.add(generation_key, uuid.uuid4().hex, GENERATION_SECONDS)
        generation = pages.get(generation_key, "")
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
        try:
            origin = request_origin(drf_request)
        except Exception:  # a Host Django refuses: DRF's path answers it
            return None
        self.request, self.headers = drf_request, self.default_response_headers
        # DRF's own response headers; it finalizes any HttpResponse, whatever its stubs say.
        response = page.response(origin=origin)
        return self.finalize_response(drf_request, response, *args, **kwargs)  # type: ignore[arg-type]

    def list(  # type: ignore[override]  # DRF answers any HttpResponse a handler returns
        self, request: Request, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        renderer = request.accepted_renderer
        # Only the renderer's plain rendering: media type parameters (`; indent=4`, `; x=1`)
        # would each make a page of their own, and a client could fill the cache with them.
        if request.accepted_media_type != renderer.media_type:
            return super().list(request, *args, **kwargs)
        page = lookup(request, owner=caller_id(request), media_type=renderer.media_type)
        if page is None:
            return super().list(request, *args, **kwargs)
        origin = request_origin(request)
        if page.found is not None:
            return page.response(origin=origin)
        with _links_on_placeholder_origin(request):
            response = super().list(request, *args, **kwargs)
            body = renderer.render(response.data, renderer.media_type, self.get_renderer_context())
        if isinstance(body, str):
            body = body.encode(renderer.charset or "utf-8")
        return page.store(body, content_type=renderer.media_type, origin=origin)
