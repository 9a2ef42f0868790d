import uuid

import pytest

from media_handler.models import FeedPosition, Media
from media_handler.serializers import DESCRIPTION_MAX_LENGTH

from .factories import CollectionFactory, MediaFactory
from .helpers import ALICE, BOB, assert_status

SEED_EXAMPLE = {
    "name": "holiday.jpg",
    "type": "image",
    "size": 204800,
    "storage_path": "uploads/holiday.jpg",
    "description": "Beach",
}


def detail(layout, media, suffix=""):
    return f"{layout['media']}{media.pk}/{suffix}"


def test_seed_json_example_creates_a_record_without_a_file(alice, layout):
    response = alice.post(layout["media"], SEED_EXAMPLE, format="json")
    assert_status(response, 201)
    body = response.data
    assert {key: body[key] for key in SEED_EXAMPLE} == SEED_EXAMPLE
    assert body["user"] == ALICE
    assert body["file"] is None
    assert body["is_deleted"] is False
    assert body["collection"] is None
    assert uuid.UUID(body["id"])
    assert Media.objects.get(pk=body["id"]).user == ALICE


def test_create_without_trailing_slash(alice):
    response = alice.post("/api/media", {"name": "a", "type": "audio"}, format="json")
    assert_status(response, 201)
    assert response.data["size"] == 0
    assert response.data["storage_path"] == ""


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "image"}, "name"),
        ({"name": "", "type": "image"}, "name"),
        ({"name": "x"}, "type"),
        ({"name": "x", "type": "document"}, "type"),
        ({"name": "x", "type": "image", "size": -1}, "size"),
        ({"name": "x", "type": "image", "size": "big"}, "size"),
        ({"name": "x", "type": "image", "collection": "not-a-uuid"}, "collection"),
        ({"name": "x" * 256, "type": "image"}, "name"),
    ],
)
def test_invalid_create_is_400_naming_the_field(alice, layout, payload, field):
    response = alice.post(layout["media"], payload, format="json")
    assert_status(response, 400)
    assert field in response.data
    assert response.data["code"] == "invalid"
    assert response.data["message"].startswith(field)
    assert not Media.objects.exists()


@pytest.mark.parametrize("size", [2**63, 10**30])
def test_size_past_the_columns_range_is_400(alice, layout, size):
    response = alice.post(layout["media"], {**SEED_EXAMPLE, "size": size}, format="json")
    assert_status(response, 400)
    assert response.data["code"] == "invalid"
    assert "size" in response.data
    assert not Media.objects.exists()


def test_largest_size_the_column_holds_is_accepted(alice, layout):
    response = alice.post(layout["media"], {**SEED_EXAMPLE, "size": 2**63 - 1}, format="json")
    assert_status(response, 201)
    assert response.data["size"] == 2**63 - 1


@pytest.mark.parametrize("method", ["post", "patch"])
def test_description_past_its_limit_is_400(alice, layout, method):
    url = layout["media"]
    if method == "patch":
        url = detail(layout, MediaFactory(user=ALICE))
    response = getattr(alice, method)(
        url, {**SEED_EXAMPLE, "description": "x" * (DESCRIPTION_MAX_LENGTH + 1)}, format="json"
    )
    assert_status(response, 400)
    assert response.data["message"].startswith("description: ")


def test_description_at_its_limit_is_accepted(alice, layout):
    payload = {**SEED_EXAMPLE, "description": "é" * DESCRIPTION_MAX_LENGTH}
    response = alice.post(layout["media"], payload, format="json")
    assert_status(response, 201)


def test_json_null_description_means_none(alice, layout):
    payload = {"name": "a", "type": "image", "description": None, "collection": None}
    response = alice.post(layout["media"], payload, format="json")
    assert_status(response, 201)
    assert response.data["description"] == ""


def test_form_values_empty_or_null_mean_none(alice, layout):
    form = {"name": "a", "type": "video", "description": "null", "collection": "", "size": ""}
    response = alice.post(layout["media"], form, format="multipart")
    assert_status(response, 201)
    assert response.data["description"] == ""
    assert response.data["collection"] is None


def test_client_cannot_set_owner_or_file_facts(alice, layout):
    payload = {
        **SEED_EXAMPLE,
        "user": BOB,
        "id": str(uuid.uuid4()),
        "is_deleted": True,
        "mime_type": "text/html",
        "checksum_sha256": "0" * 64,
        "width": 9,
    }
    response = alice.post(layout["media"], payload, format="json")
    assert_status(response, 201)
    media = Media.objects.get()
    assert media.user == ALICE
    assert str(media.pk) != payload["id"]
    assert media.is_deleted is False
    assert media.mime_type == ""
    assert media.checksum_sha256 == ""
    assert media.width is None


