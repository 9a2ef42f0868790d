import time
from datetime import timedelta
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.utils import timezone

from media_handler.models import Media
from media_handler.pagination import RecentCounts, bounded_count, recent_counts

from .factories import CollectionFactory, MediaFactory
from .helpers import ALICE, BOB, assert_status


def ids(response) -> list[str]:
    return [item["id"] for item in response.json()["results"]]


def make_media(count: int, **fields) -> list[Media]:
    """`count` media of Alice, oldest first, one minute apart."""
    start = timezone.now() - timedelta(days=1)
    created = MediaFactory.create_batch(count, user=ALICE, **fields)
    for offset, media in enumerate(created):
        Media.objects.filter(pk=media.pk).update(created_at=start + timedelta(minutes=offset))
    return created


def test_list_is_the_callers_media_newest_first(alice, layout):
    mine = make_media(3)
    MediaFactory(user=BOB)
    response = alice.get(layout["media"])
    assert_status(response, 200)
    assert set(response.json()) == {"count", "next", "previous", "results"}
    assert response.json()["count"] == 3
    assert ids(response) == [str(media.pk) for media in reversed(mine)]


def test_other_users_see_none_of_my_media(bob, layout):
    make_media(2)
    response = bob.get(layout["media"])
    assert response.json()["count"] == 0
    assert response.json()["results"] == []


def test_mobile_app_list_call_verbatim(alice):
    images = make_media(7, type="image")
    make_media(2, type="audio")
    MediaFactory(user=ALICE, type="image", is_deleted=True)
    response = alice.get("/api/media?page=1&page_size=5&type=image&is_deleted=false")
    assert_status(response, 200)
    assert response.json()["count"] == 7
    assert ids(response) == [str(media.pk) for media in reversed(images)][:5]
    next_link = urlsplit(response.json()["next"])
    assert (next_link.scheme, next_link.netloc, next_link.path) == (
        "http",
        "testserver",
        "/api/media",
    )
    assert parse_qs(next_link.query) == {
        "page": ["2"],
        "page_size": ["5"],
        "type": ["image"],
        "is_deleted": ["false"],
    }
    assert response.json()["previous"] is None
    page_two = alice.get(response.json()["next"])
    assert len(page_two.json()["results"]) == 2
    assert page_two.json()["next"] is None
    assert page_two.json()["previous"].startswith("http://testserver/api/media?")


def test_links_use_the_host_the_client_used(alice, settings):
    settings.USE_X_FORWARDED_HOST = True
    make_media(3)
    response = alice.get(
        "/api/media/?page_size=2",
        HTTP_X_FORWARDED_HOST="192.168.1.20:3000",
    )
    assert response.json()["next"].startswith("http://192.168.1.20:3000/api/media/?")


@pytest.mark.parametrize("media_type", ["image", "video", "audio"])
def test_filter_by_type(alice, layout, media_type):
    for kind in ("image", "video", "audio"):
        MediaFactory(user=ALICE, type=kind)
    response = alice.get(layout["media"], {"type": media_type})
    assert [item["type"] for item in response.json()["results"]] == [media_type]


@pytest.mark.parametrize("bogus", ["pdf", "IMAGE", "image,video"])
def test_unknown_type_filter_is_400(alice, layout, bogus):
    response = alice.get(layout["media"], {"type": bogus})
    assert_status(response, 400)
    assert "type" in response.json()


def test_filter_by_collection(alice, layout):
    collection = CollectionFactory(user=ALICE)
    inside = MediaFactory(user=ALICE, collection=collection)
    MediaFactory(user=ALICE)
    response = alice.get(layout["media"], {"collection": str(collection.pk)})
    assert ids(response) == [str(inside.pk)]


def test_filter_by_another_users_collection_finds_nothing(bob, layout):
    collection = CollectionFactory(user=ALICE)
    MediaFactory(user=ALICE, collection=collection)
    response = bob.get(layout["media"], {"collection": str(collection.pk)})
    assert response.json()["count"] == 0


def test_every_bad_filter_is_named_in_the_400(alice):
    response = alice.get("/api/media/", {"type": "pdf", "collection": "nope", "is_deleted": "no"})

    assert_status(response, 400)
    body = response.json()
    assert set(body) == {"type", "collection", "code", "message"}
    assert body["code"] == "invalid"
    assert body["message"] == f"type: {body['type'][0]}"


