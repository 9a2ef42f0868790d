"""Media service settings: the shared base (common.base_settings), plus this service's own.

This service has no user table: it trusts the access token alone (media_handler.authentication).
"""

from pathlib import Path

from corsheaders.defaults import default_headers as default_cors_headers

from common import settings as shared
from common.base_settings import *  # noqa: F403 -- the shared base, extended below
from common.base_settings import (
    CACHE_DIR,
    CORS_EXPOSE_HEADERS,
    INSTALLED_APPS,
    REPO_ROOT,
    REST_FRAMEWORK,
    SPECTACULAR_POSTPROCESSING_HOOKS,
    SPECTACULAR_SETTINGS,
    STATIC_DIR,
    env,
)

BASE_DIR = Path(__file__).resolve().parent.parent

SERVICE_NAME = "media"
SECRET_KEY = shared.secret(env, REPO_ROOT, "BACKEND_SECRET_KEY")

# django.contrib.auth (in the base) only because simplejwt imports its models;
# media_handler.db_routers keeps its tables out.
INSTALLED_APPS = [*INSTALLED_APPS, "django_filters", "media_handler"]

MIDDLEWARE = [
    "common.request_id.RequestIdMiddleware",
    "common.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend_server.urls"
WSGI_APPLICATION = "backend_server.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {
    "default": shared.database_config(env, prefix="BACKEND", sqlite_path=BASE_DIR / "db.sqlite3")
}
DATABASE_ROUTERS = ["media_handler.db_routers.NoUserTablesRouter"]
CACHES = {
    **shared.cache_config(env, key_prefix="media", directory=CACHE_DIR / "media"),
    # The list page cache's own store (media_handler.page_cache), so pages never push out the
    # throttles' and counts' entries; with files, at most LIST_PAGE_CACHE_MAX_ENTRIES pages of at
    # most LIST_PAGE_CACHE_MAX_PAGE_BYTES each.
    "pages": shared.cache_config(
        env,
        key_prefix="media-pages",
        directory=CACHE_DIR / "media-pages",
        max_entries=env.int("LIST_PAGE_CACHE_MAX_ENTRIES", default=1_000),
    )["default"],
}

STATIC_URL = "/api/media/static/"
STATIC_ROOT = STATIC_DIR / "media"

# Files. Uploads stream to a temporary file on disk (never whole in memory) and are moved
# under MEDIA_ROOT/uploads/YYYY/MM/DD/ once they are checked.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(REPO_ROOT / "media")))
# Where the files live (media_handler.files.storage): `local` (under MEDIA_ROOT) or `s3` (a
# bucket of any S3-compatible store, private: every byte still goes out through a signed URL).
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="local").strip().lower()


def _s3_env(name: str, *aliases: str, default: str = "") -> str:
    """S3_<name>, else the first of the standard AWS_* names that is set."""
    for variable in (f"S3_{name}", *aliases):
        value = env.str(variable, default="").strip()
        if value:
            return value
    return default


