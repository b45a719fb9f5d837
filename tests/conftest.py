"""Fixtures: an app on a clean database per test, a client, a CLI runner, a fake X API, Redis, real tweets.

Databases. The suite runs on SQLite by default and on PostgreSQL when ``TEST_DATABASE_URL`` is set
(``.ci/run`` sets it). Either way the schema is built by the migrations once per session: on SQLite into a
template file that each test gets a copy of, on PostgreSQL in the database under test, whose tables are
emptied after every test. Under pytest-xdist (``-n``, on by default in pyproject.toml) each worker has its
own database: ``<TEST_DATABASE_URL's database>_gw0``, ``_gw1``..., created on demand on the same server.

Redis. Tests that need it use ``TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``) and nothing
else; they skip with the reason where that server does not answer. Before and after each such test the
keys of the app and of its libraries (``hypotweet:*``, ``rq:*``, ``LIMITS:*``) are deleted from that one
database, under a file lock that keeps two test runs on this machine from deleting each other's keys.
Under xdist they all run on one worker, one after another (see tests/xdist_units.py).

Embeddings. Apps built here embed with spaCy as the app does, but each text once per test process (the
vectors are reused); a test marked ``stand_in_vectors`` stores hashed stand-in vectors instead (it stores
thousands of tweets and looks at none).

Data. Real tweets come from ``tests/data`` (see its README); tests of the whole shared files read
``../shared`` and skip with the reason where it is absent.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import zlib
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from twitapp import create_app, runtime
from twitapp.config import TestConfig, database_url
from twitapp.extensions import db
from twitapp.sources import DEMO_HANDLES

from .fake_bluesky import FakeBluesky
from .fake_mastodon import FakeMastodon
from .fake_xapi import FakeXAPI
from .helpers import DEMO_SOURCE, MIGRATIONS, SENATE_SAMPLE, MemoEmbedder, ServerThread, StandInEmbedder, read_senate
from .xdist_units import pytest_collection_modifyitems, pytest_xdist_make_scheduler  # noqa: F401 (its hooks)

TABLES = ("tweets", "accounts", "job_receipts", "x_reads")  # emptied in this order (tweets before accounts)
REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
REDIS_KEY_PATTERNS = ("hypotweet:*", "rq:*", "LIMITS:*")  # the app's, RQ's and the rate limiter's
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1"... under xdist, else ""
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]


def pytest_addoption(parser):
    parser.addoption(
        "--screenshots",
        action="store_true",
        help="test_browser.py: save the README's pictures to docs/ (without it, nothing is written there)",
    )


def pytest_report_header(config):
    database = os.environ.get("TEST_DATABASE_URL") or "SQLite (set TEST_DATABASE_URL for PostgreSQL)"
    return [f"database: {database}", f"redis: {REDIS_URL} (TEST_REDIS_URL)"]


def pytest_configure(config):
    reuse_url_builders()


def reuse_url_builders() -> None:
    """Compile each URL rule's builder once per test process, not once per app: the suite builds a thousand
    apps, and werkzeug's code generation for their 20 routes was 80% of ``create_app``. A builder is a pure
    function of the rule, its parsed parts and its defaults (it reads the rule's converters when called), so
    every app gets the code it would have compiled itself."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders: dict[tuple, object] = {}

    def compiled_once(self, append_unknown: bool = True):
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    Rule._compile_builder = compiled_once


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test (``item.rep_call``): the browser tests save a screenshot when
    the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --- databases -----------------------------------------------------------------------------------


def upgrade_schema(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(MIGRATIONS))


def worker_database(url: str) -> str:
    """The database this process tests on: ``url`` itself, or under xdist ``url``'s database with the
    worker's suffix, created if missing."""
    if not WORKER:
        return url
    base = make_url(database_url(url, ""))
    mine = base.set(database=f"{base.database}_{WORKER}")
    engine = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": mine.database})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{mine.database}"'))
    finally:
        engine.dispose()
    return mine.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url():
    """The PostgreSQL URL under test, its schema rebuilt by the migrations once per session, or None."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    url = worker_database(url)  # fails, not skips, when the database is set but unreachable
    engine = create_engine(database_url(url, ""))
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    finally:
        engine.dispose()
    app = create_app(TestConfig(DATABASE_URL=url))
    upgrade_schema(app)
    with app.app_context():
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory) -> Path:
    """A SQLite file holding the migrated, empty schema; each test's database starts as a copy of it."""
    path = tmp_path_factory.mktemp("schema") / "schema.sqlite3"
    app = create_app(TestConfig(DATABASE_URL=f"sqlite:///{path}"))
    upgrade_schema(app)
    with app.app_context():
        db.engine.dispose()
    return path


@pytest.fixture
def make_app(request, tmp_path, postgres_url):
    """Build an app on this test's clean database; keyword arguments override settings. Every app of one
    test shares the database."""
    apps = []
    embedder = StandInEmbedder if request.node.get_closest_marker("stand_in_vectors") else MemoEmbedder
    if postgres_url:
        database = postgres_url
    else:
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), path)
        database = f"sqlite:///{path}"

    def factory(**overrides):
        app = create_app(TestConfig(DATABASE_URL=database, **overrides))
        app.extensions[runtime.KEY]["embedder"] = embedder(app.config["SPACY_MODEL"])
        apps.append(app)
        return app

    yield factory
    for i, app in enumerate(apps):
        with app.app_context():
            db.session.remove()
            if postgres_url and i == 0:  # DELETE: a TRUNCATE of the few rows a test leaves takes 50x longer
                with db.engine.begin() as conn:
                    for table in TABLES:
                        conn.execute(text(f"DELETE FROM {table}"))
            db.engine.dispose()


