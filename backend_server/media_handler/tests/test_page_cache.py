"""media_handler.page_cache: a repeated list page comes from the cache, and never outlives a
write of its owner. These tests commit their writes (transaction=True), as requests do, so the
on-commit hooks that retire pages run as they do in production."""

import time
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.throttling import BaseThrottle

from media_handler import page_cache
from media_handler.files.signing import signed_url_expiry
from media_handler.models import Media
from media_handler.views import MediaViewSet

from .factories import CollectionFactory, MediaFactory
from .helpers import ALICE, BOB, access_token_for, png_bytes, stored_exists

LIST = "/api/media/?page_size=5"
JSON = "application/json"

pytestmark = pytest.mark.django_db(transaction=True)


def built_fresh(client, settings, path: str = LIST, **extra) -> bytes:
    """The page as the view builds it with no cache at all."""
    settings.LIST_PAGE_CACHE = False
    try:
        return client.get(path, **extra).content
    finally:
        settings.LIST_PAGE_CACHE = True


def test_a_repeated_list_page_is_served_from_the_cache(alice, django_assert_num_queries):
    MediaFactory.create_batch(3, user=ALICE, checksum_sha256="ab" * 32)
    first = alice.get(LIST)

    with django_assert_num_queries(0):
        again = alice.get(LIST)

    assert again.status_code == 200
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"] == "application/json"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_a_cached_page_has_the_headers_the_view_sends(alice, settings, accept):
    MediaFactory(user=ALICE, checksum_sha256="ab" * 32)
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}
    alice.get(LIST, **extra)

    cached = alice.get(LIST, **extra)
    settings.LIST_PAGE_CACHE = False
    fresh = alice.get(LIST, **extra)

    assert cached.content == fresh.content
    assert {k: v for k, v in cached.items() if k != "X-Request-ID"} == {
        k: v for k, v in fresh.items() if k != "X-Request-ID"
    }


def test_any_accept_answered_with_plain_json_shares_its_page(alice, django_assert_num_queries):
    MediaFactory(user=ALICE)
    plain = alice.get(LIST)

    with django_assert_num_queries(0):
        again = alice.get(LIST, HTTP_ACCEPT="application/*")

    assert again.content == plain.content


@pytest.mark.parametrize("accept", ["application/json; indent=4", "application/json; x=1"])
def test_pages_rendered_with_parameters_are_built_afresh_every_time(
    alice, settings, accept, django_assert_num_queries
):
    MediaFactory(user=ALICE)
    alice.get(LIST, HTTP_ACCEPT=accept)

    with django_assert_num_queries(2):
        again = alice.get(LIST, HTTP_ACCEPT=accept)

    assert again.status_code == 200
    assert again.content == built_fresh(alice, settings, HTTP_ACCEPT=accept)


def test_an_unacceptable_accept_is_406_every_time(alice):
    MediaFactory(user=ALICE)
    alice.get(LIST)

    assert alice.get(LIST, HTTP_ACCEPT="text/html").status_code == 406
    assert alice.get(LIST, HTTP_ACCEPT="text/html").status_code == 406


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer not.a.token",
        f"Bearer {access_token_for(ALICE, exp=int(time.time()) - 1)}",
        f"Bearer {access_token_for(ALICE, token_type='refresh')}",
    ],
)
def test_a_cached_page_is_never_served_without_a_valid_token(alice, header):
    MediaFactory(user=ALICE, name="secret.jpg")
    alice.get(LIST)
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(LIST)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"secret.jpg" not in response.content


class DenyEveryone(BasePermission):
    def has_permission(self, request, view) -> bool:
        return False