S3_BUCKET = _s3_env("BUCKET", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_BUCKET")
S3_ENDPOINT_URL = _s3_env(
    "ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_S3_ENDPOINT_URL"
)
S3_REGION = _s3_env("REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_S3_REGION_NAME")
S3_ACCESS_KEY_ID = _s3_env("ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID")
S3_SECRET_ACCESS_KEY = _s3_env("SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY")
# Every key under this prefix (several deployments can share a bucket).
S3_PREFIX = env.str("S3_PREFIX", default="").strip("/")
# `path` (bucket in the path: MinIO, moto, most self-hosted stores) or `virtual` (bucket in the
# host name: AWS); by default path style when an endpoint is given, virtual for AWS.
S3_ADDRESSING_STYLE = env.str(
    "S3_ADDRESSING_STYLE", default="path" if S3_ENDPOINT_URL else "virtual"
)
# Uploads are sent to the bucket in parts of this size while the body arrives (S3 needs at least
# 5 MiB for every part but the last).
S3_UPLOAD_PART_BYTES = env.int("S3_UPLOAD_PART_BYTES", default=8 * 1024 * 1024)
# Parts of one upload on their way to the store at once (each read from the request's temporary
# file as it is sent, so in flight they cost no memory of their size).
S3_UPLOAD_PARTS_IN_FLIGHT = env.int("S3_UPLOAD_PARTS_IN_FLIGHT", default=4)
# Every upload to the bucket carries a checksum of this kind (each part's, for a multipart
# upload: computed as the bytes arrive), which the store checks before it keeps the bytes, as
# boto3's own transfers do by default. Empty for a store that refuses AWS's checksum headers.
S3_CHECKSUM_ALGORITHM = env.str("S3_CHECKSUM_ALGORITHM", default="CRC32").upper()
# How long the presigned URLs the gateway (or, with S3_REDIRECT_DOWNLOADS, the client) follows
# stay valid: only long enough to start the transfer.
S3_PRESIGNED_URL_SECONDS = env.int("S3_PRESIGNED_URL_SECONDS", default=300)
# A signed file URL answers 302 to a presigned URL of the store instead of the bytes: the store
# sends them, neither the gateway nor the service (docs/scaling.md says what that changes).
S3_REDIRECT_DOWNLOADS = env.bool("S3_REDIRECT_DOWNLOADS", default=False)
FILE_UPLOAD_HANDLERS = [
    # First in the chain: refuses a body past MAX_UPLOAD_SIZE (413) and removes the partial file.
    "media_handler.files.upload_handlers.MaxSizeUploadHandler",
    "media_handler.files.upload_handlers.HashingTemporaryFileUploadHandler",
]
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=str(MEDIA_ROOT / ".incoming"))
FILE_UPLOAD_PERMISSIONS = 0o640
MAX_UPLOAD_SIZE = env.int("MAX_UPLOAD_SIZE", default=1024**3)
FILE_URL_SIGNING_KEY = shared.secret(env, REPO_ROOT, "FILE_URL_SIGNING_KEY")
FILE_URL_MAX_AGE_SECONDS = env.int("FILE_URL_MAX_AGE_SECONDS", default=3600)
# Behind the gateway Django only checks the signature; nginx sends the bytes.
USE_X_ACCEL_REDIRECT = env.bool("USE_X_ACCEL_REDIRECT", default=False)
X_ACCEL_REDIRECT_PREFIX = env.str("X_ACCEL_REDIRECT_PREFIX", default="/_protected_media/")
# With MEDIA_STORAGE=s3 the gateway fetches the bytes from a presigned URL of the store through
# this internal location (gateway/templates: `<prefix><scheme>/<host>/<key>?<signature>`).
X_ACCEL_S3_PREFIX = env.str("X_ACCEL_S3_PREFIX", default="/_protected_s3/")
ORPHAN_GRACE_SECONDS = env.int("ORPHAN_GRACE_SECONDS", default=3600)
# A multipart upload in the bucket is dated by its start and nothing shows it is still fed: an
# upload from a slow phone can take hours. It counts as abandoned only after this long (and
# never before ORPHAN_GRACE_SECONDS), as AWS's lifecycle rules usually have it.
ABANDONED_UPLOAD_SECONDS = env.int("ABANDONED_UPLOAD_SECONDS", default=24 * 3600)
# Derivatives (thumbnail, preview, placeholder: media_handler.files.derivatives), made by the
# job worker. A picture or video frame of more pixels is never decoded (Pillow's own default).
DERIVATIVES_MAX_PIXELS = env.int("DERIVATIVES_MAX_PIXELS", default=89_478_485)
# One file's job: past this it is stopped and the media marked `failed`.
DERIVATIVES_TIME_LIMIT_SECONDS = env.int("DERIVATIVES_TIME_LIMIT_SECONDS", default=120)
# Each ffprobe/ffmpeg run: wall-clock and CPU seconds, address space.
DERIVATIVES_TOOL_TIMEOUT_SECONDS = env.int("DERIVATIVES_TOOL_TIMEOUT_SECONDS", default=60)
DERIVATIVES_TOOL_MEMORY_MB = env.int("DERIVATIVES_TOOL_MEMORY_MB", default=1024)
# The address space of each job worker process (backend_server.celery): a hostile picture
# makes its job fail with MemoryError instead of taking the machine's memory.
JOB_WORKER_MEMORY_LIMIT_MB = env.int("JOB_WORKER_MEMORY_LIMIT_MB", default=1024)
# A worker process whose resident memory has grown past this (KiB) is replaced after its job.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = 400_000
# Lists count exactly up to this many rows per request; past it, the exact count is cached
# for PAGINATION_COUNT_CACHE_SECONDS (see media_handler.pagination and docs/performance.md).
PAGINATION_EXACT_COUNT_LIMIT = env.int("PAGINATION_EXACT_COUNT_LIMIT", default=1_000)
PAGINATION_COUNT_CACHE_SECONDS = env.int("PAGINATION_COUNT_CACHE_SECONDS", default=60)
# Rendered list pages are served again until their owner writes (media_handler.page_cache).
LIST_PAGE_CACHE = env.bool("LIST_PAGE_CACHE", default=True)
# A larger page (long descriptions, a hundred items) is built afresh every time.
LIST_PAGE_CACHE_MAX_PAGE_BYTES = env.int("LIST_PAGE_CACHE_MAX_PAGE_BYTES", default=256 * 1024)

