"""Faults: the X API failing mid-way, the database going away and coming back, two requests racing.

X API faults at the service level (timeouts, 5xx, 429 mid-pagination, malformed JSON, reset; the account
left as it was and a retry resuming) are in test_ingest_x.py; this file adds a timeout mid-pagination,
connect timeouts, and what a person sees over HTTP for each fault.
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import func, select

from twitapp import config as settings
from twitapp import create_app
from twitapp.extensions import db
from twitapp.models import Tweet

from .fake_xapi import FakeXAPI
from .helpers import counts

# --- X API ---------------------------------------------------------------------------------------

FAULTS = {
    "timeout": lambda x: x.delay(2, path_contains="/tweets", after=1),
    "server": lambda x: x.fail(502, path_contains="/tweets", after=1),
    "rate": lambda x: x.fail(429, path_contains="/tweets", after=1),
    "malformed": lambda x: x.malformed(path_contains="/tweets", after=1),
    "reset": lambda x: x.reset_connection(path_contains="/tweets", after=1),
}
STATUS = {"timeout": 502, "server": 502, "rate": 429, "malformed": 502, "reset": 502}
WORDS = {
    "timeout": "did not answer within",
    "server": "502",
    "rate": "try again",
    "malformed": "malformed",
    "reset": "network error",
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("via", ["page", "api"])
def test_x_fault_in_the_middle_of_an_update_over_http(make_app, fake_x, fault, via):
    app = make_app(X_API_URL=fake_x.url, X_TIMEOUT=0.5)
    client = app.test_client()
    fake_x.add_user("Paged", tweets=FakeXAPI.make_tweets(120))
    assert client.post("/api/accounts", json={"username": "Paged"}).status_code == 201
    fake_x.add_tweets("Paged", FakeXAPI.make_tweets(250, start="2023-01-01T00:00:00Z", prefix="new"))
    FAULTS[fault](fake_x)
    if via == "api":
        response = client.post("/api/accounts", json={"username": "Paged"})
        assert response.status_code == STATUS[fault] and WORDS[fault] in response.json["error"].lower()
    else:
        response = client.post("/accounts/Paged/update", follow_redirects=True)
        html = response.get_data(as_text=True)
        assert WORDS[fault] in html.lower() and "Traceback" not in html
    assert counts(app) == (1, 120)  # as it was: not half
    assert fake_x.pending_faults() == 0
    retry = client.post("/api/accounts", json={"username": "Paged"})
    assert retry.status_code == 200 and retry.json["account"]["added"] == 250
    assert counts(app) == (1, 370)  # resumed from since_id, no duplicates


@pytest.fixture
def black_hole():
    """A port whose TCP handshake never completes: a listener with a full backlog drops further SYNs."""
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
    yield f"http://127.0.0.1:{port}"
    for s in fillers + [server]:
        s.close()


def test_connect_timeout_is_a_clear_502_and_stores_nothing(make_app, black_hole):
    app = make_app(X_API_URL=black_hole, X_TIMEOUT=0.5)
    response = app.test_client().post("/api/accounts", json={"username": "Someone"})
    assert response.status_code == 502
    assert "did not answer within 0.5 seconds" in response.json["error"]
    assert counts(app) == (0, 0)


def test_connection_refused_is_a_clear_502(make_app):
    app = make_app(X_API_URL="http://127.0.0.1:9")
    response = app.test_client().post("/accounts", data={"handle": "Someone"})
    assert response.status_code == 502 and "Traceback" not in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


# --- database ------------------------------------------------------------------------------------


def test_database_down_from_the_start_is_a_503_page_and_json(tmp_path):
    app = create_app(settings.TestConfig(DATABASE_URL="postgresql://postgres@127.0.0.1:1/hypotweet"))
    client = app.test_client()
    for response in (
        client.get("/"),
        client.get("/accounts/SenWarren"),
        client.post("/predict", data={"text": "x"}),
        client.post("/accounts", data={"handle": "SenWarren"}),
    ):
        html = response.get_data(as_text=True)
        assert response.status_code == 503 and "database is not reachable" in html
        assert response.headers["Retry-After"] == "30"
        assert "Traceback" not in html and "OperationalError" not in html and "psycopg2" not in html
    for response in (
        client.get("/api/accounts"),
        client.post("/api/predict", json={"accounts": ["a", "b"], "text": "x"}),
    ):
        assert response.status_code == 503 and response.json == {
            "error": "The database is not reachable right now. Try again in a minute."
        }
    with app.app_context():
        db.engine.dispose()


class TcpProxy:
    """127.0.0.1:<port> -> target, which a test can cut (every connection dropped, new ones refused) and
    restore, as if the database server had stopped and started."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.up = False
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.sockets.clear()

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        self.listener.close()


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_database_goes_away_gives_503_and_the_app_recovers_by_itself(make_app, postgres_url, seed):
    make_app()  # the schema, emptied after the test
    parts = urlsplit(postgres_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    through_proxy = urlunsplit(parts._replace(netloc=f"{userinfo}127.0.0.1:{proxy.port}"))
    app = create_app(settings.TestConfig(DATABASE_URL=through_proxy))
    client = app.test_client()
    try:
        seed("SenWarren", ["a tweet", "another"])
        assert client.get("/").status_code == 200 and client.get("/api/accounts").status_code == 200
        proxy.cut()  # the server "stops": pooled connections die, new ones are refused
        for _ in range(3):
            page, api = client.get("/"), client.get("/api/accounts")
            assert page.status_code == 503 and "database is not reachable" in page.get_data(as_text=True)
            assert api.status_code == 503 and "not reachable" in api.json["error"]
        proxy.restore()  # the server is back: no restart of the app, pool_pre_ping replaces dead connections
        page = client.get("/")
        assert page.status_code == 200 and "SenWarren" in page.get_data(as_text=True)
        assert [a["username"] for a in client.get("/api/accounts").json["accounts"]] == ["SenWarren"]
        proxy.cut()
        assert client.get("/accounts/SenWarren").status_code == 503
        proxy.restore()
        assert client.get("/accounts/SenWarren").status_code == 200
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        proxy.close()


# --- concurrency ---------------------------------------------------------------------------------


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)")
@pytest.mark.parametrize("via", ["api", "page", "mixed"])
def test_two_requests_adding_the_same_new_account_store_it_once(make_app, fake_x, via):
    app = make_app(X_API_URL=fake_x.url)
    fake_x.add_user("Racer", tweets=FakeXAPI.make_tweets(150))
    fake_x.delay(0.4, path_contains="/tweets", times=2)  # both requests are fetching before either stores
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def add(i: int):
        client = app.test_client()
        barrier.wait()
        use_api = via == "api" or (via == "mixed" and i == 0)
        if use_api:
            response = client.post("/api/accounts", json={"username": "Racer"})
        else:
            response = client.post("/accounts", data={"handle": "Racer"})
        results[i] = response.status_code

    threads = [threading.Thread(target=add, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(status in (200, 201, 303) for status in results), results
    assert counts(app) == (1, 150)
    with app.app_context():
        assert db.session.scalar(select(func.count(func.distinct(Tweet.id)))) == 150
