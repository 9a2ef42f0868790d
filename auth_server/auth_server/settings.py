"""Auth service settings: the shared base (common.base_settings), plus this service's own."""

from pathlib import Path

from common import settings as shared
from common.base_settings import *  # noqa: F403 -- the shared base, extended below
from common.base_settings import (
    CACHE_DIR,
    INSTALLED_APPS,
    REPO_ROOT,
    REST_FRAMEWORK,
    SPECTACULAR_SETTINGS,
    STATIC_DIR,
    env,
)

BASE_DIR = Path(__file__).resolve().parent.parent

SERVICE_NAME = "auth"
SECRET_KEY = shared.secret(env, REPO_ROOT, "AUTH_SECRET_KEY")

INSTALLED_APPS = [
    "accounts.apps.AdminConfig",  # django.contrib.admin with a throttled login
    *INSTALLED_APPS,
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "accounts",
]

MIDDLEWARE = [
    "common.request_id.RequestIdMiddleware",
    "common.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
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
CACHES = shared.cache_config(env, key_prefix="auth", directory=CACHE_DIR / "auth")

AUTH_USER_MODEL = "accounts.User"
# Username or email address, case-insensitively: for the API's login and the admin's.
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailOrUsernameBackend"]
# Argon2id first: new passwords, and older hashes at their next sign-in (Django rehashes a
# password whose hasher or parameters are not the first's). PBKDF2 verifies the hashes made
# before Argon2id; it is never chosen for a new one.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
# OWASP's Password Storage Cheat Sheet: Argon2id with at least 19 MiB of memory, 2 iterations and
# 1 degree of parallelism. Memory in KiB. The README's "Passwords" says why, and the figures.
ARGON2 = {
    "memory_cost": env.int("ARGON2_MEMORY_KIB", default=19456),
    "time_cost": env.int("ARGON2_TIME_COST", default=2),
    "parallelism": env.int("ARGON2_PARALLELISM", default=1),
}
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    # Django's list of commonly leaked passwords; the seed's `strongpassword` is not on it.
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Email (password reset): Django's console backend by default; SMTP and others from EMAIL_URL
# (django-environ: smtp://user:password@host:587, smtp+tls://..., smtp+ssl://..., consolemail://).
vars().update(env.email_url_config(env.str("EMAIL_URL", default="") or "consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Media Handler <no-reply@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=10)
# Sent in the background: the answer to a reset request takes as long whether or not it mails.
EMAIL_IN_BACKGROUND = True
# How long a password reset code works, and a link to put in the email (a web page of yours
# that reads `uid` and `token`), e.g. https://app.example.com/reset?uid={uid}&token={token}.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3600)
PASSWORD_RESET_URL = env.str("PASSWORD_RESET_URL", default="")

STATIC_URL = "/api/auth/static/"
STATIC_ROOT = STATIC_DIR / "auth"

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.AccessTokenAuthentication"],
    # Per client address: generous (carrier NAT puts crowds behind one address). Per account:
    # strict (registration attempts per email address). Failed sign-ins: LOGIN_FAILURE_POLICY.
    "DEFAULT_THROTTLE_RATES": {
        "login_address": env.str("LOGIN_IP_THROTTLE_RATE", default="60/min"),
        "register_address": env.str("REGISTER_IP_THROTTLE_RATE", default="60/min"),
        "register_account": env.str("REGISTER_ACCOUNT_THROTTLE_RATE", default="10/min"),
        # Password reset: requests per client address and per email address, confirmations per
        # address and per account; password checks of a signed-in account (change, deletion).
        "password_reset_address": env.str("PASSWORD_RESET_IP_THROTTLE_RATE", default="30/hour"),
        "password_reset_account": env.str("PASSWORD_RESET_ACCOUNT_THROTTLE_RATE", default="5/hour"),
        "password_check_address": env.str("PASSWORD_CHECK_IP_THROTTLE_RATE", default="60/hour"),
        "password_check_account": env.str(
            "PASSWORD_CHECK_ACCOUNT_THROTTLE_RATE", default="10/hour"
        ),
        # Profile edits per account (each tells whether an email address is taken).
        "profile_write": env.str("PROFILE_WRITE_THROTTLE_RATE", default="30/hour"),
    },
}
# Failed sign-ins (accounts.throttling.LoginFailurePolicy; the README's "Failed sign-ins").
LOGIN_FAILURE_POLICY = {
    "free_failures": env.int("LOGIN_FAILURES_BEFORE_BACKOFF", default=5),
    "backoff_seconds": env.int("LOGIN_BACKOFF_SECONDS", default=60),
    "backoff_max_seconds": env.int("LOGIN_BACKOFF_MAX_SECONDS", default=900),
    "window_seconds": env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=3600),
    "account_ceiling": env.int("LOGIN_ACCOUNT_FAILURE_CEILING", default=100),
}
# With refresh rotation on (JWT_ROTATE_REFRESH_TOKENS): how long a replaced refresh token still
# gets its successor (concurrent refreshes, a retried request) before its use ends the session.
JWT_ROTATION_GRACE_SECONDS = env.int("JWT_ROTATION_GRACE_SECONDS", default=30)
# Asymmetric signing only: the `kid` of the current key (default: its RFC 7638 thumbprint),
# and the public keys of earlier signing keys, still published and accepted until the tokens
# they signed have expired: (key id, PEM) pairs, from PEMs inline or as paths, comma-separated,
# each after `<kid>=` when it signed with a JWT_KEY_ID (common.settings.previous_public_keys).
JWT_KEY_ID = env.str("JWT_KEY_ID", default="")
JWT_PREVIOUS_PUBLIC_KEYS = shared.previous_public_keys(env)
SPECTACULAR_SETTINGS = {
    **SPECTACULAR_SETTINGS,
    "TITLE": "Media Handler: auth service",
    "SCHEMA_PATH_PREFIX": "/api/auth",
    # Relative: the gateway (or this service on its own port) that served the schema.
    "SERVERS": [{"url": "/api/auth", "description": "The gateway's auth service prefix."}],
}
