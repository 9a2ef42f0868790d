import uuid

import pytest

from media_handler.models import Collection, Media
from media_handler.serializers import DESCRIPTION_MAX_LENGTH

from .factories import CollectionFactory, MediaFactory
from .helpers import ALICE, BOB, assert_status


def detail(layout, collection):
    return f"{layout['collections']}{collection.pk}/"


def test_create_collection(alice, layout):
    response = alice.post(
        layout["collections"],
        {"name": "Trips", "description": None, "user": BOB, "media_count": 9},
        format="json",
    )
    assert_status(response, 201)
    assert response.data["user"] == ALICE
    assert response.data["description"] == ""
    assert response.data["media_count"] == 0
    assert response.data["media"] == []
    assert Collection.objects.get().user == ALICE


def test_create_collection_without_trailing_slash(alice, layout):
    response = alice.post(layout["collections"].rstrip("/"), {"name": "x"}, format="json")
    assert_status(response, 201)


@pytest.mark.parametrize("payload", [{}, {"name": ""}, {"name": "x" * 256}])
def test_invalid_collection_is_400(alice, layout, payload):
    response = alice.post(layout["collections"], payload, format="json")
    assert_status(response, 400)
    assert "name" in response.data


def test_collection_description_past_its_limit_is_400(alice, layout):
    payload = {"name": "Trips", "description": "x" * (DESCRIPTION_MAX_LENGTH + 1)}
    response = alice.post(layout["collections"], payload, format="json")
    assert_status(response, 400)
    assert "description" in response.data
    assert not Collection.objects.exists()


def test_list_is_the_callers_collections_with_live_media_counts(alice, layout):
    trips = CollectionFactory(user=ALICE, name="Trips")
    MediaFactory.create_batch(2, user=ALICE, collection=trips)
    MediaFactory(user=ALICE, collection=trips, is_deleted=True)
    CollectionFactory(user=BOB)
    response = alice.get(layout["collections"])
    assert_status(response, 200)
    assert response.data["count"] == 1
    assert response.data["results"][0]["media_count"] == 2
    assert "media" not in response.data["results"][0]


def test_list_collections_query_count_is_constant(alice, layout, django_assert_max_num_queries):
    for _ in range(5):
        MediaFactory.create_batch(3, user=ALICE, collection=CollectionFactory(user=ALICE))
    with django_assert_max_num_queries(2):
        response = alice.get(layout["collections"])
    assert [item["media_count"] for item in response.data["results"]] == [3] * 5


def test_search_collections(alice, layout):
    CollectionFactory(user=ALICE, name="Summer trips")
    CollectionFactory(user=ALICE, name="Work", description="summer offsite")
    CollectionFactory(user=ALICE, name="Winter", description="")
    response = alice.get(layout["collections"], {"search": "SUMMER"})
    assert response.data["count"] == 2


def test_collections_paginate(alice, layout):
    CollectionFactory.create_batch(3, user=ALICE)
    response = alice.get(layout["collections"], {"page_size": 2})
    assert response.data["count"] == 3
    assert len(response.data["results"]) == 2
    assert response.data["next"]


def test_retrieve_includes_live_media_only(alice, layout, django_assert_max_num_queries):
    collection = CollectionFactory(user=ALICE)
    live = MediaFactory.create_batch(4, user=ALICE, collection=collection)
    MediaFactory(user=ALICE, collection=collection, is_deleted=True)
    with django_assert_max_num_queries(2):  # the collection with its count, then its media
        response = alice.get(detail(layout, collection))
    assert_status(response, 200)
    assert response.data["media_count"] == 4
    assert {item["id"] for item in response.data["media"]} == {str(m.pk) for m in live}


def test_update_collection(alice, layout):
    collection = CollectionFactory(user=ALICE, name="old", description="keep")
    response = alice.patch(detail(layout, collection), {"name": "new", "user": BOB})
    assert_status(response, 200)
    collection.refresh_from_db()
    assert (collection.name, collection.description, collection.user) == ("new", "keep", ALICE)
    response = alice.put(detail(layout, collection), {"name": "put"}, format="json")
    assert_status(response, 200)
    assert response.data["name"] == "put"


def test_delete_collection_detaches_its_media(alice, layout):
    collection = CollectionFactory(user=ALICE)
    media = MediaFactory(user=ALICE, collection=collection)
    trashed = MediaFactory(user=ALICE, collection=collection, is_deleted=True)
    assert_status(alice.delete(detail(layout, collection)), 204)
    assert not Collection.objects.exists()
    assert Media.objects.filter(pk__in=[media.pk, trashed.pk], collection=None).count() == 2
    assert_status(alice.get(detail(layout, collection)), 404)


@pytest.mark.parametrize(
    ("method", "body"),
    [("get", None), ("put", {"name": "x"}), ("patch", {"name": "x"}), ("delete", None)],
)
def test_other_users_collection_is_404(bob, layout, method, body):
    collection = CollectionFactory(user=ALICE, name="alice's")
    response = getattr(bob, method)(detail(layout, collection), body, format="json")
    assert_status(response, 404)
    assert response.data["code"] == "collection_not_found"
    collection.refresh_from_db()
    assert collection.name == "alice's"


def test_unknown_collection_is_404(alice, layout):
    assert_status(alice.get(f"{layout['collections']}{uuid.uuid4()}/"), 404)


def test_collections_need_a_token(anonymous, layout):
    response = anonymous.get(layout["collections"])
    assert_status(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
