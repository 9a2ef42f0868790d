"""Media service settings. Everything comes from the environment or the repo-root `.env`
(see `.env.example`); with neither, development defaults apply (SQLite, generated secrets).

This service has no user table: it trusts the access token alone (media_handler.authentication).
"""

from pathlib import Path

from common import settings as shared

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BASE_DIR.parent
env = shared.read_env(REPO_ROOT)

SERVICE_NAME = "media"
SECRET_KEY = shared.secret(env, REPO_ROOT, "BACKEND_SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    # Only because simplejwt imports its models; media_handler.db_routers keeps its tables out.
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "media_handler",
]

MIDDLEWARE = [
    "common.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = shared.cache_config(
    env,
    key_prefix="media",
    directory=Path(env.str("CACHE_DIR", default=str(REPO_ROOT / "var" / "cache"))) / "media",
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/api/media/static/"
STATIC_ROOT = REPO_ROOT / "var" / "static" / "media"

# Files. Uploads stream to a temporary file on disk (never whole in memory) and are moved
# under MEDIA_ROOT/uploads/YYYY/MM/DD/ once they are checked.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(REPO_ROOT / "media")))
FILE_UPLOAD_HANDLERS = [
    # First in the chain: refuses a body past MAX_UPLOAD_SIZE (413) and removes the partial file.
    "media_handler.files.MaxSizeUploadHandler",
    "media_handler.files.HashingTemporaryFileUploadHandler",
]
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=str(MEDIA_ROOT / ".incoming"))
FILE_UPLOAD_PERMISSIONS = 0o640
MAX_UPLOAD_SIZE = env.int("MAX_UPLOAD_SIZE", default=1024**3)
FILE_URL_SIGNING_KEY = shared.secret(env, REPO_ROOT, "FILE_URL_SIGNING_KEY")
FILE_URL_MAX_AGE_SECONDS = env.int("FILE_URL_MAX_AGE_SECONDS", default=3600)
# Behind the gateway Django only checks the signature; nginx sends the bytes.
USE_X_ACCEL_REDIRECT = env.bool("USE_X_ACCEL_REDIRECT", default=False)
X_ACCEL_REDIRECT_PREFIX = env.str("X_ACCEL_REDIRECT_PREFIX", default="/_protected_media/")
ORPHAN_GRACE_SECONDS = env.int("ORPHAN_GRACE_SECONDS", default=3600)
# Lists count exactly up to this many rows per request; past it, the exact count is cached
# for PAGINATION_COUNT_CACHE_SECONDS (see media_handler.pagination). Counting 10 000 rows on
# every page cost more than the rest of the page (docs/performance.md).
PAGINATION_EXACT_COUNT_LIMIT = env.int("PAGINATION_EXACT_COUNT_LIMIT", default=1_000)
PAGINATION_COUNT_CACHE_SECONDS = env.int("PAGINATION_COUNT_CACHE_SECONDS", default=60)
# Rendered list pages are served again until their owner writes (media_handler.page_cache).
LIST_PAGE_CACHE = env.bool("LIST_PAGE_CACHE", default=True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["media_handler.authentication.StatelessJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "common.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "media_handler.pagination.PageNumberPagination",
    "EXCEPTION_HANDLER": "common.exception_handler.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    "UNAUTHENTICATED_USER": None,
}
SIMPLE_JWT = shared.simple_jwt(env, REPO_ROOT)
SPECTACULAR_SETTINGS = {
    "TITLE": "Media Handler: media service",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and its Swagger UI are public; every operation in them says what it needs.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "PREPROCESSING_HOOKS": ["media_handler.schema.drop_slashless_alias"],
}

# Configured origins; every origin while none is configured (development).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_ALL_ORIGINS = env.bool("CORS_ALLOW_ALL_ORIGINS", default=not CORS_ALLOWED_ORIGINS)
CORS_EXPOSE_HEADERS = shared.CORS_EXPOSE_HEADERS
LOGGING = shared.logging_config(env)
