"""Idempotency-Key on the create endpoints (SPEC.md, "Idempotency and duplicates")."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from media_handler.models import Collection, IdempotencyKey, Media

from .helpers import ALICE, access_token_for, assert_status, png_bytes, stored_files

pytestmark = pytest.mark.django_db

RECORD = {"name": "photo", "type": "image", "size": 5}


def test_a_repeated_create_replays_the_first_answer_and_creates_nothing(alice, layout):
    first = alice.post(layout["media"], RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = alice.post(layout["media"], RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert_status(first, 201)
    assert_status(again, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Media.objects.count() == 1


def test_both_path_layouts_share_one_key(alice):
    alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    again = alice.post("/api/media/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert_status(again, 201)
    assert Media.objects.count() == 1


def test_the_same_key_with_another_body_is_422(alice):
    alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    other = alice.post(
        "/api/media/", {**RECORD, "name": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert_status(other, 422)
    assert other.json()["code"] == "idempotency_key_reused"
    assert other.json()["message"]
    assert Media.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_422(alice):
    alice.post(
        "/api/media/collections/", {"name": "photo"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    other = alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert_status(other, 422)


def test_a_repeat_while_the_first_is_in_flight_is_409(alice):
    # The first request's claim, still without an answer.
    alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    IdempotencyKey.objects.update(response_status=None, response_body=None)
    again = alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert_status(again, 409)
    assert again.json()["code"] == "idempotency_key_in_flight"


def test_a_claim_whose_request_never_finished_is_given_up(alice, settings):
    alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    IdempotencyKey.objects.update(
        response_status=None,
        created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1),
    )
    again = alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert_status(again, 201)
    assert Media.objects.count() == 2


@pytest.mark.parametrize("first_ends", ["failing", "answering"])
def test_a_request_that_lost_its_claim_to_a_repeat_leaves_the_repeats_claim(settings, first_ends):
    # The first request outlives IDEMPOTENCY_IN_FLIGHT_SECONDS (a long upload); its repeat
    # takes the key over and is still being handled when the first one ends.
    from rest_framework.response import Response

    from media_handler import idempotency

    claims = {"user_id": ALICE, "key": "k", "fingerprint": "the same request"}
    first = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1)
    assert idempotency.idempotency_key_claim(**claims, now=first) is None
    repeat = timezone.now()
    assert idempotency.idempotency_key_claim(**claims, now=repeat) is None

    if first_ends == "failing":
        idempotency.idempotency_key_release(user_id=ALICE, key="k", claimed_at=first)
    else:
        idempotency.idempotency_key_record(
            user_id=ALICE, key="k", claimed_at=first, response=Response({"id": 1}, status=201)
        )

    # The repeat still holds the key, unanswered: a third request would be a 409.
    kept = IdempotencyKey.objects.get(user=ALICE, key="k")
    assert (kept.created_at, kept.response_status) == (repeat, None)


def test_a_key_older_than_a_day_is_free_again(alice):
    alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert_status(again, 201)
    assert "Idempotent-Replayed" not in again
    assert Media.objects.count() == 2


def test_keys_belong_to_their_user(alice, bob):
    alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    bobs = bob.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert_status(bobs, 201)
    assert bobs.json()["user"] != alice.get("/api/media/").json()["results"][0]["user"]
    assert Media.objects.count() == 2


def test_an_error_answer_frees_the_key(alice):
    refused = alice.post("/api/media/", {"name": "photo"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert_status(refused, 400)
    fixed = alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert_status(fixed, 201)


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "a\nb"])
def test_a_malformed_key_is_400(alice, key):
    response = alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert_status(response, 400)
    assert response.json()["code"] == "invalid_idempotency_key"
    assert Media.objects.count() == 0


def test_a_structured_field_string_key_is_the_same_key(alice):
    alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY='"abc"')
    again = alice.post("/api/media/", RECORD, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    assert again["Idempotent-Replayed"] == "true"


def test_a_repeated_upload_stores_one_file(alice, settings):
    def upload():
        return alice.post(
            "/api/media/",
            {"name": "p", "type": "image", "file": SimpleUploadedFile("p.png", png_bytes())},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    first, again = upload(), upload()
    assert_status(again, 201)
    assert again.json()["id"] == first.json()["id"]
    assert Media.objects.count() == 1
    assert len(stored_files(settings.MEDIA_ROOT)) == 1


def test_an_upload_of_other_bytes_under_the_same_key_is_422(alice):
    def upload(width):
        return alice.post(
            "/api/media/",
            {"name": "p", "type": "image", "file": SimpleUploadedFile("p.png", png_bytes(width))},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    assert_status(upload(3), 201)
    assert_status(upload(4), 422)


def test_a_repeated_collection_create_replays(alice, layout):
    first = alice.post(
        layout["collections"], {"name": "Trip"}, format="json", HTTP_IDEMPOTENCY_KEY="c"
    )
    again = alice.post(
        layout["collections"], {"name": "Trip"}, format="json", HTTP_IDEMPOTENCY_KEY="c"
    )
    assert again.json() == first.json()
    assert Collection.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/media/", "/api/media/collections/"])
def test_twenty_identical_requests_at_once_create_exactly_one_record(path):
    racers = 20
    start = threading.Barrier(racers)
    body = RECORD if path == "/api/media/" else {"name": "Trip"}

    def send(_index: int):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(ALICE)}")
        try:
            start.wait()
            response = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="burst")
            return response.status_code, response.json().get("id")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        answers = list(pool.map(send, range(racers)))
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    assert len({record_id for status, record_id in answers if status == 201}) == 1
    model = Media if path == "/api/media/" else Collection
    assert model.objects.count() == 1