def test_create_in_own_collection(alice, layout):
    collection = CollectionFactory(user=ALICE)
    response = alice.post(
        layout["media"], {"name": "a", "type": "image", "collection": str(collection.pk)}
    )
    assert_status(response, 201)
    assert response.data["collection"] == str(collection.pk)


def test_create_in_another_users_collection_is_400(alice, layout):
    collection = CollectionFactory(user=BOB)
    response = alice.post(
        layout["media"],
        {"name": "a", "type": "image", "collection": str(collection.pk)},
        format="json",
    )
    assert_status(response, 400)
    assert "collection" in response.data
    assert not Media.objects.exists()


def test_retrieve_own_media(alice, layout):
    media = MediaFactory(user=ALICE)
    response = alice.get(detail(layout, media))
    assert_status(response, 200)
    assert response.data["id"] == str(media.pk)


def test_retrieve_without_trailing_slash(alice, layout):
    media = MediaFactory(user=ALICE)
    assert_status(alice.get(detail(layout, media).rstrip("/")), 200)


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("put", "", {"name": "mine", "type": "image"}),
        ("patch", "", {"name": "mine"}),
        ("delete", "", None),
        ("post", "restore/", None),
        ("post", "remove-from-collection/", None),
        ("get", "file/", None),
    ],
)
def test_other_users_media_is_404(bob, layout, method, suffix, body):
    media = MediaFactory(user=ALICE, name="alice's")
    response = getattr(bob, method)(detail(layout, media, suffix), body, format="json")
    assert_status(response, 404)
    assert response.data["code"] == "media_not_found"
    media.refresh_from_db()
    assert (media.name, media.is_deleted) == ("alice's", False)


def test_other_users_media_is_404_for_add_to_collection(bob, layout):
    media = MediaFactory(user=ALICE)
    collection = CollectionFactory(user=BOB)
    response = bob.post(
        detail(layout, media, "add-to-collection/"), {"collection_id": str(collection.pk)}
    )
    assert_status(response, 404)
    media.refresh_from_db()
    assert media.collection is None


def test_unknown_media_id_is_404(alice, layout):
    assert_status(alice.get(f"{layout['media']}{uuid.uuid4()}/"), 404)


@pytest.mark.parametrize("bad_id", ["123", "not-a-uuid", "..%2F..%2Fetc", "0" * 40])
def test_malformed_media_id_is_json_404(alice, layout, bad_id):
    response = alice.get(f"{layout['media']}{bad_id}/")
    assert_status(response, 404)
    assert response.json()["code"] == "not_found"


def test_put_replaces_editable_fields(alice, layout):
    media = MediaFactory(user=ALICE, description="old", size=5)
    payload = {"name": "new", "type": "video", "description": None, "size": 999, "user": BOB}
    response = alice.put(detail(layout, media), payload, format="json")
    assert_status(response, 200)
    media.refresh_from_db()
    assert (media.name, media.type, media.description) == ("new", "video", "")
    assert (media.size, media.user) == (5, ALICE)


def test_put_without_required_fields_is_400(alice, layout):
    media = MediaFactory(user=ALICE)
    response = alice.put(detail(layout, media), {"description": "x"}, format="json")
    assert_status(response, 400)
    assert {"name", "type"} <= set(response.data)


def test_patch_changes_only_given_fields(alice, layout):
    media = MediaFactory(user=ALICE, name="keep", description="old")
    response = alice.patch(
        detail(layout, media),
        {"description": "new", "storage_path": "/etc/passwd", "is_deleted": True},
        format="json",
    )
    assert_status(response, 200)
    media.refresh_from_db()
    assert (media.name, media.description) == ("keep", "new")
    assert media.storage_path != "/etc/passwd"
    assert media.is_deleted is False


def test_patch_with_unknown_type_is_400(alice, layout):
    media = MediaFactory(user=ALICE)
    assert_status(alice.patch(detail(layout, media), {"type": "pdf"}, format="json"), 400)


def test_soft_delete_moves_media_to_the_trash(alice, layout):
    media = MediaFactory(user=ALICE)
    assert_status(alice.delete(detail(layout, media)), 204)
    media.refresh_from_db()
    assert media.is_deleted is True
    assert media.deleted_at is not None
    assert_status(alice.get(detail(layout, media)), 404)
    assert_status(alice.delete(detail(layout, media)), 404)
    assert alice.get(layout["media"]).json()["count"] == 0
    trash = alice.get(layout["media"], {"is_deleted": "true"}).json()
    assert [item["id"] for item in trash["results"]] == [str(media.pk)]
    assert trash["results"][0]["is_deleted"] is True