# Browsers may send the tus and idempotency headers, and read the tus answers' headers.
CORS_ALLOW_HEADERS = [
    *default_cors_headers,
    "idempotency-key",
    "tus-resumable",
    "upload-length",
    "upload-offset",
    "upload-metadata",
    "upload-checksum",
    "x-http-method-override",
]
CORS_EXPOSE_HEADERS = [
    *CORS_EXPOSE_HEADERS,
    "Location",
    "Idempotent-Replayed",
    "Media-Id",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Expires",
    "Upload-Metadata",
]

# Idempotency-Key (media_handler.idempotency): how long a key's first answer is replayed, and
# after how long a claim whose request never finished (its process died) is given up.
IDEMPOTENCY_KEY_SECONDS = env.int("IDEMPOTENCY_KEY_SECONDS", default=24 * 3600)
IDEMPOTENCY_IN_FLIGHT_SECONDS = env.int("IDEMPOTENCY_IN_FLIGHT_SECONDS", default=600)

# With JWT_PUBLIC_KEY (not JWT_JWKS_URL, whose key set has them): the public keys of earlier
# signing keys, whose tokens are still accepted during a key rotation, as the auth service
# reads the same setting (media_handler.tokens).
JWT_PREVIOUS_PUBLIC_KEYS = shared.previous_public_keys(env)

# How long the gateway may remember that this service accepted a token (views.TokenCheckView).
GATEWAY_TOKEN_CHECK_SECONDS = env.int("GATEWAY_TOKEN_CHECK_SECONDS", default=10)

# Resumable uploads (tus, media_handler.uploads): where their bytes wait (every media node must
# see it; by default MEDIA_ROOT/.resumable, beside the media so a finished one is linked into
# place; with MEDIA_STORAGE=s3 and none set, in the bucket), how long an unfinished one lives,
# how many a user may have open, and after how long a PATCH that never finished (its process
# died) no longer holds its upload.
RESUMABLE_UPLOAD_DIR = env.str("RESUMABLE_UPLOAD_DIR", default="")
RESUMABLE_UPLOAD_EXPIRY_SECONDS = env.int("RESUMABLE_UPLOAD_EXPIRY_SECONDS", default=24 * 3600)
RESUMABLE_UPLOAD_MAX_OPEN = env.int("RESUMABLE_UPLOAD_MAX_OPEN", default=20)
RESUMABLE_UPLOAD_WRITE_TIMEOUT_SECONDS = env.int(
    "RESUMABLE_UPLOAD_WRITE_TIMEOUT_SECONDS", default=600
)

# `celery -A backend_server beat` (optional: the sweep_expired command from cron does the same).
CELERY_BEAT_SCHEDULE = {
    "sweep-expired": {"task": "media.sweep_expired", "schedule": 3600.0},
}

# The change feed (media_handler.changes): how long changes are kept, so how old a cursor may be.
CHANGE_FEED_RETENTION_SECONDS = env.int("CHANGE_FEED_RETENTION_SECONDS", default=30 * 24 * 3600)

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": ["media_handler.authentication.StatelessJWTAuthentication"],
    "DEFAULT_PAGINATION_CLASS": "media_handler.pagination.ListPagination",
}
SPECTACULAR_SETTINGS = {
    **SPECTACULAR_SETTINGS,
    "TITLE": "Media Handler: media service",
    "SCHEMA_PATH_PREFIX": "/api/media",
    # Relative: the gateway (or this service on its own port) that served the schema.
    "SERVERS": [{"url": "/api/media", "description": "The gateway's media service prefix."}],
    "PREPROCESSING_HOOKS": ["media_handler.schema.canonical_endpoints"],
    "POSTPROCESSING_HOOKS": [
        *SPECTACULAR_POSTPROCESSING_HOOKS,
        "media_handler.schema.optional_create_body",
    ],
}
