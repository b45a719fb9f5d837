"""Abuse and access: security headers, proxy trust, cookies, rate limits, the admin password, secrets, logs."""

from __future__ import annotations

import io
import re
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from twitapp import config as settings
from twitapp import create_app
from twitapp.extensions import db
from twitapp.log import HANDLER_NAME

from .fake_xapi import FakeXAPI
from .helpers import ADMIN, ROOT, counts

TEMPLATES = ROOT / "twitapp" / "templates"


def capture_log(app) -> io.StringIO:
    """The app's structured log lines, from now on, in a string buffer."""
    buffer = io.StringIO()
    handler = next(h for h in app.logger.handlers if h.get_name() == HANDLER_NAME)
    handler.setStream(buffer)
    return buffer


# --- headers -------------------------------------------------------------------------------------


def assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["default-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_security_headers_on_every_kind_of_response(client, seed):
    seed("SenWarren", ["one tweet", "another"])
    responses = [
        client.get("/"),
        client.get("/accounts/SenWarren"),
        client.get("/api/accounts"),
        client.get("/static/style.css"),
        client.get("/no/such/page"),
        client.get("/api/nothing"),
        client.post("/accounts", data={"handle": "bad name"}),
        client.post("/api/predict", data="x"),
        client.get("/predict"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 404, 404, 400, 400, 405]
    for response in responses:
        assert_security_headers(response)
        assert "Strict-Transport-Security" not in response.headers  # plain http: no HSTS
        response.close()  # the static file's response holds the file open


def test_templates_have_no_inline_script_style_or_handlers():
    """The CSP has no 'unsafe-inline': nothing in a template may need it."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        for pattern in (
            r"\sstyle\s*=",
            r"<style[\s>]",
            r"<script(?![^>]*\ssrc=)[^>]*>",
            r"\son[a-z]+\s*=",
            r"javascript:",
        ):
            offenders += [f"{path.name}: {m.group(0)!r}" for m in re.finditer(pattern, html, re.IGNORECASE)]
    assert offenders == []


def test_rendered_pages_have_no_inline_script_or_style(client, seed):
    seed("SenWarren", ["one <b>tweet</b>", "another"])
    seed("marcorubio", ["a third", "and a fourth"])
    for path in ("/", "/accounts/SenWarren", "/nothing"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"\sstyle\s*=|<style[\s>]|\son[a-z]+\s*=", html, re.IGNORECASE), path
        assert all(" src=" in tag for tag in re.findall(r"<script[^>]*>", html)), path


def whoami_app(make_app, **settings):
    app = make_app(**settings)

    @app.get("/_whoami")
    def whoami():
        from flask import request

        return {"remote_addr": request.remote_addr, "scheme": request.scheme}

    return app


def test_one_trusted_proxy_gives_the_client_address_scheme_and_hsts(make_app):
    client = whoami_app(make_app, TRUSTED_PROXIES=1).test_client()  # as on Heroku
    headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7", "X-Forwarded-Proto": "https"}
    response = client.get("/_whoami", headers=headers)
    # Heroku's router appends the address it saw: only the last entry is trusted, a spoofed first one is not
    assert response.json == {"remote_addr": "203.0.113.7", "scheme": "https"}
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert_security_headers(response)
    plain = client.get("/_whoami", headers={"X-Forwarded-For": "203.0.113.7"})
    assert plain.json["scheme"] == "http" and "Strict-Transport-Security" not in plain.headers


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(make_app):
    client = whoami_app(make_app, TRUSTED_PROXIES=0).test_client()
    response = client.get("/_whoami", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert response.json == {"remote_addr": "127.0.0.1", "scheme": "http"}
    assert "Strict-Transport-Security" not in response.headers


def production_app(monkeypatch, tmp_path, debug=False):
    for key in ("SESSION_COOKIE_SECURE", "TRUSTED_PROXIES", "ADMIN_PASSWORD", "RATELIMIT_ENABLED", "REDIS_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SECRET_KEY", "a-real-production-secret-0123456789")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite3'}")
    monkeypatch.setenv("FLASK_DEBUG", "1" if debug else "0")
    return create_app(settings.Config())


def test_production_session_cookie_is_secure_httponly_samesite(monkeypatch, tmp_path):
    app = production_app(monkeypatch, tmp_path)
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["RATELIMIT_ENABLED"] is True and app.config["ADMIN_PASSWORD"] is None

    @app.get("/_touch")
    def touch():
        from flask import session

        session["x"] = 1
        return "ok"

    cookie = app.test_client().get("/_touch", base_url="https://hypotweet.example").headers["Set-Cookie"]
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_debug_over_http_keeps_the_cookie_usable(monkeypatch, tmp_path):
    app = production_app(monkeypatch, tmp_path, debug=True)
    assert app.debug and app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_csrf_cookie_session_flags_with_csrf_on(make_app):
    app = make_app(WTF_CSRF_ENABLED=True, SESSION_COOKIE_SECURE=True)
    cookie = app.test_client().get("/", base_url="https://hypotweet.example").headers["Set-Cookie"]
    assert (
        cookie.startswith("session=") and "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie
    )


# --- rate limits ---------------------------------------------------------------------------------


def limited_app(make_app, fake_x, **limits):
    settings = {
        "RATE_LIMIT_ACCOUNTS": "2 per minute",
        "RATE_LIMIT_IMPORTS": "1 per minute",
        "RATE_LIMIT_PREDICT": "3 per minute",
        "RATE_LIMIT_ADMIN": "2 per minute",
    } | limits
    return make_app(X_API_URL=fake_x.url, RATELIMIT_ENABLED=True, **settings)


def test_tests_are_not_rate_limited_by_default(client):
    for _ in range(40):
        assert client.post("/api/predict", json={}).status_code == 400


def test_predict_limit_is_per_address_shared_by_page_and_api_with_json_and_page_429(make_app, fake_x):
    app = limited_app(make_app, fake_x)
    client = app.test_client()
    me = {"REMOTE_ADDR": "198.51.100.1"}
    assert client.post("/api/predict", json={}, environ_base=me).status_code == 400
    assert client.post("/predict", data={}, environ_base=me).status_code == 400
    assert client.post("/api/predict", json={}, environ_base=me).status_code == 400
    refused = client.post("/api/predict", json={"accounts": ["a", "b"], "text": "hi"}, environ_base=me)
    assert refused.status_code == 429 and refused.is_json
    assert "too many requests" in refused.json["error"].lower() and "3 per 1 minute" in refused.json["error"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert_security_headers(refused)
    page = client.post("/predict", data={"text": "hi"}, environ_base=me)
    assert page.status_code == 429 and "text/html" in page.content_type
    html = page.get_data(as_text=True)
    assert "Too many requests from your address" in html and re.search(r"Try again in \d+ seconds?", html)
    assert 1 <= int(page.headers["Retry-After"]) <= 61
    # another address has its own budget
    other = client.post("/api/predict", json={}, environ_base={"REMOTE_ADDR": "198.51.100.2"})
    assert other.status_code == 400


def test_add_and_update_share_a_limit_and_a_refused_request_costs_no_x_call(make_app, fake_x):
    app = limited_app(make_app, fake_x)
    client = app.test_client()
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(12))
    assert client.post("/api/accounts", json={"username": "SenWarren"}).status_code == 201
    assert client.post("/accounts/SenWarren/update").status_code == 303
    calls = len(fake_x.requests)
    for attempt in (
        lambda: client.post("/accounts", data={"handle": "SenWarren"}),
        lambda: client.post("/api/accounts", json={"username": "SenWarren"}),
        lambda: client.post("/accounts/SenWarren/update"),
    ):
        assert attempt().status_code == 429
    assert len(fake_x.requests) == calls and counts(app) == (1, 12)


def test_every_post_route_is_rate_limited(make_app, fake_x):
    """A guard for new routes: every POST (state change or costly work) has a limit."""
    app = make_app(
        X_API_URL=fake_x.url,
        RATELIMIT_ENABLED=True,
        RATE_LIMIT_ACCOUNTS="1 per day",
        RATE_LIMIT_IMPORTS="1 per day",
        RATE_LIMIT_PREDICT="1 per day",
        RATE_LIMIT_ADMIN="1 per day",
        DEMO_BASE_URL="http://127.0.0.1:9/Data",
    )
    client = app.test_client()
    exempt: set[str] = set()
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and r.endpoint not in exempt]
    assert {"web.add_account", "web.predict", "api.predict", "web.delete_account", "web.demo"} <= {
        r.endpoint for r in rules
    }
    for rule in rules:
        path = re.sub(r"<[^>]+>", "Nobody", rule.rule)
        address = {"REMOTE_ADDR": f"192.0.2.{len(path) % 250}"}
        responses = [client.post(path, data={}, environ_base=address).status_code for _ in range(3)]
        assert responses[-1] == 429, (rule.endpoint, responses)


def test_limits_are_shared_across_processes_through_redis(make_app, fake_x, redis_url, redis_db):
    """Two apps (as two gunicorn workers) on one Redis count together."""
    settings = dict(REDIS_URL=redis_url, RATELIMIT_STORAGE_URI=redis_url)
    first = limited_app(make_app, fake_x, **settings).test_client()
    second = limited_app(make_app, fake_x, **settings).test_client()
    me = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}
    assert [c.post("/api/predict", json={}, environ_base=me).status_code for c in (first, second, first)] == [400] * 3
    assert second.post("/api/predict", json={}, environ_base=me).status_code == 429


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory):
    """A Redis server over TLS with a self-signed certificate, as Heroku Redis serves (``rediss://``)."""
    if not (shutil.which("redis-server") and shutil.which("openssl")):
        pytest.skip("needs redis-server and openssl on the PATH")
    folder = tmp_path_factory.mktemp("tls-redis")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ],
        check=True,
        capture_output=True,
    )
    with socket.socket() as probe:  # a free port; --port 0: no plain-TCP listener at all
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_path = folder / "redis.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", "0", "--tls-port", str(port)]
            + ["--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-auth-clients", "no"]
            + ["--save", "", "--appendonly", "no", "--dir", str(folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(50):
            if server.poll() is not None:
                pytest.skip(f"this redis-server cannot serve TLS: {log_path.read_text()[-300:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"rediss://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def test_heroku_redis_over_tls_with_a_self_signed_certificate(make_app, fake_x, tls_redis):
    """Heroku Redis's URL is rediss:// with a self-signed certificate: limits are counted there (not a 500
    on every limited request) and jobs are queued there."""
    from twitapp.redis_client import redis_connection

    app = limited_app(
        make_app, fake_x, REDIS_URL=tls_redis, RATELIMIT_STORAGE_URI=tls_redis, RATE_LIMIT_PREDICT="2 per minute"
    )
    client = app.test_client()
    me = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}
    assert [client.post("/api/predict", json={}, environ_base=me).status_code for _ in range(3)] == [400, 400, 429]
    with app.app_context():
        assert redis_connection().ping()


def test_bad_limit_setting_fails_at_start(make_app):
    from twitapp.config import ConfigError

    with pytest.raises(ConfigError, match="RATE_LIMIT_PREDICT"):
        make_app(RATE_LIMIT_PREDICT="lots")


# --- admin password ------------------------------------------------------------------------------


def test_without_admin_password_delete_and_demo_are_hidden_and_refused(make_app, fake_x, seed):
    app = make_app(X_API_URL=fake_x.url, ADMIN_PASSWORD=None, DEMO_BASE_URL="http://127.0.0.1:9/Data")
    client = app.test_client()
    seed("SenWarren", ["a tweet"])
    account_page = client.get("/accounts/SenWarren").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "/delete" not in account_page and "admin_password" not in account_page
    assert 'action="/demo"' not in home and "admin_password" not in home
    for path in ("/accounts/SenWarren/delete", "/demo"):
        response = client.post(path, data={"admin_password": ""})
        assert response.status_code == 403 and "turned off on this server" in response.get_data(as_text=True)
    assert counts(app) == (1, 1)


@pytest.mark.parametrize(
    "given,status",
    [
        (None, 403),
        ("", 403),
        ("test-admin-passwor", 403),
        ("test-admin-password ", 403),
        ("TEST-ADMIN-PASSWORD", 403),
        ("x" * 10_000, 403),
        ("test-admin-password\x00", 403),
        (ADMIN, 303),
    ],
)
def test_delete_needs_the_admin_password(client, app, seed, given, status):
    seed("SenWarren", ["a tweet", "another"])
    page = client.get("/accounts/SenWarren").get_data(as_text=True)
    assert 'type="password" name="admin_password"' in page
    data = {} if given is None else {"admin_password": given}
    response = client.post("/accounts/SenWarren/delete", data=data)
    assert response.status_code == status
    if status == 403:
        assert "needs the admin password" in response.get_data(as_text=True)
        assert counts(app) == (1, 2)
    else:
        assert counts(app) == (0, 0)


def test_admin_password_in_a_header_for_scripts(client, app, seed):
    seed("SenWarren", ["a tweet", "another"])
    assert client.post("/accounts/SenWarren/delete", headers={"X-Admin-Password": "nope"}).status_code == 403
    assert client.post("/accounts/SenWarren/delete", headers={"X-Admin-Password": ADMIN}).status_code == 303
    assert counts(app) == (0, 0)


def test_admin_password_is_compared_in_constant_time(app, monkeypatch):
    import hmac

    from twitapp import security

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(security.hmac, "compare_digest", lambda a, b: calls.append((len(a), len(b))) or real(a, b))
    with app.test_request_context():
        assert security.admin_password_ok(ADMIN) and not security.admin_password_ok("short")
        assert not security.admin_password_ok("y" * 5000) and not security.admin_password_ok(None)
    assert calls == [(32, 32)] * 4  # digests of equal length: neither content nor length shows in the timing


def test_admin_guesses_are_rate_limited(make_app, fake_x, seed):
    app = limited_app(make_app, fake_x)
    client = app.test_client()
    statuses = [
        client.post("/accounts/Someone/delete", data={"admin_password": f"guess{i}"}).status_code for i in range(3)
    ]
    assert statuses == [403, 403, 429]


# --- secrets and logs ----------------------------------------------------------------------------

SECRET_KEY = "sk-SENTINEL-7f3a9c1e5d"
BEARER = "bt-SENTINEL-AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI"
DB_PASSWORD = "dbpw-SENTINEL-s3cr3t"
ADMIN_SECRET = "adm-SENTINEL-hunter2"
SENTINELS = (SECRET_KEY, BEARER, DB_PASSWORD, ADMIN_SECRET, "SENTINEL")


def assert_no_secret(*texts):
    for text in texts:
        for secret in SENTINELS:
            assert secret not in text


def test_no_secret_in_pages_json_or_logs_when_things_fail(make_app, monkeypatch, caplog):
    with FakeXAPI(valid_token="another-token") as fake_x:  # the X API refuses our bearer token
        app = make_app(X_API_URL=fake_x.url, SECRET_KEY=SECRET_KEY, X_BEARER_TOKEN=BEARER, ADMIN_PASSWORD=ADMIN_SECRET)
        log = capture_log(app)
        client = app.test_client()
        fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(5))
        texts = []
        refused = client.post("/accounts", data={"handle": "SenWarren"})
        assert refused.status_code == 502 and "bearer token" in refused.get_data(as_text=True)
        texts.append(refused.get_data(as_text=True))
        api = client.post("/api/accounts", json={"username": "SenWarren"})
        assert api.status_code == 502
        texts.append(api.get_data(as_text=True))
        # an unexpected error whose message carries every secret
        from twitapp.services import account_search

        def leak(*args, **kwargs):
            raise RuntimeError(f"boom {SECRET_KEY} {BEARER} {ADMIN_SECRET} postgresql://u:{DB_PASSWORD}@db/x")

        monkeypatch.setattr(account_search, "search_accounts", leak)
        for response in (client.get("/"), client.get("/api/accounts")):
            assert response.status_code == 500
            texts.append(response.get_data(as_text=True))
            assert "boom" not in texts[-1] and "Traceback" not in texts[-1]
        texts.append(client.post("/accounts/SenWarren/delete", data={"admin_password": "wrong"}).get_data(as_text=True))
        for response in (client.get("/"), client.get("/api/accounts")):
            texts.append(str(response.headers))
    lines = log.getvalue().splitlines()
    assert any("exc_type=RuntimeError" in line and "boom [redacted]" in line for line in lines)
    assert any("event=admin_refused" in line for line in lines)
    assert_no_secret(log.getvalue(), caplog.text, *texts)  # nor in records any other handler sees


def test_no_database_password_in_the_503_page_or_logs(tmp_path):
    app = create_app(
        settings.TestConfig(
            DATABASE_URL=f"postgresql://hypo:{DB_PASSWORD}@127.0.0.1:1/hypotweet",
            SECRET_KEY=SECRET_KEY,
            X_BEARER_TOKEN=BEARER,
        )
    )
    log = capture_log(app)
    client = app.test_client()
    page, api = client.get("/"), client.get("/api/accounts")
    assert page.status_code == 503 and api.status_code == 503
    assert "database is not reachable" in page.get_data(as_text=True) and "not reachable" in api.json["error"]
    assert "event=request" in log.getvalue() and "database unavailable" in log.getvalue()
    assert_no_secret(log.getvalue(), page.get_data(as_text=True), api.get_data(as_text=True))
    with app.app_context():
        db.engine.dispose()


def test_redaction_covers_url_quoted_and_traceback_forms(app):
    from twitapp.log import KeyValueFormatter, secrets_of

    config = dict(app.config, SECRET_KEY="p@ss/word+1", SQLALCHEMY_DATABASE_URI="postgresql://u:p%40ss%2Fword%2B1@h/d")
    formatter = KeyValueFormatter(secrets_of(config))
    import logging

    try:
        raise ValueError("key p@ss/word+1 and quoted p%40ss%2Fword%2B1")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "twitapp", logging.ERROR, __file__, 1, "failed with %s", ("p@ss/word+1",), sys.exc_info()
        )
    line = formatter.format(record)
    assert "p@ss" not in line and "p%40ss" not in line and "word" not in line and line.count("[redacted]") == 5
    assert "\n" not in line  # one event, one line