class RefuseEveryRequest(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        return False

    def wait(self) -> float:
        return 30


@pytest.mark.parametrize(
    ("checks", "status"),
    [
        ({"permission_classes": [IsAuthenticated, DenyEveryone]}, 403),
        ({"throttle_classes": [RefuseEveryRequest]}, 429),
    ],
    ids=["permission", "throttle"],
)
def test_a_cached_page_is_never_served_past_the_views_own_checks(alice, checks, status):
    MediaFactory(user=ALICE, name="secret.jpg")
    assert alice.get(LIST).status_code == 200  # the page is in the cache now
    guarded = type("GuardedMediaViewSet", (MediaViewSet,), checks).as_view({"get": "list"})
    request = APIRequestFactory().get(LIST, HTTP_AUTHORIZATION=f"Bearer {access_token_for(ALICE)}")

    response = guarded(request)

    assert response.status_code == status
    assert b"secret.jpg" not in response.render().content


def test_a_cached_page_is_the_page_the_view_builds(alice, settings):
    MediaFactory.create_batch(7, user=ALICE, checksum_sha256="ab" * 32)
    alice.get(LIST)

    assert alice.get(LIST).content == built_fresh(alice, settings)


def test_pages_are_per_owner(alice, bob):
    MediaFactory(user=ALICE, name="alice.jpg")
    MediaFactory(user=BOB, name="bob.jpg")
    alice.get(LIST)

    names = [item["name"] for item in bob.get(LIST).json()["results"]]

    assert names == ["bob.jpg"]


@pytest.mark.parametrize(
    ("other", "extra"),
    [
        ("/api/media/?page_size=2", {}),
        ("/api/media/media/?page_size=5", {}),
        (LIST, {"HTTP_HOST": "gateway.example:3000"}),
        (LIST, {"HTTP_ACCEPT": "application/json; indent=4"}),
    ],
)
def test_the_path_query_host_and_format_each_have_their_own_page(alice, settings, other, extra):
    MediaFactory.create_batch(3, user=ALICE)
    alice.get(LIST)

    response = alice.get(other, **extra)

    settings.LIST_PAGE_CACHE = False
    assert response.content == alice.get(other, **extra).content


@pytest.mark.parametrize(
    "spelling",
    [
        "/api/media/?p%61ge_size=5&page=1",
        "/api/media/?page_size=%35&p%61ge=%31",
        "/api/media/?page=1&page_size=5&",
        "/api/media/?page=1&page_size=5",
    ],
)
def test_every_spelling_of_one_query_shares_its_page(alice, django_assert_num_queries, spelling):
    MediaFactory.create_batch(7, user=ALICE, checksum_sha256="ab" * 32)
    alice.get("/api/media/?page_size=5&page=1")

    with django_assert_num_queries(0):  # the kept page
        response = alice.get(spelling)

    assert pages_kept() == 1
    assert response.json()["next"].endswith("/api/media/?page=2&page_size=5")


def test_another_owners_write_keeps_my_pages(alice, django_assert_num_queries):
    MediaFactory(user=ALICE)
    alice.get(LIST)
    MediaFactory(user=BOB)
    CollectionFactory(user=BOB)

    with django_assert_num_queries(0):
        alice.get(LIST)


def detail(media, action: str = "") -> str:
    return f"/api/media/{media.pk}/{action}"


WRITES = {
    "create": lambda client, media, collection: client.post(
        "/api/media/", {"name": "new", "type": "image"}, format="json"
    ),
    "rename": lambda client, media, collection: client.patch(
        detail(media), {"name": "renamed"}, format="json"
    ),
    "trash": lambda client, media, collection: client.delete(detail(media)),
    "add to collection": lambda client, media, collection: client.post(
        detail(media, "add-to-collection/"), {"collection_id": str(collection.pk)}, format="json"
    ),
    "remove from collection": lambda client, media, collection: client.post(
        detail(media, "remove-from-collection/")
    ),
    "delete collection": lambda client, media, collection: client.delete(
        f"/api/media/collection/{collection.pk}/"
    ),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_every_write_of_the_owner_shows_in_the_next_list(alice, settings, write):
    collection = CollectionFactory(user=ALICE)
    media = MediaFactory(user=ALICE, collection=collection if "remove" in write else None)
    MediaFactory(user=ALICE, collection=collection)
    before = alice.get(LIST).content

    answer = WRITES[write](alice, media, collection)

    assert answer.status_code < 300, answer.content
    after = alice.get(LIST).content
    assert after != before
    assert after == built_fresh(alice, settings)


def test_restoring_from_the_trash_shows_in_the_next_list(alice, settings):
    media = MediaFactory(user=ALICE, is_deleted=True)
    trash = "/api/media/?is_deleted=true"
    alice.get(LIST)
    alice.get(trash)

    assert alice.post(detail(media, "restore/")).status_code == 200

    assert [item["id"] for item in alice.get(LIST).json()["results"]] == [str(media.pk)]
    assert alice.get(trash).json()["count"] == 0


def test_purging_the_trash_shows_in_the_next_list(alice):
    MediaFactory(user=ALICE, is_deleted=True, deleted_at=timezone.now() - timedelta(days=1))
    trash = "/api/media/?is_deleted=true"
    assert alice.get(trash).json()["count"] == 1

    call_command("purge_deleted_media", "--older-than", "0", stdout=mock.MagicMock())

    assert alice.get(trash).json()["count"] == 0


def test_a_page_read_before_a_write_committed_is_never_served(alice):
    MediaFactory(user=ALICE)
    request = RequestFactory().get(LIST)
    stale = page_cache.lookup(request, owner=ALICE, media_type=JSON)  # the page is being built ...

    MediaFactory(user=ALICE)  # ... when a write commits
    stale.store(b'{"stale": true}', JSON, origin="http://testserver")

    assert page_cache.lookup(request, owner=ALICE, media_type=JSON).found is None
    assert "stale" not in alice.get(LIST).json()


def test_a_page_lapses_when_its_signed_urls_window_moves_on(alice, settings):
    settings.PAGINATION_COUNT_CACHE_SECONDS = 10 * settings.FILE_URL_MAX_AGE_SECONDS
    MediaFactory(user=ALICE, checksum_sha256="ab" * 32)
    first = alice.get(LIST).json()["results"][0]["file"]
    _, seconds_left = signed_url_expiry(time.time())
    later = timezone.now() + timedelta(seconds=seconds_left + 1)

    with (
        mock.patch("media_handler.page_cache.time.time", return_value=later.timestamp()),
        mock.patch("django.utils.timezone.now", return_value=later),
    ):
        again = alice.get(LIST)
        fresh = built_fresh(alice, settings)

    assert again.content == fresh
    assert again.json()["results"][0]["file"] != first  # a later expiry, not the cached URL


def test_a_page_lives_no_longer_than_a_cached_count(alice, settings, django_assert_num_queries):
    settings.PAGINATION_COUNT_CACHE_SECONDS = 5
    MediaFactory(user=ALICE)
    alice.get(LIST)
    later = time.time() + 6

    with (
        mock.patch("media_handler.page_cache.time.time", return_value=later),
        django_assert_num_queries(2),  # rebuilt: the count and the page
    ):
        alice.get(LIST)


@pytest.mark.parametrize(
    "query",
    [
        "?search=photo",
        "?x=1",
        "?page_size=7",
        "?page=11",
        f"?collection={uuid.uuid4()}",
        "?page=01",
    ],
)
def test_other_queries_are_built_afresh_every_time(alice, query, django_assert_max_num_queries):
    MediaFactory(user=ALICE)
    alice.get(f"/api/media/{query}")

    with django_assert_max_num_queries(2) as queries:
        alice.get(f"/api/media/{query}")

    assert len(queries) >= 1


def test_an_unreachable_cache_fails_no_write_and_no_list(alice, settings, unreachable_cache):
    upload = SimpleUploadedFile("p.png", png_bytes())

    created = alice.post(
        "/api/media/", {"name": "p", "type": "image", "file": upload}, format="multipart"
    )
    listed = alice.get(LIST)

    assert created.status_code == 201, created.content
    media = Media.objects.get()
    assert stored_exists(media.storage_path)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["results"]] == [str(media.pk)]


def test_errors_are_not_cached(alice):
    MediaFactory(user=ALICE)
    assert alice.get("/api/media/?page=9").status_code == 404
    MediaFactory.create_batch(20, user=ALICE)

    assert alice.get("/api/media/?page=9&page_size=2").status_code == 200
    assert alice.get("/api/media/?page=9").status_code == 404


def test_with_the_cache_off_nothing_is_cached(alice, settings, django_assert_num_queries):
    settings.LIST_PAGE_CACHE = False
    MediaFactory(user=ALICE)
    alice.get(LIST)

    with django_assert_num_queries(2):
        alice.get(LIST)


def pages_kept() -> int:
    """How many list pages the pages cache holds (its generations left out)."""
    store = page_cache._pages()
    return sum(1 for key in store._cache if ":list-page:" in key)  # LocMemCache's own dict


def test_one_kept_page_serves_every_host_with_links_on_its_own_host(
    alice, django_assert_num_queries
):
    MediaFactory.create_batch(7, user=ALICE, checksum_sha256="ab" * 32)
    first = alice.get(LIST, HTTP_HOST="photos.example:3000").json()

    with django_assert_num_queries(0):  # the kept page
        other = alice.get(LIST, HTTP_HOST="192.0.2.7:8443").json()

    assert first["next"].startswith("http://photos.example:3000/api/media/")
    assert other["next"].startswith("http://192.0.2.7:8443/api/media/")
    assert all(
        m["file"].startswith("http://192.0.2.7:8443/api/media/files/") for m in other["results"]
    )
    assert other["results"] == [
        {**m, "file": m["file"].replace("photos.example:3000", "192.0.2.7:8443")}
        for m in first["results"]
    ]


def test_varying_the_host_keeps_no_more_pages(alice):
    MediaFactory(user=ALICE, checksum_sha256="ab" * 32)
    for n in range(50):
        response = alice.get(LIST, HTTP_HOST=f"x{n}.example:{3000 + n}")
        assert response.json()["results"][0]["file"].startswith(f"http://x{n}.example:{3000 + n}/")

    assert pages_kept() == 1


def test_the_placeholder_origin_never_reaches_a_client(alice):
    MediaFactory.create_batch(7, user=ALICE, checksum_sha256="ab" * 32)
    fresh = alice.get(LIST).content
    kept = alice.get(LIST).content

    assert fresh == kept
    assert b".invalid" not in kept
    assert page_cache._placeholder_origin().encode() not in kept


def test_a_page_larger_than_the_limit_is_built_afresh_every_time(
    alice, settings, django_assert_num_queries
):
    settings.LIST_PAGE_CACHE_MAX_PAGE_BYTES = 200
    MediaFactory.create_batch(3, user=ALICE)
    alice.get(LIST)

    assert pages_kept() == 0
    with django_assert_num_queries(2):  # the count and the page, again
        assert alice.get(LIST).json()["count"] == 3
