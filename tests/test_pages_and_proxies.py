"""Addresses a visitor may type or forge: out-of-range pages, GET on a form's URL, and proxy headers."""

from __future__ import annotations

import pytest

from twitapp import create_app
from twitapp.config import Config


@pytest.fixture
def one_account(app):
    from twitapp.extensions import db
    from twitapp.services.ingest import AccountData, NewTweet, store

    class NoEmbedder:
        model_name = "none"

        def embed(self, texts, progress=None):
            import numpy as np

            return np.zeros((len(texts), 4), dtype=np.float32)

    from datetime import datetime

    tweets = [NewTweet(f"t{i}", f"tweet number {i}", datetime(2022, 1, 1 + i % 28)) for i in range(120)]
    with app.app_context():
        store(db.session, AccountData(id="local:pager", username="pager", source="csv"), tweets, NoEmbedder())
    return "pager"


@pytest.mark.parametrize(
    ("page", "status"),
    [("1", 200), ("3", 200), ("4", 404), ("999", 404), ("99999999999999999999", 404), ("0", 404), ("-1", 404)],
)
def test_account_pages_past_the_last_are_404(client, one_account, page, status):
    response = client.get(f"/accounts/{one_account}?page={page}")
    assert response.status_code == status
    if status == 404:
        assert "there is no page" in response.get_data(as_text=True)


def test_the_last_page_has_no_older_link(client, one_account):
    html = client.get(f"/accounts/{one_account}?page=3").get_data(as_text=True)
    assert "Page 3 of 3" in html and 'rel="next"' not in html and 'rel="prev"' in html


def test_a_page_that_is_no_number_is_the_first(client, one_account):
    html = client.get(f"/accounts/{one_account}?page=abc").get_data(as_text=True)
    assert "Page 1 of 3" in html


def test_get_accounts_lists_the_accounts(client, one_account):
    response = client.get("/accounts")
    assert response.status_code == 302 and response.headers["Location"].endswith("/#accounts")
    listed = client.get("/accounts", follow_redirects=True)
    assert listed.status_code == 200 and 'id="accounts"' in listed.get_data(as_text=True)
    assert f'href="/accounts/{one_account}"' in listed.get_data(as_text=True)


@pytest.mark.parametrize(("environ", "expected"), [({}, 0), ({"DYNO": "web.1"}, 1), ({"TRUSTED_PROXIES": "2"}, 2)])
def test_forwarded_headers_are_trusted_only_on_heroku_by_default(environ, expected):
    assert expected == Config(environ=environ).TRUSTED_PROXIES


def test_without_heroku_a_forged_forwarded_for_does_not_dodge_rate_limits(tmp_path):
    """gunicorn reached directly: requests claiming other X-Forwarded-For addresses are still one client."""
    environ = {
        "SECRET_KEY": "s" * 32,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'direct.sqlite3'}",
        "RATE_LIMIT_PREDICT": "2 per minute",
    }
    client = create_app(Config(environ=environ)).test_client()
    statuses = [
        client.post("/api/predict", json={}, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
        for i in range(4)
    ]
    assert statuses == [400, 400, 429, 429]


def test_a_forged_host_is_refused_when_trusted_hosts_are_set(make_app, fake_x):
    app = make_app(X_API_URL=fake_x.url, TRUSTED_HOSTS=["hypotweet.example"])
    client = app.test_client()
    forged = client.get("/api/accounts", headers={"Host": "evil.example"})
    assert forged.status_code == 400 and forged.json == {"error": "This server does not answer for that host name."}
    assert client.get("/accounts", headers={"Host": "evil.example"}).status_code == 400  # no redirect to it
    good = client.get("/accounts", headers={"Host": "hypotweet.example"})
    assert good.status_code == 302 and good.headers["Location"].startswith(("/", "http://hypotweet.example/"))


def test_trusted_hosts_are_read_as_a_list():
    assert Config(environ={"TRUSTED_HOSTS": "a.example, b.example,"}).TRUSTED_HOSTS == ["a.example", "b.example"]
