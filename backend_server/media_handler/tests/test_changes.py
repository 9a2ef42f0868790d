"""The change feed (SPEC.md, "Change feed")."""

import base64
import random
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from media_handler import changes
from media_handler.models import Change, Collection, FeedPosition, Media
from media_handler.services import media_purge
from media_handler.tasks import make_derivatives

from . import samples
from .helpers import ALICE, assert_status

pytestmark = pytest.mark.django_db

FEED = "/api/media/changes/"
# Signed links change with their expiry window; the rest of an object must match exactly.
LINKS = ("file", "thumbnail", "preview")


def feed(client, since: str | None = None, **params) -> dict:
    query = {**params, **({"since": since} if since is not None else {})}
    response = client.get(FEED, query)
    assert_status(response, 200)
    return response.json()


def drain(client, since: str | None, limit: int = 100) -> tuple[list[dict], str]:
    """Every page from `since` on: the changes, and the last cursor."""
    entries = []
    while True:
        page = feed(client, since, limit=limit)
        entries.extend(page["changes"])
        since = page["cursor"]
        if not page["has_more"]:
            return entries, since


def new_media(client, **fields) -> dict:
    response = client.post(
        "/api/media/", {"name": "photo", "type": "image", "size": 1, **fields}, format="json"
    )
    assert_status(response, 201)
    return response.json()


def new_collection(client, name="Trip") -> dict:
    response = client.post("/api/media/collections/", {"name": name}, format="json")
    assert_status(response, 201)
    return response.json()


def test_without_since_the_feed_is_the_current_state(alice, bob):
    collection = new_collection(alice)
    live = new_media(alice, collection=collection["id"])
    trashed = new_media(alice)
    alice.delete(f"/api/media/{trashed['id']}/")
    new_media(bob)

    entries, _ = drain(alice, None)

    by_id = {entry["id"]: entry for entry in entries}
    assert set(by_id) == {collection["id"], live["id"], trashed["id"]}
    assert entries[0]["kind"] == "collection"  # before the media that name it
    assert by_id[trashed["id"]]["object"]["is_deleted"] is True
    assert by_id[collection["id"]]["object"]["media_count"] == 1
    assert by_id[collection["id"]]["object"]["media"][0]["id"] == live["id"]
    assert all(entry["op"] == "upsert" for entry in entries)


def test_the_current_state_is_paged(alice):
    made = {new_collection(alice, f"c{index}")["id"] for index in range(3)}
    made |= {new_media(alice, name=f"m{index}")["id"] for index in range(4)}

    pages, since = [], None
    while True:
        page = feed(alice, since, limit=2)
        pages.append(page)
        since = page["cursor"]
        if not page["has_more"]:
            break

    assert [len(page["changes"]) for page in pages] == [2, 2, 2, 1]
    assert {entry["id"] for page in pages for entry in page["changes"]} == made


def test_each_kind_of_change_appears_in_order(alice, django_capture_on_commit_callbacks):
    _, since = drain(alice, None)
    collection = new_collection(alice)
    media = new_media(alice)
    alice.patch(f"/api/media/{media['id']}/", {"name": "renamed"}, format="json")
    alice.post(
        f"/api/media/{media['id']}/add-to-collection/",
        {"collection_id": collection["id"]},
        format="json",
    )
    alice.delete(f"/api/media/{media['id']}/")

    page = feed(alice, since)

    assert [(entry["kind"], entry["op"]) for entry in page["changes"]] == [
        ("media", "upsert"),
        ("collection", "upsert"),
    ]
    media_entry = page["changes"][0]
    assert media_entry["object"]["name"] == "renamed"
    assert media_entry["object"]["is_deleted"] is True
    assert media_entry["object"]["collection"] == collection["id"]
    assert page["changes"][1]["object"]["media_count"] == 0
    since = page["cursor"]

    alice.post(f"/api/media/{media['id']}/restore/")
    with django_capture_on_commit_callbacks(execute=True):
        media_purge(media_items=Media.objects.filter(pk=media["id"]))
    page = feed(alice, since)
    by_kind = {entry["kind"]: entry for entry in page["changes"]}
    assert (by_kind["media"]["id"], by_kind["media"]["op"], by_kind["media"]["object"]) == (
        media["id"],
        "delete",
        None,
    )
    assert feed(alice, page["cursor"])["changes"] == []


