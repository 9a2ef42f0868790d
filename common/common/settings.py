"""Settings readers: the pieces of configuration each service reads with its own names (its
database prefix, cache key prefix, secrets). `common.base_settings` holds what both share."""

import hashlib
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ

# Secrets a development checkout generates for itself when the environment has none.
DEV_SECRET_NAMES = (
    "AUTH_SECRET_KEY",
    "BACKEND_SECRET_KEY",
    "JWT_SIGNING_KEY",
    "FILE_URL_SIGNING_KEY",
)


def read_env(repo_root: Path) -> environ.Env:
    """The environment, completed by `<repo>/.env` when there is one (the environment wins)."""
    env_file = env_file_path(repo_root)
    if env_file.is_file():
        environ.Env.read_env(env_file, overwrite=False)
    return environ.Env()


def env_file_path(repo_root: Path) -> Path:
    return Path(os.environ.get("ENV_FILE", repo_root / ".env"))


def dev_secrets_path(repo_root: Path) -> Path:
    return Path(os.environ.get("DEV_SECRETS_FILE", repo_root / ".dev-secrets.json"))


def dev_secret(repo_root: Path, name: str) -> str:
    """A random development secret, generated once into `<repo>/.dev-secrets.json`.

    Both services and every worker read the same file, so a checkout with no `.env` still signs
    tokens with one key that both services share. The file is created atomically (link, not
    write-in-place) because both services may start at the same moment.
    """
    path = dev_secrets_path(repo_root)
    if not path.exists():
        generated = {secret: secrets.token_urlsafe(48) for secret in DEV_SECRET_NAMES}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(generated, indent=2))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # the other service won the race; use its file
        finally:
            tmp.unlink()
    return json.loads(path.read_text())[name]


def secret(env: environ.Env, repo_root: Path, name: str) -> str:
    return env.str(name, default="") or dev_secret(repo_root, name)


def database_config(env: environ.Env, *, prefix: str, sqlite_path: Path) -> dict:
    """`<PREFIX>_DATABASE_URL`, then `DATABASE_URL`, then `<PREFIX>_DB_*`, then SQLite."""
    url = env.str(f"{prefix}_DATABASE_URL", default="") or env.str("DATABASE_URL", default="")
    if url:
        config = env.db_url_config(url)
    elif env.str(f"{prefix}_DB_NAME", default=""):
        config = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env.str(f"{prefix}_DB_NAME"),
            "USER": env.str(f"{prefix}_DB_USER", default="postgres"),
            "PASSWORD": env.str(f"{prefix}_DB_PASSWORD", default=""),
            "HOST": env.str(f"{prefix}_DB_HOST", default="127.0.0.1"),
            "PORT": env.str(f"{prefix}_DB_PORT", default="5432"),
        }
    else:
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(sqlite_path)}
    return _tuned(env, config)