def test_malformed_collection_filter_is_400(alice, layout):
    response = alice.get(layout["media"], {"collection": "nope"})
    assert_status(response, 400)
    assert "collection" in response.json()


def test_trash_lists_only_deleted_media(alice, layout):
    live = MediaFactory(user=ALICE)
    deleted = MediaFactory(user=ALICE, is_deleted=True)
    MediaFactory(user=BOB, is_deleted=True)
    assert ids(alice.get(layout["media"], {"is_deleted": "false"})) == [str(live.pk)]
    assert ids(alice.get(layout["media"], {"is_deleted": "true"})) == [str(deleted.pk)]


def test_search_matches_name_and_description(alice, layout):
    by_name = MediaFactory(user=ALICE, name="Beach day")
    by_description = MediaFactory(user=ALICE, name="x", description="at the BEACH")
    MediaFactory(user=ALICE, name="Mountains")
    MediaFactory(user=BOB, name="beach")
    response = alice.get(layout["media"], {"search": "beach"})
    assert set(ids(response)) == {str(by_name.pk), str(by_description.pk)}


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("name", ["a", "b", "c"]),
        ("-name", ["c", "b", "a"]),
        ("size", ["c", "a", "b"]),
        ("-size", ["b", "a", "c"]),
        ("created_at", ["b", "c", "a"]),
        ("-created_at", ["a", "c", "b"]),
        ("user", ["a", "c", "b"]),  # not an ordering field: the default applies
    ],
)
def test_ordering(alice, layout, ordering, expected):
    b, c, a = make_media(3)
    for media, name, size in ((a, "a", 20), (b, "b", 30), (c, "c", 10)):
        Media.objects.filter(pk=media.pk).update(name=name, size=size)
    response = alice.get(layout["media"], {"ordering": ordering})
    assert [item["name"] for item in response.json()["results"]] == expected


def test_equal_timestamps_page_stably(alice, layout):
    created = [MediaFactory(user=ALICE) for _ in range(6)]
    Media.objects.update(created_at=timezone.now())
    seen = []
    for page in (1, 2, 3):
        seen += ids(alice.get(layout["media"], {"page": page, "page_size": 2}))
    assert sorted(seen) == sorted(str(media.pk) for media in created)


@pytest.mark.parametrize(
    ("page_size", "expected"),
    [("0", 10), ("-1", 10), ("abc", 10), ("", 10), ("3", 3), ("100", 100), ("1000", 100)],
)
def test_page_size_falls_back_or_is_clamped(alice, layout, page_size, expected):
    Media.objects.bulk_create(Media(user=ALICE, name=f"m{i}", type="image") for i in range(120))
    response = alice.get(layout["media"], {"page_size": page_size})
    assert_status(response, 200)
    assert len(response.json()["results"]) == expected
    assert response.json()["count"] == 120


@pytest.mark.parametrize("page", ["3", "0", "-1", "abc"])
def test_page_past_the_end_or_not_a_number_is_404(alice, layout, page):
    make_media(3)
    response = alice.get(layout["media"], {"page": page, "page_size": 2})
    assert_status(response, 404)
    assert response.json()["detail"] == "Invalid page."


def test_empty_list_first_page_is_200(alice, layout):
    response = alice.get(layout["media"], {"page": 1})
    assert_status(response, 200)
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_list_query_count_does_not_grow_with_rows(alice, layout, django_assert_max_num_queries):
    collection = CollectionFactory(user=ALICE)
    make_media(25, collection=collection)
    with django_assert_max_num_queries(2):  # the bounded count and the page
        response = alice.get(layout["media"], {"page_size": 25})
    assert len(response.json()["results"]) == 25


def test_count_past_the_exact_limit_is_still_exact(alice, settings):
    settings.PAGINATION_EXACT_COUNT_LIMIT = 5
    cache.clear()
    make_media(8)
    response = alice.get("/api/media/", {"page_size": 2, "page": 4})
    assert response.json()["count"] == 8
    assert response.json()["next"] is None


def test_count_past_the_limit_is_cached_briefly(db, settings, django_assert_num_queries):
    settings.PAGINATION_EXACT_COUNT_LIMIT = 3
    cache.clear()
    make_media(5)
    queryset = Media.objects.filter(user=ALICE)
    with django_assert_num_queries(2):  # bounded, then exact
        assert bounded_count(queryset) == 5
    with django_assert_num_queries(0):
        assert bounded_count(queryset) == 5
    with django_assert_num_queries(1):  # another filter, under the limit: exact, uncached
        assert bounded_count(queryset.filter(name="none")) == 0