@pytest.fixture
def fake_x():
    with FakeXAPI() as server:
        yield server


@pytest.fixture
def fake_bluesky():
    with FakeBluesky() as server:
        yield server


@pytest.fixture
def fake_mastodon():
    with FakeMastodon() as server:
        yield server


@pytest.fixture
def app(make_app, fake_x):
    return make_app(X_API_URL=fake_x.url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


# --- stored accounts -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def senate_tweets():
    """Real tweets by account, from tests/data/senate117-sample.csv.gz: {author: [(created_at, text), ...]}
    oldest first."""
    return read_senate(SENATE_SAMPLE)


@pytest.fixture
def seed(app):
    """Store an account with the given tweets through the ingest service (spaCy embeddings). ``tweets`` are
    texts (an hour apart from 2022-01-01) or ``(created_at, text)`` pairs; keywords are AccountData's."""
    from twitapp.services.ingest import AccountData, NewTweet, store

    def seed_account(username: str, tweets, source: str = "csv", user_id: str | None = None, **profile):
        start = datetime(2022, 1, 1, tzinfo=UTC)
        rows = [(start + timedelta(hours=i), t) if isinstance(t, str) else t for i, t in enumerate(tweets)]
        new = [
            NewTweet(f"{username.lower()}-{zlib.crc32(text.encode())}-{i}", text, when)
            for i, (when, text) in enumerate(rows)
        ]
        with app.app_context():
            data = AccountData(id=user_id or f"local:{username.lower()}", username=username, source=source, **profile)
            return store(db.session, data, new, runtime.embedder(), may_update=True)

    return seed_account


@pytest.fixture
def two_senators(seed, senate_tweets):
    """Two real accounts with 150 real tweets each, stored: ("SenWarren", "marcorubio")."""
    for handle in ("SenWarren", "marcorubio"):
        seed(handle, [text for _, text in senate_tweets[handle][-150:]])
    return "SenWarren", "marcorubio"


# --- the demo files over HTTP --------------------------------------------------------------------


class _Files(BaseHTTPRequestHandler):
    """Serves ``server.files`` ({path: bytes}); ``server.short`` paths announce more bytes than they send."""

    def do_GET(self):
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + (1000 if self.path in self.server.short else 0)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def demo_server():
    """The six demo files (tests/data) served from 127.0.0.1 as raw.githubusercontent.com serves them:
    (server, base URL)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    server.files = {f"/Data/{h}.csv": (DEMO_SOURCE / f"{h}.csv").read_bytes() for h in DEMO_HANDLES}
    server.short = set()
    with ServerThread(server, name="demo-files") as running:
        yield server, f"{running.url}/Data"


# --- Redis ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url():
    """TEST_REDIS_URL, once its server has answered a ping (else the test skips)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} (TEST_REDIS_URL) is not reachable: {exc}")
    finally:
        client.close()
    return REDIS_URL


def clear_redis(client) -> None:
    """Delete the keys of the app, RQ and the rate limiter from the test database (nothing else)."""
    for pattern in REDIS_KEY_PATTERNS:
        keys = list(client.scan_iter(match=pattern, count=500))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])


@pytest.fixture
def redis_db(redis_url):
    """A client of the test Redis database, its app keys deleted before and after the test. A file lock
    keeps two test runs on this machine (say, two engineers' suites) from deleting each other's keys."""
    import redis

    lock_path = Path(tempfile.gettempdir()) / f"hypotweet-test-redis-{zlib.crc32(redis_url.encode()):08x}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = redis.Redis.from_url(redis_url)
        clear_redis(client)
        try:
            yield client
        finally:
            clear_redis(client)
            client.close()


# --- the browser tests (test_browser*.py): one headless Chromium per session ------------------------------


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, shared by every browser test module (one per session)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need Debian's chromium "
            "(apt-get install -y chromium; .ci/run does it) or CHROMIUM_PATH"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
