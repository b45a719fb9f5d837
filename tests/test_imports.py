"""Imports through the CLI and the page: archive, CSV and the demo set, stored once, nothing half."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from twitapp.extensions import db
from twitapp.models import Account, Tweet

from .archive_factory import archive_note, archive_tweet, build_archive
from .helpers import ADMIN, NO_SHARED, SENATE_CSV, counts

T0 = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)
LONG = ("A long post on the farm bill and what it means for rural families. " * 6).strip()


def real_shaped_archive() -> bytes:
    tweets = [
        archive_tweet(str(1500000000000000000 + i), f"Tweet {i}: jobs & wages for Iowa", T0 + timedelta(days=i))
        for i in range(30)
    ]
    tweets.append(archive_tweet("1600000000000000001", "RT @someone: not mine", T0 + timedelta(days=40)))
    tweets.append(
        archive_tweet(
            "1600000000000000002",
            "@reporter thanks for asking",
            T0 + timedelta(days=41),
            in_reply_to="1599999999999999999",
        )
    )
    tweets.append(archive_tweet("1600000000000000003", LONG[:270] + "…", T0 + timedelta(days=42)))
    notes = [archive_note("9001", LONG, T0 + timedelta(days=42))]
    return build_archive("ChuckGrassley", "10615232", "Chuck Grassley", tweets, note_tweets=notes, parts=3)


def test_archive_through_the_cli_and_again_adds_nothing(runner, app, tmp_path):
    path = tmp_path / "twitter-archive.zip"
    path.write_bytes(real_shaped_archive())
    result = runner.invoke(args=["import", "archive", str(path)])
    assert result.exit_code == 0, result.output
    assert "32 tweets added; skipped 1 retweets, 0 already stored" in result.output
    with app.app_context():
        account = db.session.get(Account, "archive:10615232")
        assert (account.username, account.name, account.source) == ("ChuckGrassley", "Chuck Grassley", "archive")
        texts = set(db.session.scalars(select(Tweet.text)))
    assert LONG in texts and "Tweet 3: jobs & wages for Iowa" in texts and "@reporter thanks for asking" in texts

    again = runner.invoke(args=["import", "archive", str(path)])
    assert again.exit_code == 0 and "0 tweets added" in again.output and "32 already stored" in again.output
    assert counts(app) == (1, 32)


def test_archive_upload_through_the_page(client, app):
    response = client.post(
        "/import", data={"file": (io.BytesIO(real_shaped_archive()), "archive.zip")}, content_type="multipart/form-data"
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/accounts/ChuckGrassley")
    page = client.get("/accounts/ChuckGrassley").get_data(as_text=True)
    assert "archive" in page and "32" in page
    assert counts(app) == (1, 32)


@pytest.mark.stand_in_vectors
@pytest.mark.skipif(not SENATE_CSV.is_file(), reason=NO_SHARED)
def test_shared_senate_csv_through_the_cli(runner, app):
    result = runner.invoke(args=["import", "csv", str(SENATE_CSV), "--account", "SenBooker"])
    assert result.exit_code == 0, result.output
    assert "1,213 tweets added" in result.output
    again = runner.invoke(args=["import", "csv", str(SENATE_CSV), "--account", "senbooker"])
    assert "0 tweets added" in again.output and "1,213 already stored" in again.output
    with app.app_context():
        account = db.session.scalars(select(Account)).one()
        assert (account.id, account.username, account.source) == ("local:senbooker", "SenBooker", "csv")


def test_senate_rows_upload_through_the_page(client, app, senate_tweets):
    rows = ["author,tweet_id,created_at,text"]
    for author in ("SenWarren", "marcorubio"):
        for i, (created, text) in enumerate(senate_tweets[author][:40]):
            rows.append(f'{author},{author}-{i},{created},"{text.replace(chr(34), chr(34) * 2)}"')
    body = gzip.compress(("\n".join(rows) + "\n").encode())
    response = client.post(
        "/import", data={"file": (io.BytesIO(body), "senate.csv.gz")}, content_type="multipart/form-data"
    )
    assert response.status_code == 303
    assert "Imported 2 accounts" in client.get("/").get_data(as_text=True)
    assert counts(app) == (2, 80)


def test_csv_with_account_option(runner, app, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "text,created_at\nHello &amp; welcome,2022-01-01 10:00:00+00:00\n,2022-01-02T10:00:00Z\n"
        "RT @x: theirs,2022-01-03T10:00:00Z\n",
        encoding="utf-8-sig",
    )
    result = runner.invoke(args=["import", "csv", str(path), "--account", "@jane_doe"])
    assert result.exit_code == 0, result.output
    assert "1 tweets added; skipped 1 retweets, 0 already stored, 1 empty" in result.output
    with app.app_context():
        assert db.session.scalar(select(Tweet.text)) == "Hello & welcome"


@pytest.mark.parametrize(
    "filename,content,account,words",
    [
        ("archive.zip", b"this is not a zip", "", "not a zip file"),
        ("archive.zip", build_archive("jane", "1", "Jane", [])[:200], "", "zip"),
        ("tweets.js", b"var x = [];", "jane", ""),
        ("tweets.js", b"window.YTD.tweets.part0 = [{not json", "jane", "not valid JSON"),
        ("tweets.csv", b"author,body\njane,hello\n", "", "text"),
        ("tweets.csv", "text\nh\xe9llo\n".encode("latin-1"), "jane", "UTF-8"),
        ("tweets.csv", b"", "jane", "empty"),
        ("tweets.csv", b"text\nhello\n", "bad.name", "X username"),
        ("tweets.csv", b"text\nRT @a: b\n", "jane", "original"),
        ("photo.png", b"\x89PNG", "", "none of the files this app imports"),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(client, app, filename, content, account, words):
    response = client.post(
        "/import",
        data={"file": (io.BytesIO(content), filename), "account": account},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_upload_without_a_file(client):
    response = client.post("/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a file to import." in response.get_data(as_text=True)


def test_upload_over_the_size_limit_is_413(make_app, fake_x):
    app = make_app(X_API_URL=fake_x.url, MAX_CONTENT_LENGTH=1024, MAX_UPLOAD_MB=1)
    response = app.test_client().post(
        "/import", data={"file": (io.BytesIO(b"x" * 5000), "big.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    assert "larger than this server accepts" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_failed_multi_account_import_stores_nothing(client, app):
    body = b"author,text\njane,hello there\nbad.name,oops\n"
    response = client.post("/import", data={"file": (io.BytesIO(body), "two.csv")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert counts(app) == (0, 0)


@pytest.mark.stand_in_vectors
def test_demo_through_the_cli(runner, app, demo_server):
    _, base_url = demo_server
    result = runner.invoke(args=["demo", "--base-url", base_url])
    assert result.exit_code == 0, result.output
    assert "Imported 6 accounts" in result.output
    with app.app_context():
        sources = set(db.session.scalars(select(Account.source)))
        n = db.session.scalar(select(func.count(Tweet.id)))
    assert sources == {"demo"} and 12_000 < n <= 12_634


def test_demo_refuses_a_corrupted_file_and_stores_nothing(runner, app, demo_server):
    server, base_url = demo_server
    server.files["/Data/HawleyMO.csv"] = server.files["/Data/HawleyMO.csv"][:-100]
    result = runner.invoke(args=["demo", "--base-url", base_url])
    assert result.exit_code == 1
    assert "HawleyMO.csv" in result.output
    assert counts(app) == (0, 0)


@pytest.mark.stand_in_vectors
def test_demo_from_the_page_needs_the_admin_password_and_credits_the_source(make_app, fake_x, demo_server):
    _, base_url = demo_server
    app = make_app(X_API_URL=fake_x.url, DEMO_BASE_URL=base_url)
    client = app.test_client()
    refused = client.post("/demo", data={"admin_password": "guess"})
    assert refused.status_code == 403 and counts(app) == (0, 0)
    response = client.post("/demo", data={"admin_password": ADMIN}, follow_redirects=True)
    assert [r.status_code for r in response.history] == [303]
    html = response.get_data(as_text=True)
    assert "Imported 6 accounts" in html and "btderr02" in html and "MIT License" in html
    assert counts(app)[0] == 6
