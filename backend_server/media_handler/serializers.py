import re

from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from media_handler.files.signing import signed_file_url
from media_handler.models import Collection, Media, MediaType, Processing

# The mobile app's upload form sends every optional field, unset ones as "" or "null".
FORM_NONE_VALUES = ("", "null")
# The largest value the `size` column (a signed 64-bit integer) can hold.
MAX_SIZE = 2**63 - 1
# A few pages of text: a list page of 100 items must stay a reasonable answer.
DESCRIPTION_MAX_LENGTH = 10_000


def description_field(**kwargs) -> serializers.CharField:
    """Optional free text; JSON null means none (stored as "")."""
    return serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=DESCRIPTION_MAX_LENGTH,
        **kwargs,
    )


class MediaSerializer(serializers.ModelSerializer):
    """A media as clients read it; on PUT/PATCH only name, type and description change."""

    file = serializers.SerializerMethodField(
        help_text="A signed, expiring URL of the bytes that needs no Authorization header; "
        "null for a record without a file."
    )
    thumbnail = serializers.SerializerMethodField(
        help_text="A signed URL of a WebP at most 320 px on its longest side, signed like "
        "`file`; null while `processing` is pending, or when there is nothing to show."
    )
    preview = serializers.SerializerMethodField(
        help_text="A signed URL of a JPEG or WebP at most 1440 px on its longest side, signed "
        "like `file`; null while `processing` is pending, or when there is nothing to show."
    )
    placeholder = serializers.SerializerMethodField(
        help_text="A ThumbHash (base64 of its bytes) to paint before the thumbnail loads; null "
        "when there is none."
    )
    processing = serializers.ChoiceField(
        choices=Processing.choices,
        read_only=True,
        help_text="The derivatives: `pending` until the worker has made them, `ready`, or "
        "`failed` (the file cannot give any). `ready` for a record without a file.",
    )
    collection = serializers.UUIDField(source="collection_id", read_only=True, allow_null=True)
    description = description_field(default="")

    class Meta:
        model = Media
        fields = [
            "id",
            "name",
            "type",
            "size",
            "storage_path",
            "description",
            "file",
            "mime_type",
            "checksum_sha256",
            "width",
            "height",
            "duration",
            "codec",
            "thumbnail",
            "preview",
            "placeholder",
            "processing",
            "collection",
            "is_deleted",
            "user",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            field for field in fields if field not in ("name", "type", "description")
        ]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_file(self, media: Media) -> str | None:
        return signed_file_url(self.context["request"], media)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail(self, media: Media) -> str | None:
        return signed_file_url(self.context["request"], media, kind="thumbnail")

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_preview(self, media: Media) -> str | None:
        return signed_file_url(self.context["request"], media, kind="preview")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_placeholder(self, media: Media) -> str | None:
        return media.placeholder or None

    def to_representation(self, media: Media) -> dict:
        # The fields above describe the representation (schema, writes); reading builds it
        # directly, because DRF's walk over the field objects of every item was the costliest
        # part of a list page (docs/performance.md).
        # test_fast_representation_matches_the_declared_fields keeps the two the same.
        return {
            "id": str(media.id),
            "name": media.name,
            "type": media.type,
            "size": media.size,
            "storage_path": media.storage_path,
            "description": media.description,
            "file": self.get_file(media),
            "mime_type": media.mime_type,
            "checksum_sha256": media.checksum_sha256,
            "width": media.width,
            "height": media.height,
            "duration": media.duration,
            "codec": media.codec,
            "thumbnail": self.get_thumbnail(media),
            "preview": self.get_preview(media),
            "placeholder": self.get_placeholder(media),
            "processing": media.processing,
            "collection": str(media.collection_id) if media.collection_id else None,
            "is_deleted": media.is_deleted,
            "user": media.user,
            "created_at": iso_datetime(media.created_at),
            "updated_at": iso_datetime(media.updated_at),
        }