def test_log_lines_are_structured_with_a_request_id_echoed_in_the_response(client, app):
    log = capture_log(app)
    given = client.get("/", headers={"X-Request-ID": "req-1234abcd"})
    made = client.get("/api/accounts")
    assert given.headers["X-Request-ID"] == "req-1234abcd"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    lines = log.getvalue().splitlines()
    assert len(lines) == 2
    pairs = [dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line)) for line in lines]
    assert [p["request_id"] for p in pairs] == ["req-1234abcd", made.headers["X-Request-ID"]]
    assert [p["path"] for p in pairs] == ["/", "/api/accounts"] and all(p["event"] == "request" for p in pairs)
    assert all({"ts", "level", "logger", "method", "status", "ms", "remote_addr"} <= set(p) for p in pairs)


@pytest.mark.parametrize("incoming", ["", "x" * 129, "has space", "tab\there", "<script>", "a;b", "-leading", 'a"b'])
def test_an_insane_incoming_request_id_is_replaced(client, app, incoming):
    log = capture_log(app)
    response = client.get("/", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    assert incoming not in log.getvalue() or incoming == ""


def test_a_request_refused_by_csrf_still_has_a_request_id(make_app, fake_x):
    app = make_app(X_API_URL=fake_x.url, WTF_CSRF_ENABLED=True)
    log = capture_log(app)
    response = app.test_client().post(
        "/accounts", data={"handle": "SenWarren"}, headers={"X-Request-ID": "csrf-test-1"}
    )
    assert response.status_code == 400 and response.headers["X-Request-ID"] == "csrf-test-1"
    assert "request_id=csrf-test-1" in log.getvalue() and "status=400" in log.getvalue()


def test_a_server_without_secret_key_refuses_to_start_but_cli_commands_run(monkeypatch):
    import click

    from twitapp import create_app
    from twitapp.config import Config, ConfigError

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app(Config())  # as gunicorn builds it
    with click.Context(click.Command("run"), info_name="run"), pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(Config())  # flask run without --debug
    with click.Context(click.Command("upgrade"), info_name="upgrade"):
        app = create_app(Config())  # flask db upgrade, flask demo...: no cookie to sign
    assert len(app.config["SECRET_KEY"]) == 64
