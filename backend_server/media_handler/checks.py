"""The start-up check of the file storage settings (the pattern of common.checks): with
MEDIA_STORAGE=s3 the bucket settings must be complete, in every environment, or nothing starts
(Django runs it before `manage.py` commands; `refuse_incomplete_storage_settings()` when a WSGI
server or the job worker loads the application). It only reads settings: a store that is down
at start-up is the health check's business, not a reason to refuse to start."""

import sqlite3
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

STORAGES = ("local", "s3")
# Resumable uploads claim a row with UPDATE … RETURNING (media_handler.uploads.services).
MIN_SQLITE = (3, 35)
ADDRESSING_STYLES = ("path", "virtual", "auto")
# files.s3 computes CRC32 itself (zlib); "" sends no checksum.
CHECKSUM_ALGORITHMS = ("CRC32", "")
# S3's smallest part but the last.
MIN_PART_BYTES = 5 * 1024 * 1024


def storage_settings_check(app_configs: Iterable[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    if settings.MEDIA_STORAGE not in STORAGES:
        return [
            Error(
                f"MEDIA_STORAGE is {settings.MEDIA_STORAGE!r}.",
                hint=f"Set MEDIA_STORAGE to one of: {', '.join(STORAGES)}.",
                id="media_handler.E001",
            )
        ]
    if settings.MEDIA_STORAGE != "s3":
        return []
    errors: list[CheckMessage] = []
    if not settings.S3_BUCKET:
        errors.append(
            Error(
                "MEDIA_STORAGE is s3 but no bucket is named.",
                hint="Set S3_BUCKET (or AWS_STORAGE_BUCKET_NAME) to the bucket's name.",
                id="media_handler.E002",
            )
        )
    if not settings.S3_ENDPOINT_URL and not settings.S3_REGION:
        errors.append(
            Error(
                "MEDIA_STORAGE is s3 with neither an endpoint nor a region.",
                hint="Set S3_ENDPOINT_URL to the store's URL (MinIO, Ceph, R2...), or S3_REGION "
                "(or AWS_REGION) for AWS S3.",
                id="media_handler.E003",
            )
        )
    if bool(settings.S3_ACCESS_KEY_ID) != bool(settings.S3_SECRET_ACCESS_KEY):
        errors.append(
            Error(
                "Only one of S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY is set.",
                hint="Set both (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or neither to "
                "use boto3's own credentials (an instance role, ~/.aws).",
                id="media_handler.E004",
            )
        )
    if settings.S3_ENDPOINT_URL and not settings.S3_ENDPOINT_URL.startswith(
        ("http://", "https://")
    ):
        errors.append(
            Error(
                f"S3_ENDPOINT_URL is {settings.S3_ENDPOINT_URL!r}.",
                hint="Set S3_ENDPOINT_URL to an http:// or https:// URL, or leave it empty for "
                "AWS.",
                id="media_handler.E005",
            )
        )
    if settings.S3_ADDRESSING_STYLE not in ADDRESSING_STYLES:
        errors.append(
            Error(
                f"S3_ADDRESSING_STYLE is {settings.S3_ADDRESSING_STYLE!r}.",
                hint=f"Set S3_ADDRESSING_STYLE to one of: {', '.join(ADDRESSING_STYLES)}.",
                id="media_handler.E006",
            )
        )
    if settings.S3_UPLOAD_PART_BYTES < MIN_PART_BYTES:
        errors.append(
            Error(
                f"S3_UPLOAD_PART_BYTES is {settings.S3_UPLOAD_PART_BYTES}.",
                hint=f"Set S3_UPLOAD_PART_BYTES to at least {MIN_PART_BYTES} (5 MiB, S3's "
                "smallest part).",
                id="media_handler.E007",
            )
        )
    if settings.S3_UPLOAD_PARTS_IN_FLIGHT < 1:
        errors.append(
            Error(
                f"S3_UPLOAD_PARTS_IN_FLIGHT is {settings.S3_UPLOAD_PARTS_IN_FLIGHT}.",
                hint="Set S3_UPLOAD_PARTS_IN_FLIGHT to 1 or more.",
                id="media_handler.E008",
            )
        )
    if settings.S3_CHECKSUM_ALGORITHM not in CHECKSUM_ALGORITHMS:
        errors.append(
            Error(
                f"S3_CHECKSUM_ALGORITHM is {settings.S3_CHECKSUM_ALGORITHM!r}.",
                hint="Set S3_CHECKSUM_ALGORITHM to CRC32, or leave it empty to send no checksum.",
                id="media_handler.E010",
            )
        )
    return errors


def refuse_incomplete_storage_settings() -> None:
    """Raises ImproperlyConfigured with the check's errors, if any (WSGI and worker start-up)."""
    errors = storage_settings_check(None)
    if errors:
        raise ImproperlyConfigured(
            "Refusing to start with incomplete storage settings:\n"
            + "\n".join(f"  {error.msg} {error.hint}" for error in errors)
        )


def sqlite_version_check(app_configs: Iterable[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    if connection.vendor != "sqlite" or sqlite3.sqlite_version_info >= MIN_SQLITE:
        return []
    return [
        Error(
            f"SQLite {sqlite3.sqlite_version} is too old: resumable uploads need "
            f"{'.'.join(map(str, MIN_SQLITE))} or newer (UPDATE … RETURNING).",
            hint="Use a newer Python build or PostgreSQL (BACKEND_DATABASE_URL).",
            id="media_handler.E009",
        )
    ]
