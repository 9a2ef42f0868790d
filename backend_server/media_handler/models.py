import uuid

from django.db import models


class MediaType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    AUDIO = "audio", "Audio"


class Processing(models.TextChoices):
    """Where a media's derivatives (thumbnail, preview, placeholder) stand."""

    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Collection(models.Model):
    """A user's named group of media. `user` is the access token's `user_id`: this service
    has no user table, so ownership is a plain integer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.PositiveBigIntegerField()
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="collection_owner_list_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Media(models.Model):
    """One media record of a user, with or without a stored file.

    A record has a stored file exactly when the upload service hashed its bytes
    (`checksum_sha256` is set); `storage_path` is then relative to MEDIA_ROOT and was chosen by
    the server. Without a file, `storage_path` and `size` are free values given by the client
    and are never used to reach the disk.

    The derivatives of a stored file (media_handler.files.derivatives) are made by the job
    worker after the upload has been answered: `processing` is `pending` until then, `ready`
    once they are stored (or when there is nothing to make: a record without a file), `failed`
    when the file cannot be read (the reason, for operators only, in `processing_error`).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.PositiveBigIntegerField()
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=5, choices=MediaType.choices)
    size = models.PositiveBigIntegerField(default=0)
    storage_path = models.CharField(max_length=1024, blank=True, default="")
    description = models.TextField(blank=True, default="")
    mime_type = models.CharField(max_length=127, blank=True, default="")
    checksum_sha256 = models.CharField(max_length=64, blank=True, default="")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)
    codec = models.CharField(max_length=64, blank=True, default="")
    processing = models.CharField(
        max_length=7, choices=Processing.choices, default=Processing.READY
    )
    # Never shown to the owner: the worker's log has it too.
    processing_error = models.CharField(max_length=500, blank=True, default="")
    # Runs started and not finished: a file that kills its worker is given up after a few.
    processing_attempts = models.PositiveSmallIntegerField(default=0)
    # Storage names of the derivatives, next to the original; "" when there is none.
    thumbnail_path = models.CharField(max_length=1024, blank=True, default="")
    preview_path = models.CharField(max_length=1024, blank=True, default="")
    placeholder = models.CharField(max_length=64, blank=True, default="")
    collection = models.ForeignKey(
        Collection, on_delete=models.SET_NULL, null=True, blank=True, related_name="media"
    )
    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "media"
        indexes = [
            # The owner's list (and trash), newest first, id as the tie-breaker of a stable page.
            models.Index(
                fields=["user", "is_deleted", "-created_at", "-id"], name="media_owner_list_idx"
            ),
            # The same list narrowed by type (the mobile app's `?type=image`).
            models.Index(
                fields=["user", "type", "is_deleted", "-created_at", "-id"],
                name="media_owner_type_idx",
            ),
            # sweep_orphan_files asks which stored paths still have a row.
            models.Index(
                fields=["storage_path"],
                name="media_stored_path_idx",
                condition=~models.Q(checksum_sha256=""),
            ),
            # The owner's stored copy of some bytes: duplicate uploads and bulk-check.
            models.Index(
                fields=["user", "checksum_sha256"],
                name="media_owner_checksum_idx",
                condition=~models.Q(checksum_sha256=""),
            ),
            # purge_deleted_media's scan of the trash.
            models.Index(
                fields=["deleted_at"],
                name="media_deleted_at_idx",
                condition=models.Q(is_deleted=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_file(self) -> bool:
        return bool(self.checksum_sha256)


class IdempotencyKey(models.Model):
    """A client's `Idempotency-Key` on a create (media_handler.idempotency): claimed by the
    first request that brings it, then holding that request's answer, replayed to any repeat
    of the same request by the same user for IDEMPOTENCY_KEY_SECONDS. In the database, so
    every node behind the gateway honours it."""

    user = models.PositiveBigIntegerField()
    key = models.CharField(max_length=255)
    # What the request was (endpoint and body): a repeat with another body is refused.
    fingerprint = models.CharField(max_length=64)
    # The SHA-256 of a body read only after the claim (a tus creation's first chunk, streamed
    # into the upload): a repeat's body is read and compared before its answer is replayed.
    body_sha256 = models.CharField(max_length=64, blank=True, default="")
    # Null while the first request is being handled.
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key


class ChangeKind(models.TextChoices):
    MEDIA = "media", "Media"
    COLLECTION = "collection", "Collection"


class ChangeOp(models.TextChoices):
    UPSERT = "upsert", "Upsert"
    DELETE = "delete", "Delete"


class DeletedAccount(models.Model):
    """An account the auth service deleted, whose media this service purged (`user_purge`):
    nothing more is created for it. A request that began before the account was gone (an
    upload still arriving, its token checked at its start) would otherwise store a media
    after the purge, kept for ever. User ids are never given out again."""

    user = models.PositiveBigIntegerField(primary_key=True)
    deleted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.user)


class FeedPosition(models.Model):
    """A user's place in their change feed: the `seq` of their latest Change. Every write that
    records a change locks this row until it commits, so a user's changes commit in `seq`
    order and a reader that has seen `seq` n has seen every change before it."""

    user = models.PositiveBigIntegerField(primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user}@{self.seq}"


class Change(models.Model):
    """One write of a user's media or collection, in the order of their change feed
    (media_handler.changes). Kept for CHANGE_FEED_RETENTION_SECONDS."""

    user = models.PositiveBigIntegerField()
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=10, choices=ChangeKind.choices)
    object_id = models.UUIDField()
    op = models.CharField(max_length=6, choices=ChangeOp.choices)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "seq"], name="change_feed_order"),
        ]
        indexes = [models.Index(fields=["at"], name="change_at_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} {self.op}"


class Upload(models.Model):
    """A resumable upload (tus 1.0.0, media_handler.uploads) of `length` bytes, of which the
    first `offset` have arrived, kept in a file of their own (uploads.services.part_path) or in
    the bucket (`chunks`, uploads.bucket) until the last byte arrives and the upload becomes a
    media (`media_id`) through the same service as a multipart upload. Incomplete past
    `expires_at`, it is gone (sweep_expired)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.PositiveBigIntegerField()
    length = models.PositiveBigIntegerField()
    offset = models.PositiveBigIntegerField(default=0)
    # The media fields from Upload-Metadata, validated at creation.
    metadata = models.JSONField(default=dict)
    # The header as the client sent it, echoed by HEAD.
    raw_metadata = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    # The SHA-256 of the first `offset` bytes, as a resumable hasher's state
    # (uploads.running_sha256): the finished file's checksum without reading it again.
    sha256_state = models.BinaryField(default=b"", editable=False)
    # Set while one PATCH writes (or completes) the upload: a second one meanwhile is a 409.
    writing_since = models.DateTimeField(null=True, blank=True)
    media_id = models.UUIDField(null=True, blank=True)
    # In the bucket (MEDIA_STORAGE=s3 without RESUMABLE_UPLOAD_DIR): the names of the objects
    # holding the first `offset` bytes, in order (uploads.bucket). Null: one file on disk.
    chunks = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            # A user's open uploads (the bound on them), and the sweep of expired ones.
            models.Index(fields=["user", "expires_at"], name="upload_owner_expiry_idx"),
            models.Index(fields=["expires_at"], name="upload_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.offset}/{self.length}"

    @property
    def is_complete(self) -> bool:
        return self.media_id is not None
