"""MediaSerializer writes each media by hand for speed; its declared fields stay the truth."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework import serializers

from media_handler.serializers import MediaSerializer

from .factories import CollectionFactory, MediaFactory
from .helpers import ALICE


def both_representations(media) -> tuple[dict, dict]:
    """The hand-written representation, and DRF's walk over the declared fields."""
    serializer = MediaSerializer(context={"request": RequestFactory().get("/")})
    return (
        serializer.to_representation(media),
        serializers.ModelSerializer.to_representation(serializer, media),
    )


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"storage_path": "", "mime_type": "", "checksum_sha256": ""},
        {"mime_type": "image/png", "checksum_sha256": "ab" * 32, "width": 640, "height": 480},
        {"type": "audio", "mime_type": "audio/x-wav", "duration": 1.25, "size": 2**40},
        {"is_deleted": True, "deleted_at": datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)},
        {"description": 'Ünïcode ✓ "quoted"', "name": "名前.jpg", "user": 2**63 - 1},
        {
            "mime_type": "video/mp4",
            "checksum_sha256": "cd" * 32,
            "codec": "h264",
            "thumbnail_path": "uploads/v.mp4.thumbnail-0123456789ab.webp",
            "preview_path": "uploads/v.mp4.preview-0123456789ab.jpg",
            "placeholder": "3vcNrYpwhHx3h3h3d3h3d49393pm",
            "processing": "ready",
        },
        {"mime_type": "image/heic", "checksum_sha256": "ef" * 32, "processing": "failed"},
    ],
)
def test_fast_representation_matches_the_declared_fields(db, fields):
    fields.setdefault("user", ALICE)

    fast, declared = both_representations(MediaFactory(**fields))

    assert fast == declared
    assert list(fast) == list(declared)


def test_fast_representation_matches_for_media_in_a_collection(db):
    media = MediaFactory(user=ALICE, collection=CollectionFactory(user=ALICE))

    fast, declared = both_representations(media)

    assert fast["collection"] == str(media.collection_id)
    assert fast == declared


def test_fast_representation_matches_in_another_time_zone(db):
    media = MediaFactory(user=ALICE)
    media.created_at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC) + timedelta(microseconds=5)

    with timezone.override("Europe/Berlin"):
        fast, declared = both_representations(media)

    assert fast["created_at"].endswith("+02:00") or fast["created_at"].endswith("+01:00")
    assert fast == declared