def test_restore_takes_media_out_of_the_trash(alice, layout):
    media = MediaFactory(user=ALICE, is_deleted=True)
    response = alice.post(detail(layout, media, "restore/"))
    assert_status(response, 200)
    assert response.data["is_deleted"] is False
    assert_status(alice.get(detail(layout, media)), 200)
    assert alice.get(layout["media"], {"is_deleted": "true"}).json()["count"] == 0


def test_restore_of_live_media_is_harmless(alice, layout):
    media = MediaFactory(user=ALICE)
    assert_status(alice.post(detail(layout, media, "restore/")), 200)


def test_add_to_own_collection(alice, layout):
    media = MediaFactory(user=ALICE)
    collection = CollectionFactory(user=ALICE)
    response = alice.post(
        detail(layout, media, "add-to-collection/"), {"collection_id": str(collection.pk)}
    )
    assert_status(response, 200)
    assert response.data["collection"] == str(collection.pk)
    media.refresh_from_db()
    assert media.collection == collection


def test_add_to_collection_does_not_load_the_collections_media(
    alice, layout, django_assert_num_queries
):
    collection = CollectionFactory(user=ALICE)
    MediaFactory.create_batch(3, user=ALICE, collection=collection)
    media = MediaFactory(user=ALICE)
    FeedPosition.objects.create(user=ALICE)  # not the user's first change
    # The media; then, in a transaction (a savepoint here), the collection and the media locked,
    # the update, and the change feed's three (its position locked, the changes, the position).
    with django_assert_num_queries(9):
        response = alice.post(
            detail(layout, media, "add-to-collection/"), {"collection_id": str(collection.pk)}
        )
    assert_status(response, 200)


def test_add_to_another_users_collection_is_400(alice, layout):
    media = MediaFactory(user=ALICE)
    collection = CollectionFactory(user=BOB)
    response = alice.post(
        detail(layout, media, "add-to-collection/"),
        {"collection_id": str(collection.pk)},
        format="json",
    )
    assert_status(response, 400)
    assert response.data["collection_id"] == ["No collection of yours has this id."]
    assert response.data["code"] == "invalid"
    assert response.data["message"] == "collection_id: No collection of yours has this id."
    media.refresh_from_db()
    assert media.collection is None


@pytest.mark.parametrize("body", [{}, {"collection_id": ""}, {"collection_id": "nope"}])
def test_add_to_collection_without_a_valid_id_is_400(alice, layout, body):
    media = MediaFactory(user=ALICE)
    response = alice.post(detail(layout, media, "add-to-collection/"), body, format="json")
    assert_status(response, 400)
    assert "collection_id" in response.data


def test_add_to_unknown_collection_is_400(alice, layout):
    media = MediaFactory(user=ALICE)
    response = alice.post(
        detail(layout, media, "add-to-collection/"), {"collection_id": str(uuid.uuid4())}
    )
    assert_status(response, 400)
    assert response.data["code"] == "invalid"
    assert response.data["message"].startswith("collection_id: ")


def test_remove_from_collection(alice, layout):
    collection = CollectionFactory(user=ALICE)
    media = MediaFactory(user=ALICE, collection=collection)
    response = alice.post(detail(layout, media, "remove-from-collection/"))
    assert_status(response, 200)
    assert response.data["collection"] is None
    media.refresh_from_db()
    assert media.collection is None


def test_method_not_allowed_is_json_405(alice, layout):
    response = alice.put(layout["media"], {}, format="json")
    assert_status(response, 405)
    assert response.data["code"] == "method_not_allowed"


def test_malformed_json_is_400(alice, layout):
    response = alice.post(layout["media"], "{not json", content_type="application/json")
    assert_status(response, 400)
    assert response.data["code"] == "parse_error"


def test_json_nested_too_deeply_is_400_not_500(alice, layout):
    body = '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = alice.post(layout["media"], body, content_type="application/json")
    assert_status(response, 400)
    assert response.data["code"] == "parse_error"


def test_malformed_multipart_is_400(alice, layout):
    response = alice.generic(
        "POST",
        layout["media"],
        b"--x\r\nContent-Disposition: form-data; name=\r\n\r\nbroken",
        content_type="multipart/form-data; boundary=",
    )
    assert_status(response, 400)


def test_unknown_path_is_json_404(alice):
    response = alice.get("/api/media/nothing-here/")
    assert_status(response, 404)
    assert response.json()["message"]