def test_a_deleted_collection_is_a_delete_and_its_media_are_detached(alice):
    collection = new_collection(alice)
    media = new_media(alice, collection=collection["id"])
    _, since = drain(alice, None)

    alice.delete(f"/api/media/collections/{collection['id']}/")

    entries = feed(alice, since)["changes"]
    assert [(entry["kind"], entry["op"]) for entry in entries] == [
        ("media", "upsert"),
        ("collection", "delete"),
    ]
    assert entries[0]["id"] == media["id"]
    assert entries[0]["object"]["collection"] is None


def test_finished_derivatives_appear(alice):
    response = alice.post(
        "/api/media/",
        {
            "name": "p",
            "type": "image",
            "file": SimpleUploadedFile("p", samples.picture_bytes("PNG")),
        },
        format="multipart",
    )
    _, since = drain(alice, None)

    make_derivatives.run(media_id=response.json()["id"])

    (entry,) = feed(alice, since)["changes"]
    assert entry["object"]["processing"] == "ready"
    assert entry["object"]["thumbnail"]


def test_another_users_changes_never_appear(alice, bob):
    _, since = drain(alice, None)
    new_media(bob)
    new_collection(bob)
    assert feed(alice, since)["changes"] == []


def test_a_cursor_older_than_the_retention_is_410(alice, settings):
    settings.CHANGE_FEED_RETENTION_SECONDS = 0
    stale = changes.FeedCursor(seq=0, issued=int(timezone.now().timestamp()) - 10).encode()

    response = alice.get(FEED, {"since": stale})

    assert_status(response, 410)
    assert response.json()["code"] == "cursor_expired"
    assert "without" in response.json()["message"]


@pytest.mark.parametrize("since", ["garbage", base64.urlsafe_b64encode(b'{"s": -1}').decode()])
def test_a_cursor_the_feed_did_not_give_is_400(alice, since):
    response = alice.get(FEED, {"since": since})
    assert_status(response, 400)


@pytest.mark.parametrize("limit", ["0", "501", "many"])
def test_a_bad_limit_is_400(alice, limit):
    assert_status(alice.get(FEED, {"limit": limit}), 400)


def test_the_feed_needs_a_token(anonymous):
    assert_status(anonymous.get(FEED), 401)


def test_pruning_keeps_the_changes_a_cursor_may_still_need(alice, settings):
    new_media(alice)
    Change.objects.update(at=timezone.now() - timedelta(days=31, hours=2))
    new_media(alice)
    assert changes.changes_prune() == 1
    assert Change.objects.count() == 1


def prune_everything_so_far() -> None:
    """Age every change past the retention (and its margin), then prune."""
    Change.objects.update(at=timezone.now() - timedelta(days=31, hours=2))
    changes.changes_prune()


def test_a_cursor_whose_next_changes_were_pruned_is_410(alice):
    # A page with more to come is read, the app stops; the rest is pruned before it goes on.
    _, since = drain(alice, None)
    for _ in range(3):
        new_media(alice)
    page = feed(alice, since, limit=1)
    assert page["has_more"]
    prune_everything_so_far()

    response = alice.get(FEED, {"since": page["cursor"]})

    assert_status(response, 410)
    assert response.json()["code"] == "cursor_expired"


def test_a_cursor_whose_later_changes_were_pruned_and_followed_is_410(alice):
    # Some changes pruned, newer ones kept: the page would start past a hole.
    _, since = drain(alice, None)
    new_media(alice)
    prune_everything_so_far()
    new_media(alice)

    assert_status(alice.get(FEED, {"since": since}), 410)


def test_a_page_with_a_change_pruned_inside_it_is_410(alice):
    # Pruning goes by each change's time, which its node's clock set: a node behind the
    # others can make a later change look older, and it goes first.
    _, since = drain(alice, None)
    for _ in range(3):
        new_media(alice)
    middle = Change.objects.order_by("seq")[1]
    Change.objects.filter(pk=middle.pk).update(at=timezone.now() - timedelta(days=31, hours=2))
    changes.changes_prune()

    assert_status(alice.get(FEED, {"since": since}), 410)


def test_a_cursor_in_the_middle_of_the_current_state_outliving_its_changes_is_410(alice):
    for _ in range(2):
        new_media(alice)
    page = feed(alice, None, limit=1)  # the state, page by page
    assert page["has_more"]
    new_media(alice)  # after the state began: the feed owes it
    prune_everything_so_far()

    since = page["cursor"]
    while True:
        response = alice.get(FEED, {"since": since, "limit": 1})
        if response.status_code != 200:
            break
        assert response.json()["has_more"], "the feed ended without the change it owed"
        since = response.json()["cursor"]
    assert_status(response, 410)


