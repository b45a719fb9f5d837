"""Fixtures: a fresh app and database per test, a client, a CLI runner, and a fake X API on 127.0.0.1.

The suite runs on SQLite by default and on PostgreSQL when ``TEST_DATABASE_URL`` is set (``.ci/run`` sets
it). On PostgreSQL the schema is built once by the migrations and every test starts from empty tables.
"""

from __future__ import annotations

import os
import threading
import zlib
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from twitapp import create_app
from twitapp.config import TestConfig, database_url
from twitapp.extensions import db
from twitapp.sources import DEMO_HANDLES

from .fake_xapi import FakeXAPI

SHARED = Path(__file__).resolve().parents[2] / "shared"
SENATE_CSV = SHARED / "data" / "senate117" / "tweets.csv.gz"
DEMO_SOURCE = SHARED / "data" / "senate117-demo-source"
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
TABLES = ("tweets", "accounts")


def pytest_report_header(config):
    return f"database: {os.environ.get('TEST_DATABASE_URL') or 'SQLite (set TEST_DATABASE_URL for PostgreSQL)'}"


def upgrade_schema(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(MIGRATIONS))


@pytest.fixture(scope="session")
def postgres_url():
    """The PostgreSQL URL under test, its schema rebuilt by the migrations once per session, or None."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    engine = create_engine(database_url(url, ""))
    try:
        with engine.begin() as conn:  # fail, not skip, when the database is set but unreachable
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    finally:
        engine.dispose()
    upgrade_schema(create_app(TestConfig(DATABASE_URL=url)))
    return url


@pytest.fixture
def make_app(tmp_path, postgres_url):
    """Build an app on a clean database; keyword arguments override settings."""
    apps = []

    def factory(**overrides):
        database = postgres_url or f"sqlite:///{tmp_path / 'test.sqlite3'}"
        app = create_app(TestConfig(DATABASE_URL=database, **overrides))
        if postgres_url is None and not apps:
            upgrade_schema(app)
        apps.append(app)
        return app

    yield factory
    for app in apps[:1]:
        with app.app_context():
            db.session.remove()
            if postgres_url:
                with db.engine.begin() as conn:
                    conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def fake_x():
    with FakeXAPI() as server:
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


@pytest.fixture(scope="session")
def senate_tweets():
    """Real tweets by account from the shared senate file: {author: [(created_at, text), ...]} oldest first."""
    if not SENATE_CSV.exists():
        pytest.skip(f"shared data not found at {SENATE_CSV}: real-tweet tests need ../shared beside the repo")
    import csv
    import gzip

    by_author: dict[str, list[tuple[str, str]]] = {}
    with gzip.open(SENATE_CSV, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            by_author.setdefault(row["author"], []).append((row["created_at"], row["text"]))
    return by_author


@pytest.fixture
def seed(app):
    """Store an account with the given tweets through the ingest service (real spaCy embeddings)."""
    from datetime import datetime, timedelta

    from twitapp import runtime
    from twitapp.services.ingest import AccountData, NewTweet, store

    def seed_account(username: str, texts, source: str = "csv", user_id: str | None = None):
        start = datetime(2022, 1, 1, tzinfo=UTC)
        tweets = [
            NewTweet(f"{username.lower()}-{zlib.crc32(text.encode())}-{i}", text, start + timedelta(hours=i))
            for i, text in enumerate(texts)
        ]
        with app.app_context():
            data = AccountData(id=user_id or f"local:{username.lower()}", username=username, source=source)
            return store(db.session, data, tweets, runtime.embedder())

    return seed_account


@pytest.fixture
def two_senators(seed, senate_tweets):
    """Two real accounts with 150 real tweets each, stored: ("SenWarren", "marcorubio")."""
    for handle in ("SenWarren", "marcorubio"):
        seed(handle, [text for _, text in senate_tweets[handle][-150:]])
    return "SenWarren", "marcorubio"


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
    """The six demo files served from 127.0.0.1 as raw.githubusercontent.com serves them: (server, base URL)."""
    if not DEMO_SOURCE.is_dir():
        pytest.skip(f"shared data not found at {DEMO_SOURCE}: demo tests need ../shared beside the repo")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    server.files = {f"/Data/{h}.csv": (DEMO_SOURCE / f"{h}.csv").read_bytes() for h in DEMO_HANDLES}
    server.short = set()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/Data"
    server.shutdown()
    server.server_close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test (``item.rep_call``): the browser tests save a screenshot when
    the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