def iso_datetime(value) -> str | None:
    """What DRF's DateTimeField writes: ISO 8601 in the current time zone, UTC as "Z"."""
    if value is None:
        return None
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class MediaCreateSerializer(serializers.Serializer):
    """A new media: a record without a file (JSON, as in the seed example) or a multipart
    upload with `file`. Any other field (`user`, `id`, file facts) is ignored."""

    name = serializers.CharField(max_length=255)
    type = serializers.ChoiceField(choices=MediaType.choices)
    description = description_field()
    collection = serializers.UUIDField(required=False, allow_null=True)
    size = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_SIZE,
        help_text="Only for a record without a file; an upload's size comes from its bytes.",
    )
    storage_path = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=1024,
        help_text="Only for a record without a file; an upload's path is chosen by the server.",
    )
    file = serializers.FileField(required=False, allow_null=True)

    def to_internal_value(self, data):
        if isinstance(data, QueryDict):
            data = {
                key: None if value in FORM_NONE_VALUES else value
                for key, value in data.items()
                if key not in ("name", "type") or value not in FORM_NONE_VALUES
            }
        return super().to_internal_value(data)


class CollectionSerializer(serializers.ModelSerializer):
    media_count = serializers.IntegerField(read_only=True, default=0)
    description = description_field(default="")

    class Meta:
        model = Collection
        fields = ["id", "user", "name", "description", "media_count", "created_at", "updated_at"]
        read_only_fields = ["id", "user", "media_count", "created_at", "updated_at"]


class CollectionDetailSerializer(CollectionSerializer):
    media = MediaSerializer(source="live_media", many=True, read_only=True)

    class Meta(CollectionSerializer.Meta):
        fields = [*CollectionSerializer.Meta.fields, "media"]


class AddToCollectionSerializer(serializers.Serializer):
    collection_id = serializers.UUIDField()


# The most checksums one bulk-check asks about (SPEC.md).
BULK_CHECK_MAX_CHECKSUMS = 1000


class ChecksumListField(serializers.ListField):
    """SHA-256 checksums in hex, lower-cased. Checked with one regular expression per item
    instead of a child field each: a thousand child fields cost more than the query they feed
    (docs/performance.md)."""

    pattern = re.compile(r"[0-9a-fA-F]{64}")
    default_error_messages = {
        "invalid_checksum": "Each checksum is a SHA-256 in hex (64 characters).",
    }

    def to_internal_value(self, data):
        checksums = super().to_internal_value(data)
        bad = [
            index
            for index, checksum in enumerate(checksums)
            if not (isinstance(checksum, str) and self.pattern.fullmatch(checksum))
        ]
        if bad:
            # One message for the list (the error shape every field has), naming a few items.
            shown = ", ".join(str(index) for index in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            raise serializers.ValidationError(
                f"{self.error_messages['invalid_checksum']} Not: item {shown}{more}.",
                code="invalid_checksum",
            )
        return [checksum.lower() for checksum in checksums]

    def run_child_validation(self, data):
        return list(data)


class BulkCheckSerializer(serializers.Serializer):
    """SHA-256 checksums (hex) of files a client is about to upload."""

    checksums = ChecksumListField(
        child=serializers.CharField(), allow_empty=True, max_length=BULK_CHECK_MAX_CHECKSUMS
    )


class BulkCheckResultSerializer(serializers.Serializer):
    existing = serializers.DictField(
        child=serializers.UUIDField(),
        help_text="The checksums the caller already has (live media), each with a media id.",
    )


class ChangesQuerySerializer(serializers.Serializer):
    since = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=512,
        help_text="The `cursor` of the previous page; none for the current state.",
    )
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=500)


class ChangeSerializer(serializers.Serializer):
    """One entry of the change feed (schema only; the view builds it)."""

    kind = serializers.ChoiceField(choices=["media", "collection"])
    id = serializers.UUIDField()
    op = serializers.ChoiceField(choices=["upsert", "delete"])
    object = serializers.JSONField(
        allow_null=True, help_text="As retrieve shows it now; null for `delete`."
    )
    at = serializers.DateTimeField()


class ChangesPageSerializer(serializers.Serializer):
    changes = ChangeSerializer(many=True)
    cursor = serializers.CharField(help_text="Opaque: the `since` of the next call.")
    has_more = serializers.BooleanField()