def test_a_cursor_with_nothing_new_and_nothing_pruned_is_an_empty_page(alice):
    new_media(alice)
    _, since = drain(alice, None)
    prune_everything_so_far()  # the changes it has read may go

    page = feed(alice, since)

    assert page["changes"] == []
    assert page["has_more"] is False


def test_changes_committing_out_of_order_are_never_skipped(alice):
    # The feed's order is its owner's position, locked by each write until it commits.
    new_media(alice)
    new_media(alice)
    assert list(Change.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2]
    assert FeedPosition.objects.get(user=ALICE).seq == 2


def comparable(obj: dict) -> dict:
    return {key: value for key, value in obj.items() if key not in LINKS} | {
        "media": [comparable(item) for item in obj.get("media", [])]
    }


def server_state(client) -> dict:
    """Every object of the caller as retrieve shows it (the trash included)."""
    state = {}
    for collection in Collection.objects.filter(user=ALICE):
        state[("collection", str(collection.pk))] = comparable(
            client.get(f"/api/media/collections/{collection.pk}/").json()
        )
    for media in Media.objects.filter(user=ALICE):
        response = client.get(f"/api/media/{media.pk}/")
        if media.is_deleted:
            response = client.get("/api/media/", {"is_deleted": "true", "page_size": 100})
            found = next(item for item in response.json()["results"] if item["id"] == str(media.pk))
            state[("media", str(media.pk))] = comparable(found)
        else:
            state[("media", str(media.pk))] = comparable(response.json())
    return state


def apply(phone: dict, entries: list[dict]) -> None:
    for entry in entries:
        key = (entry["kind"], entry["id"])
        if entry["op"] == "delete":
            phone.pop(key, None)
        else:
            phone[key] = comparable(entry["object"])


def test_a_phone_syncing_over_a_hundred_random_changes_ends_with_the_servers_state(
    alice, django_capture_on_commit_callbacks
):
    rng = random.Random(16)
    phone: dict = {}
    since = None
    for _ in range(5):
        new_media(alice, name=f"seed{_}")

    def media_ids(**filters):
        return [
            str(pk)
            for pk in Media.objects.filter(user=ALICE, **filters).values_list("pk", flat=True)
        ]

    def collection_ids():
        return [
            str(pk) for pk in Collection.objects.filter(user=ALICE).values_list("pk", flat=True)
        ]

    actions = 0
    while actions < 100:
        choice = rng.choice(
            [
                "create",
                "create",
                "edit",
                "trash",
                "restore",
                "purge",
                "collect",
                "uncollect",
                "new-collection",
                "rename-collection",
                "drop-collection",
                "sync",
            ]
        )
        live, trashed, collections = (
            media_ids(is_deleted=False),
            media_ids(is_deleted=True),
            collection_ids(),
        )
        if choice == "sync":
            entries, since = drain(alice, since, limit=rng.choice([3, 7, 100]))
            apply(phone, entries)
            continue
        actions += 1
        if choice == "create" or not live:
            extra = (
                {"collection": rng.choice(collections)}
                if collections and rng.random() < 0.3
                else {}
            )
            new_media(alice, name=f"m{actions}", **extra)
        elif choice == "edit":
            alice.patch(f"/api/media/{rng.choice(live)}/", {"name": f"e{actions}"}, format="json")
        elif choice == "trash":
            alice.delete(f"/api/media/{rng.choice(live)}/")
        elif choice == "restore" and trashed:
            alice.post(f"/api/media/{rng.choice(trashed)}/restore/")
        elif choice == "purge" and trashed:
            with django_capture_on_commit_callbacks(execute=True):
                media_purge(media_items=Media.objects.filter(pk=rng.choice(trashed)))
        elif choice == "collect" and collections:
            alice.post(
                f"/api/media/{rng.choice(live)}/add-to-collection/",
                {"collection_id": rng.choice(collections)},
                format="json",
            )
        elif choice == "uncollect":
            alice.post(f"/api/media/{rng.choice(live)}/remove-from-collection/")
        elif choice == "new-collection" or not collections:
            new_collection(alice, f"c{actions}")
        elif choice == "rename-collection":
            alice.patch(
                f"/api/media/collections/{rng.choice(collections)}/",
                {"name": f"r{actions}"},
                format="json",
            )
        elif choice == "drop-collection":
            alice.delete(f"/api/media/collections/{rng.choice(collections)}/")

    entries, since = drain(alice, since, limit=rng.choice([3, 100]))
    apply(phone, entries)

    assert phone == server_state(alice)
    assert len(phone) > 10
