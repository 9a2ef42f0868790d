"""Writes racing each other on real threads against the real database (each thread its own
connection, every write committed), as gunicorn's threads and workers do: a write whose object
was deleted meanwhile is a 404 (or the 400 an unknown collection always is), or it wins
cleanly; never a 500, never a row pointing at nothing (issue 12, item 2)."""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from media_handler.models import Collection, Media

from .helpers import ALICE, access_token_for, png_bytes, stored_files

pytestmark = pytest.mark.django_db(transaction=True)
RACERS = 10


def client() -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(ALICE)}")
    return api


def race(*calls: Callable[[], object]) -> list[int]:
    """Runs the calls at once (a barrier lets them go together); their answers' statuses."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> int:
        try:
            start.wait()
            return call().status_code  # type: ignore[attr-defined]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def new_collection() -> str:
    response = client().post("/api/media/collections/", {"name": "Trip"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def new_media(**fields) -> str:
    response = client().post(
        "/api/media/", {"name": "photo", "type": "image", "size": 1, **fields}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_edits_of_a_collection_while_it_is_deleted(django_db_blocker):
    collection = new_collection()
    url = f"/api/media/collections/{collection}/"
    statuses = race(
        lambda: client().delete(url),
        *[
            (lambda n=n: client().patch(url, {"name": f"Trip {n}"}, format="json"))
            for n in range(RACERS - 1)
        ],
    )

    assert statuses[0] == 204
    assert set(statuses[1:]) <= {200, 404}, Counter(statuses)
    assert not Collection.objects.filter(pk=collection).exists()


def test_media_added_to_a_collection_while_it_is_deleted():
    collection = new_collection()
    media = [new_media() for _ in range(RACERS - 1)]
    statuses = race(
        lambda: client().delete(f"/api/media/collections/{collection}/"),
        *[
            (
                lambda m=m: client().post(
                    f"/api/media/{m}/add-to-collection/",
                    {"collection_id": collection},
                    format="json",
                )
            )
            for m in media
        ],
    )

    assert statuses[0] == 204
    assert set(statuses[1:]) <= {200, 400}, Counter(statuses)
    assert not Collection.objects.filter(pk=collection).exists()
    assert not Media.objects.filter(collection_id=collection).exists()
    assert Media.objects.filter(pk__in=media).count() == len(media)


def test_uploads_into_a_collection_while_it_is_deleted(settings):
    collection = new_collection()

    def upload():
        form = {
            "name": "photo",
            "type": "image",
            "collection": collection,
            "file": SimpleUploadedFile("p.png", png_bytes()),
        }
        return client().post("/api/media/", form, format="multipart")

    statuses = race(
        lambda: client().delete(f"/api/media/collections/{collection}/"),
        *[upload for _ in range(RACERS - 1)],
    )

    assert statuses[0] == 204
    assert set(statuses[1:]) <= {201, 400}, Counter(statuses)
    assert not Media.objects.filter(collection_id=collection).exists()
    # Every file stored belongs to a row: a refused upload left nothing behind.
    stored = {
        p.relative_to(settings.MEDIA_ROOT).as_posix() for p in stored_files(settings.MEDIA_ROOT)
    }
    assert stored == set(
        Media.objects.exclude(checksum_sha256="").values_list("storage_path", flat=True)
    )


@pytest.mark.parametrize("remover", ["soft delete", "purge"])
def test_edits_of_a_media_while_it_is_removed(remover):
    media = new_media()
    url = f"/api/media/{media}/"

    def remove():
        if remover == "soft delete":
            return client().delete(url)
        from media_handler import services

        services.media_purge(media_items=list(Media.objects.filter(pk=media)))

        class Done:
            status_code = 204

        return Done()

    statuses = race(
        remove,
        *[
            (lambda n=n: client().patch(url, {"description": f"take {n}"}, format="json"))
            for n in range(RACERS - 1)
        ],
    )

    assert statuses[0] == 204
    assert set(statuses[1:]) <= {200, 404}, Counter(statuses)


def test_a_media_restored_while_it_is_edited_and_moved():
    collection = new_collection()
    media = new_media()
    client().delete(f"/api/media/{media}/")
    statuses = race(
        lambda: client().post(f"/api/media/{media}/restore/"),
        *[
            (
                lambda: client().post(
                    f"/api/media/{media}/add-to-collection/",
                    {"collection_id": collection},
                    format="json",
                )
            )
            for _ in range(3)
        ],
        *[(lambda: client().post(f"/api/media/{media}/remove-from-collection/")) for _ in range(3)],
    )

    assert statuses[0] == 200
    assert set(statuses[1:]) <= {200, 404}, Counter(statuses)


def test_the_same_file_uploaded_several_times_at_once_is_stored_once(settings):
    def upload():
        form = {"name": "photo", "type": "image", "file": SimpleUploadedFile("p.png", png_bytes())}
        return client().post("/api/media/", form, format="multipart")

    statuses = race(*[upload for _ in range(RACERS)])

    assert statuses == [201] * RACERS
    rows = Media.objects.all()
    assert rows.count() == RACERS
    assert rows.values("storage_path").distinct().count() == 1
    assert len(stored_files(settings.MEDIA_ROOT)) == 1
