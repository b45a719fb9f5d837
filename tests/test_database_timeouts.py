"""A database that stops answering (issue 17, finding 9): every wait on it is bounded, so a request gets a 503
page or ``{"error": ...}`` with ``Retry-After`` within seconds, and the next one after it recovers is a 200.

The partitions are faked on 127.0.0.1: a port whose handshake never completes, a server that accepts and
never says a word, and (on PostgreSQL) a table locked by another connection. No test times anything; the
figures are in docs/benchmarks.md (``bench/database_down.py``).
"""

from __future__ import annotations

import os
import socket
import threading

import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from twitapp import config as settings
from twitapp import create_app
from twitapp.config import Config, engine_options
from twitapp.extensions import db

ON_POSTGRES = (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres")
UNREACHABLE = "The database is not reachable right now. Try again in a minute."


def test_postgresql_connections_carry_every_timeout():
    config = Config(environ={"DATABASE_TIMEOUT": "4"})
    config.DATABASE_STATEMENT_TIMEOUT = 12
    web = engine_options("postgresql+psycopg2://h/db", config, serving=True)
    args = web["connect_args"]
    assert args["connect_timeout"] == 4 and args["tcp_user_timeout"] == 4000
    assert args["keepalives"] == 1 and args["keepalives_idle"] == 4 and args["keepalives_count"] == 3
    assert args["options"] == (
        "-c statement_timeout=12000 -c lock_timeout=4000 -c idle_in_transaction_session_timeout=24000"
    )
    assert web["pool_pre_ping"] is True and web["pool_timeout"] == 4
    job = engine_options("postgresql+psycopg2://h/db", config, serving=False)["connect_args"]
    assert job["options"] == (  # jobs run long and wait for each other's row locks: the longer bound for both
        "-c statement_timeout=600000 -c lock_timeout=600000 -c idle_in_transaction_session_timeout=1200000"
    )
    assert job["tcp_user_timeout"] == 4000  # a partition still ends a job within seconds


def test_flask_commands_and_the_worker_get_the_job_timeouts_the_web_app_the_short_ones():
    """``flask worker`` (RQ), imports and migrations build the app inside a click command: the longer bound."""
    seen = []

    def factory():
        app = create_app(settings.TestConfig(DATABASE_URL="postgresql://postgres@127.0.0.1:9/none"))
        seen.append(app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"])
        return app

    result = CliRunner().invoke(FlaskGroup(create_app=factory), ["routes"])
    assert result.exit_code == 0, result.output
    assert seen == ["-c statement_timeout=600000 -c lock_timeout=600000 -c idle_in_transaction_session_timeout=1200000"]
    web = factory()  # built outside a command, as wsgi.py does for gunicorn
    assert seen[-1] == "-c statement_timeout=15000 -c lock_timeout=5000 -c idle_in_transaction_session_timeout=30000"
    with web.app_context():
        db.engine.dispose()


def test_sqlite_waits_for_a_lock_as_long_as_the_process_may():
    config = Config(environ={"DATABASE_TIMEOUT": "3"})
    assert engine_options("sqlite:///x.db", config, serving=True)["connect_args"] == {"timeout": 3.0}
    assert engine_options("sqlite:///x.db", config, serving=False)["connect_args"] == {"timeout": 600.0}
    assert "pool_timeout" not in engine_options("sqlite://", config, serving=True)


def test_libpq_never_gets_a_connect_timeout_under_two_seconds():
    config = Config(environ={"DATABASE_TIMEOUT": "0.5"})
    assert engine_options("postgresql://h/db", config, serving=True)["connect_args"]["connect_timeout"] == 2


@pytest.fixture
def unresponsive_port():
    """A listener with its backlog full (SYNs dropped: the handshake never completes)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    yield port
    for s in [*fillers, server]:
        s.close()


@pytest.fixture
def silent_server():
    """A server that accepts every connection and never sends a byte (the PostgreSQL startup stalls)."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for s in held:
        s.close()


@pytest.mark.parametrize("hole", ["unresponsive_port", "silent_server"])
def test_a_database_that_never_answers_is_a_quick_503_with_retry_after(request, hole):
    port = request.getfixturevalue(hole)
    app = create_app(
        settings.TestConfig(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/hypotweet", DATABASE_TIMEOUT=2)
    )
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert "database is not reachable" in page.get_data(as_text=True)
    api = client.get("/api/accounts")
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.json == {"error": UNREACHABLE}
    with app.app_context():
        db.engine.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_a_locked_table_is_a_503_after_the_lock_timeout_then_the_app_recovers(make_app, seed):
    app = make_app(DATABASE_TIMEOUT=1)  # lock_timeout 1 s for the app's requests
    seed("SenWarren", ["a post about the economy"] * 3)
    client = app.test_client()
    assert client.get("/api/accounts").status_code == 200
    locker = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with locker.connect() as conn:
            transaction = conn.begin()
            conn.execute(text("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"))
            api = client.get("/api/accounts")
            assert api.status_code == 503 and api.headers["Retry-After"] == "30"
            assert api.json == {"error": UNREACHABLE}
            page = client.get("/")
            assert page.status_code == 503 and "database is not reachable" in page.get_data(as_text=True)
            transaction.rollback()
        recovered = client.get("/api/accounts")
        assert recovered.status_code == 200 and recovered.json["accounts"][0]["username"] == "SenWarren"
        assert client.get("/").status_code == 200
    finally:
        locker.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_the_server_applies_the_timeouts_and_cancels_a_long_statement(make_app):
    app = make_app(DATABASE_TIMEOUT=2, DATABASE_STATEMENT_TIMEOUT=0.5)
    with app.app_context():
        names = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        shown = {name: db.session.execute(text(f"SHOW {name}")).scalar() for name in names}
        assert shown == {
            "statement_timeout": "500ms",
            "lock_timeout": "2s",
            "idle_in_transaction_session_timeout": "1s",
        }
        with pytest.raises(OperationalError, match="statement timeout"):
            db.session.execute(text("SELECT pg_sleep(5)"))
        db.session.rollback()
        assert db.session.execute(text("SELECT 1")).scalar() == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_the_connection_socket_is_armed_against_a_partition(make_app):
    """A partition after connecting (packets dropped, no reset) cannot be faked on 127.0.0.1, where the kernel
    always acknowledges: check instead that the socket carries the options that notice one."""
    app = make_app(DATABASE_TIMEOUT=3)
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            sock = socket.socket(fileno=os.dup(raw.driver_connection.fileno()))
            with sock:
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 3
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 1
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 3000
        finally:
            raw.close()