def test_database_config(env: environ.Env, *, name: str, sqlite_path: Path) -> dict:
    """The test suite's database: SQLite, or PostgreSQL when `TEST_DATABASE=postgres`."""
    if env.str("TEST_DATABASE", default="sqlite") == "postgres":
        base = env.str("TEST_POSTGRES_URL", default="postgres://postgres@127.0.0.1:5432")
        # One name per checkout, so two checkouts (worktrees) can test on one server at once.
        checkout = hashlib.sha256(str(sqlite_path.parent.resolve()).encode()).hexdigest()[:6]
        return _tuned(env, env.db_url_config(f"{base.rstrip('/')}/{name}_{checkout}"))
    config = _tuned(env, {"ENGINE": "django.db.backends.sqlite3", "NAME": str(sqlite_path)})
    # A file, configured as the services' (WAL, writers queued by IMMEDIATE transactions): the
    # tests that race real threads need it (SQLite's shared in-memory database locks whole
    # tables instead). Nothing of a test database needs to survive a power cut.
    config["TEST"] = {"NAME": str(sqlite_path)}
    config["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
    return config


def _tuned(env: environ.Env, config: dict) -> dict:
    if config["ENGINE"].endswith("sqlite3"):
        # WAL lets the gunicorn workers read while one of them writes.
        config.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
        config["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        return config
    if config["ENGINE"] == "django.db.backends.postgresql":
        config["ENGINE"] = "common.postgresql"  # a health check without a round trip
    # Reuse connections across requests, and check them before use so a restarted
    # PostgreSQL does not fail the next request, let alone wedge a worker.
    config["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    config.setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", 3))
    return config


def cache_config(
    env: environ.Env, *, key_prefix: str, directory: Path, max_entries: int | None = None
) -> dict:
    """Redis when `REDIS_URL` is set; otherwise files under `directory`.

    Throttles and cached counts must be shared by every gunicorn worker: a per-process cache
    (local memory) would multiply each throttle rate by the number of workers. Files are the
    shared store that needs no server.
    """
    redis_url = env.str("REDIS_URL", default="")
    if redis_url:
        backend = {"BACKEND": "common.cache.RedisCache", "LOCATION": redis_url}
    else:
        backend = {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(directory),
            # Django culls a third of the entries past MAX_ENTRIES (default 300): far too few
            # when one throttle entry exists per client address and per account.
            "OPTIONS": {
                "MAX_ENTRIES": max_entries or env.int("CACHE_MAX_ENTRIES", default=100_000)
            },
        }
    return {"default": {**backend, "KEY_PREFIX": key_prefix}}


def job_queue_broker(env: environ.Env, *, directory: Path) -> tuple[str, dict]:
    """The job queue's broker URL and transport options: `CELERY_BROKER_URL`, else `REDIS_URL`,
    else kombu's filesystem transport in `directory`, durable files that need no server (one
    machine: development)."""
    broker_url = env.str("CELERY_BROKER_URL", default="") or env.str("REDIS_URL", default="")
    if broker_url:
        return broker_url, {}
    queue = str(directory / "queue")
    return "filesystem://", {
        "data_folder_in": queue,
        "data_folder_out": queue,
        "processed_folder": str(directory / "processed"),
        "store_processed": False,
        # Its broadcast messages (worker control), which would land in the working directory.
        "control_folder": str(directory / "control"),
    }


def revocation_namespace(simple_jwt_settings: dict) -> str:
    """The Redis key prefix of the revocation marks: from the shared HS256 key when there is one
    (both services know it, and stacks with different keys never read each other's marks)."""
    if simple_jwt_settings["ALGORITHM"].startswith("HS"):
        key = str(simple_jwt_settings["SIGNING_KEY"]).encode()
        return "media-handler-" + hashlib.sha256(key).hexdigest()[:12]
    return "media-handler"


def read_key(value: str) -> str:
    """A PEM key given inline (newlines may be written `\\n`) or as a path to a PEM file."""
    if not value:
        return ""
    if value.lstrip().startswith("-----BEGIN"):
        return value.replace("\\n", "\n")
    return Path(value).expanduser().read_text()


def previous_public_keys(env: environ.Env) -> list[tuple[str, str]]:
    """`JWT_PREVIOUS_PUBLIC_KEYS`: the public keys of earlier signing keys, comma-separated, as
    (key id, PEM) pairs. Each is a PEM as `read_key` reads it (inline or a path), optionally
    after the key id its tokens carry and `=` (`2026-11=/etc/keys/2026-11.pub`): needed when
    that key was signing with a `JWT_KEY_ID`; without one the key id is "" (its thumbprint)."""
    return [
        _key_with_id(entry.strip())
        for entry in env.list("JWT_PREVIOUS_PUBLIC_KEYS", default=[])
        if entry.strip()
    ]


def _key_with_id(entry: str) -> tuple[str, str]:
    # An inline PEM has `=` padding and a path may hold one: neither is split at it. A key id
    # is the text before the first `=`, when a PEM follows or the whole entry names no file.
    if entry.startswith("-----BEGIN"):
        return "", read_key(entry)
    key_id, separator, key = (part.strip() for part in entry.partition("="))
    if separator and (key.startswith("-----BEGIN") or not Path(entry).expanduser().is_file()):
        return key_id, read_key(key)
    return "", read_key(entry)


def simple_jwt(env: environ.Env, repo_root: Path) -> dict:
    """The token contract both services agree on (djangorestframework-simplejwt settings).

    HS256 with the shared `JWT_SIGNING_KEY` by default. With `JWT_PRIVATE_KEY` (auth) or
    `JWT_PUBLIC_KEY` / `JWT_JWKS_URL` (media) the tokens are asymmetric (RS256 by default)
    and the media service holds no secret.
    """
    private_key = read_key(env.str("JWT_PRIVATE_KEY", default=""))
    public_key = read_key(env.str("JWT_PUBLIC_KEY", default=""))
    jwks_url = env.str("JWT_JWKS_URL", default="")
    asymmetric = bool(private_key or public_key or jwks_url)
    algorithm = env.str("JWT_ALGORITHM", default="RS256" if asymmetric else "HS256")
    rotate = env.bool("JWT_ROTATE_REFRESH_TOKENS", default=False)
    return {
        "ALGORITHM": algorithm,
        "SIGNING_KEY": private_key if asymmetric else secret(env, repo_root, "JWT_SIGNING_KEY"),
        "VERIFYING_KEY": public_key or None,
        "JWK_URL": jwks_url or None,
        "LEEWAY": env.int("JWT_LEEWAY_SECONDS", default=0),
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_TOKEN_MINUTES", default=15)),
        "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_TOKEN_DAYS", default=7)),
        # Off by default: the mobile app keeps its first refresh token for the whole session.
        "ROTATE_REFRESH_TOKENS": rotate,
        "BLACKLIST_AFTER_ROTATION": rotate,
        "UPDATE_LAST_LOGIN": False,
        "AUTH_HEADER_TYPES": ("Bearer",),
        "USER_ID_FIELD": "id",
        "USER_ID_CLAIM": "user_id",
        "TOKEN_TYPE_CLAIM": "token_type",
        "JTI_CLAIM": "jti",
    }
