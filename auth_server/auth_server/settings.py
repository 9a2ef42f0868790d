"""Auth service settings. Everything comes from the environment or the repo-root `.env`
(see `.env.example`); with neither, development defaults apply (SQLite, generated secrets)."""

from pathlib import Path

from common import settings as shared

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BASE_DIR.parent
env = shared.read_env(REPO_ROOT)

SERVICE_NAME = "auth"
SECRET_KEY = shared.secret(env, REPO_ROOT, "AUTH_SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "accounts.apps.AdminConfig",  # django.contrib.admin with a throttled login
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "accounts",
]

MIDDLEWARE = [
    "common.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "auth_server.urls"
WSGI_APPLICATION = "auth_server.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": shared.database_config(env, prefix="AUTH", sqlite_path=BASE_DIR / "db.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = shared.cache_config(
    env,
    key_prefix="auth",
    directory=Path(env.str("CACHE_DIR", default=str(REPO_ROOT / "var" / "cache"))) / "auth",
)

AUTH_USER_MODEL = "accounts.User"
# Username or email address, case-insensitively: for the API's login and the admin's.
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailOrUsernameBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/api/auth/static/"
STATIC_ROOT = REPO_ROOT / "var" / "static" / "auth"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.AccessTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "common.exception_handler.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    "UNAUTHENTICATED_USER": None,
    # Per client address: generous (carrier NAT puts crowds behind one address). Per account:
    # strict (failed logins; registration attempts per email address).
    "DEFAULT_THROTTLE_RATES": {
        "login_address": env.str("LOGIN_IP_THROTTLE_RATE", default="60/min"),
        "register_address": env.str("REGISTER_IP_THROTTLE_RATE", default="60/min"),
        "login_account": env.str("LOGIN_ACCOUNT_THROTTLE_RATE", default="5/min"),
        "register_account": env.str("REGISTER_ACCOUNT_THROTTLE_RATE", default="10/min"),
    },
}
SIMPLE_JWT = shared.simple_jwt(env, REPO_ROOT)
# Asymmetric signing only: the `kid` of the current key (default: its RFC 7638 thumbprint),
# and the public keys of earlier signing keys, still published and accepted until the tokens
# they signed have expired (PEM inline or as paths, comma-separated).
JWT_KEY_ID = env.str("JWT_KEY_ID", default="")
JWT_PREVIOUS_PUBLIC_KEYS = [
    shared.read_key(key) for key in env.list("JWT_PREVIOUS_PUBLIC_KEYS", default=[])
]
SPECTACULAR_SETTINGS = {
    "TITLE": "Media Handler: auth service",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and its docs are public; a stale Bearer header must not make them 401.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
}

# Configured origins; every origin while none is configured (development).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_ALL_ORIGINS = env.bool("CORS_ALLOW_ALL_ORIGINS", default=not CORS_ALLOWED_ORIGINS)
CORS_EXPOSE_HEADERS = shared.CORS_EXPOSE_HEADERS
LOGGING = shared.logging_config(env)