def test_a_count_cached_by_another_worker_is_used(db, settings, django_assert_num_queries):
    settings.PAGINATION_EXACT_COUNT_LIMIT = 3
    cache.clear()
    make_media(5)
    queryset = Media.objects.filter(user=ALICE)
    bounded_count(queryset)
    recent_counts.clear()  # as in another worker: only the shared cache knows

    with django_assert_num_queries(0):
        assert bounded_count(queryset) == 5


def test_a_worker_forgets_a_count_when_it_expires(db, settings, django_assert_num_queries):
    settings.PAGINATION_EXACT_COUNT_LIMIT = 3
    settings.PAGINATION_COUNT_CACHE_SECONDS = 60
    cache.clear()
    make_media(5)
    queryset = Media.objects.filter(user=ALICE)
    started = time.time()
    bounded_count(queryset)
    make_media(2)

    with mock.patch("media_handler.pagination.time.time", return_value=started + 59):
        assert bounded_count(queryset) == 5
    later = mock.patch("media_handler.pagination.time.time", return_value=started + 61)
    with later, django_assert_num_queries(2):
        assert bounded_count(queryset) == 7


def test_a_worker_remembers_a_bounded_number_of_counts():
    counts = RecentCounts()
    for n in range(RecentCounts.max_entries + 5):
        counts.remember(f"key-{n}", (n, 1e12))

    assert counts.get("key-0") is None
    assert counts.get(f"key-{RecentCounts.max_entries + 4}") == (RecentCounts.max_entries + 4, 1e12)


@pytest.mark.parametrize(
    ("value", "deleted"),
    [("true", True), ("True", True), ("1", True), ("false", False), ("0", False), ("", False)],
)
def test_is_deleted_accepts_the_usual_spellings(alice, layout, value, deleted):
    MediaFactory(user=ALICE, is_deleted=True)
    MediaFactory(user=ALICE)
    results = alice.get(layout["media"], {"is_deleted": value}).json()["results"]
    assert [item["is_deleted"] for item in results] == [deleted]


def test_bogus_is_deleted_is_400(alice, layout):
    response = alice.get(layout["media"], {"is_deleted": "maybe"})
    assert_status(response, 400)
    assert "is_deleted" in response.json()


def cursor_of(link: str | None) -> str | None:
    return parse_qs(urlsplit(link).query)["cursor"][0] if link else None


def walk_keyset(client, url: str) -> tuple[list[str], list[dict]]:
    """Every id of a keyset walk from `url` (with `cursor=`), and each page's body."""
    seen, bodies = [], []
    while url:
        response = client.get(url)
        assert_status(response, 200)
        bodies.append(response.json())
        seen += ids(response)
        url = response.json()["next"]
    return seen, bodies


def test_keyset_pages_walk_the_list_newest_first(alice, layout):
    mine = make_media(7)
    MediaFactory(user=BOB)

    seen, bodies = walk_keyset(alice, f"{layout['media']}?cursor=&page_size=3")

    assert seen == [str(media.pk) for media in reversed(mine)]
    assert [len(body["results"]) for body in bodies] == [3, 3, 1]
    assert {body["count"] for body in bodies} == {7}
    assert all(cursor_of(body["next"]) for body in bodies[:-1])


def test_an_upload_during_a_keyset_walk_neither_repeats_nor_hides_an_item(alice, layout):
    mine = make_media(6)
    first = alice.get(f"{layout['media']}?cursor=&page_size=3").json()
    MediaFactory(user=ALICE)  # newer than everything: page numbers would shift by one

    rest, _ = walk_keyset(alice, first["next"])

    assert [item["id"] for item in first["results"]] + rest == [
        str(media.pk) for media in reversed(mine)
    ]


def test_keyset_pages_keep_the_filters(alice, layout):
    images = make_media(4, type="image")
    make_media(3, type="audio")

    seen, _ = walk_keyset(alice, f"{layout['media']}?cursor=&page_size=2&type=image")

    assert seen == [str(media.pk) for media in reversed(images)]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "bz0tMQ", "cD0yMDI2"])
def test_a_bad_cursor_is_a_json_404(alice, layout, cursor):
    make_media(2)
    response = alice.get(f"{layout['media']}?cursor={cursor}")
    assert_status(response, 404)
    assert response.json()["message"]
