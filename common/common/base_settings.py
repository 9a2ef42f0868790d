"""The settings both services start from (cookiecutter-django's `base.py`): each service's
settings.py star-imports this module, then adds its own (its name, secret key, apps, database,
cache, URLs).

Everything comes from the environment or the repo-root `.env` (`.env.example` documents every
variable); with neither, development defaults apply (SQLite, generated secrets, every host and
origin allowed), and the start-up check in `common.checks` refuses them in production.
"""

from pathlib import Path

from common import settings as shared

# common/ is installed in editable mode from the checkout (requirements.txt): its root is here.
REPO_ROOT = Path(__file__).resolve().parents[2]
env = shared.read_env(REPO_ROOT)

# `production` unless declared otherwise: the run scripts and docker-compose declare
# `development`, the test settings `test` (see common.checks).
MEDIA_HANDLER_ENV = env.str("MEDIA_HANDLER_ENV", default="production")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Where the secrets missing from the environment are generated (development only).
DEV_SECRETS_FILE = shared.dev_secrets_path(REPO_ROOT)

# Each service adds its own apps to these.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "common.apps.CommonConfig",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TIME_ZONE = "UTC"
USE_TZ = True
# The throttle and count cache every worker shares when REDIS_URL is unset (one folder per service).
CACHE_DIR = Path(env.str("CACHE_DIR", default=str(REPO_ROOT / "var" / "cache")))

# The job queue (Celery, read with the CELERY_ prefix): the media service's worker consumes it,
# both services publish to it (common.messages). Redis, or files under JOB_QUEUE_DIR.
JOB_QUEUE_DIR = Path(env.str("JOB_QUEUE_DIR", default=str(REPO_ROOT / "var" / "jobs")))
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = shared.job_queue_broker(
    env, directory=JOB_QUEUE_DIR
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "media"
# An account's deletion does not wait behind every derivative queued before it (SPEC: its
# media gone within a minute): it has a queue of its own, which the worker reads with the
# other in turn (kombu takes from each queue in turn), so it runs when one of the jobs in
# progress ends, not after the whole backlog.
CELERY_ACCOUNTS_QUEUE = "media.accounts"
CELERY_TASK_ROUTES = {"media.purge_user": {"queue": CELERY_ACCOUNTS_QUEUE}}
# A job is acknowledged once it has run, so one whose worker died runs again (every task is
# idempotent); a worker takes one job at a time, leaving the rest to the other workers.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Jobs report by writing to the database: no result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "common.exception_handler.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    "UNAUTHENTICATED_USER": None,
}
SIMPLE_JWT = shared.simple_jwt(env, REPO_ROOT)
# Revocation marks (common.revocation): how a sign-out reaches the media service's token check
# within seconds. Redis when REDIS_URL is set; otherwise a SQLite file in the cache folder, which
# both services on one machine share. Deployments sharing one Redis give each a namespace; the
# default is derived from the shared HS256 key, so two stacks with their own keys never mix.
REVOCATION_STORE = env.str("REVOCATION_STORE", default="") or (
    env.str("REDIS_URL", default="") or f"file://{CACHE_DIR / 'revocations.sqlite3'}"
)
REVOCATION_NAMESPACE = env.str("REVOCATION_NAMESPACE", default="") or shared.revocation_namespace(
    SIMPLE_JWT
)
# drf-spectacular's own enum naming, then the field errors of the 400 body and the 429 every
# operation may get (common.schema).
SPECTACULAR_POSTPROCESSING_HOOKS = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "common.schema.describe_field_errors",
    "common.schema.document_throttling",
]
SPECTACULAR_SETTINGS = {
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and its Swagger UI are public: a stale Bearer header must not make them 401,
    # and every operation in them says what it needs.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Paths relative to the service's prefix, which `servers` names (each service sets both).
    "SCHEMA_PATH_PREFIX_TRIM": True,
    "POSTPROCESSING_HOOKS": SPECTACULAR_POSTPROCESSING_HOOKS,
    # Swagger UI from drf-spectacular-sidecar's static files: no CDN, works offline. (No ReDoc
    # page: its bundle always loads the Redocly logo from a CDN.)
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Static files (the admin's, the docs'): `collectstatic` (run by run_with_gateway.sh and
# run_local.sh) writes them with hashed names under STATIC_DIR/<service>; each service serves
# its own with WhiteNoise, through the gateway or not, hashed names cached for a year. Before
# any collectstatic (tests, a bare `runserver`) the apps' own files are served, as named.
STATIC_DIR = Path(env.str("STATIC_DIR", default=str(REPO_ROOT / "var" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "common.staticfiles.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Configured origins; every origin while none is configured (development).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_ALL_ORIGINS = env.bool("CORS_ALLOW_ALL_ORIGINS", default=not CORS_ALLOWED_ORIGINS)
# Headers a browser client may read from our answers.
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID", "Content-Range", "Content-Disposition"]

# Plain lines on stderr, each carrying the request id the gateway (or we) assigned.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "common.request_id.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stderr"], "level": env.str("LOG_LEVEL", default="INFO")},
}
