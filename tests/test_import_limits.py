"""Odd and oversized import data (issue 17, findings 4 and 11): each is a 400 or 413 that names the row or
field, from the reader and through the upload, and nothing is stored."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from twitapp.exceptions import ImportFailed, UploadTooLarge
from twitapp.sources import read_archive, read_csv

from .archive_factory import archive_note, archive_tweet, build_archive, ytd_js
from .helpers import ADMIN

WHEN = datetime(2022, 3, 1, 12, tzinfo=UTC)


def csv(*rows: str, header: str = "author,tweet_id,created_at,text") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def archive(tweets=None, display="Jane", account_id="42", notes=()) -> bytes:
    tweets = tweets if tweets is not None else [archive_tweet("1001", "hello there", WHEN)]
    return build_archive("jane", account_id, display, tweets, note_tweets=notes)


def deep_tweets_js(depth: int) -> bytes:
    """A tweets.js whose one entry is nested ``depth`` lists deep."""
    return b"window.YTD.tweets.part0 = [" + b"[" * depth + b"]" * depth + b"]"


CSV_CASES = {
    "id over 40 characters": (csv(f"jane,{'7' * 41},2022-01-01T00:00:00Z,hi"), "Line 2", "id"),
    "id with a NUL": (csv("jane,12\x0034,2022-01-01T00:00:00Z,hi"), "Line 2", "id"),
    "date past year 9999 in UTC": (csv("jane,1,9999-12-31T23:59:59-01:00,hi"), "Line 2", "out of range"),
    "year 1 at +01:00": (csv("jane,1,0001-01-01T00:30:00+01:00,hi"), "Line 2", "out of range"),
    "text over 25,000 characters": (csv(f"jane,1,2022-01-01T00:00:00Z,{'a' * 25_001}"), "Line 2", "25,000"),
    "authors differing only by case": (
        csv("jane,1,2022-01-01T00:00:00Z,hi", "JANE,2,2022-01-01T00:00:00Z,ho"),
        "",
        "jane",
    ),
}


@pytest.mark.parametrize("case", CSV_CASES, ids=list(CSV_CASES))
def test_odd_csv_fields_are_refused_naming_the_line(case):
    data, where, what = CSV_CASES[case]
    with pytest.raises(ImportFailed) as info:
        read_csv(data, "posts.csv")
    message = info.value.message.lower()
    assert where.lower() in message and what.lower() in message
    assert info.value.status in (400, 413)


ARCHIVE_CASES = {
    "display name over 100 characters": (lambda: archive(display="N" * 101), "100"),
    "accountId over 40 characters": (lambda: archive(account_id="9" * 41), "accountId"),
    "id_str of 100 digits": (lambda: archive([archive_tweet("1" * 100, "hi", WHEN)]), "id"),
    "a lone surrogate in a text": (lambda: archive([archive_tweet("1001", "bad \ud800 text", WHEN)]), "surrogate"),
    "a note whose createdAt overflows": (
        lambda: archive(
            notes=[{"noteTweet": {**archive_note("5", "x", WHEN)["noteTweet"], "createdAt": "9999-12-31T23:59:60Z"}}]
        ),
        "createdAt",
    ),
}


@pytest.mark.parametrize("case", ARCHIVE_CASES, ids=list(ARCHIVE_CASES))
def test_odd_archive_fields_are_refused_naming_the_field(case):
    build, what = ARCHIVE_CASES[case]
    with pytest.raises(ImportFailed) as info:
        read_archive(build(), "archive.zip")
    assert what.lower() in info.value.message.lower() and info.value.status == 400


def test_json_nested_200000_deep_is_a_clear_refusal_not_a_crash():
    with pytest.raises(ImportFailed, match="nested too deeply"):
        read_archive(deep_tweets_js(200_000), "tweets.js", username="jane")


def test_posts_past_the_per_account_cap_refuse_the_whole_file():
    rows = [f"jane,{i},2022-01-01T00:00:00Z,post {i}" for i in range(12)]
    with pytest.raises(UploadTooLarge, match=r"more than 10 posts by @jane.*MAX_POSTS_PER_ACCOUNT"):
        read_csv(csv(*rows), "posts.csv", max_posts=10)
    assert len(read_csv(csv(*rows[:10]), "posts.csv", max_posts=10)[0].tweets) == 10


def test_archive_posts_past_the_cap_are_refused():
    tweets = [archive_tweet(str(1000 + i), f"post {i}", WHEN) for i in range(6)]
    with pytest.raises(UploadTooLarge, match="MAX_POSTS_PER_ACCOUNT"):
        read_archive(ytd_js("tweets", 0, tweets), "tweets.js", username="jane", max_posts=5)


@pytest.mark.parametrize(
    ("data", "name", "status", "words"),
    [
        (CSV_CASES["id over 40 characters"][0], "posts.csv", 400, "Line 2"),
        (CSV_CASES["date past year 9999 in UTC"][0], "posts.csv", 400, "out of range"),
        (ARCHIVE_CASES["display name over 100 characters"][0](), "archive.zip", 400, "100"),
        (deep_tweets_js(200_000), "tweets.js", 400, "nested too deeply"),
        (csv(*[f"jane,{i},2022-01-01T00:00:00Z,p{i}" for i in range(4)]), "posts.csv", 413, "MAX_POSTS_PER_ACCOUNT"),
    ],
    ids=["csv-id", "csv-date", "archive-name", "deep-json", "posts-cap"],
)
def test_odd_uploads_get_a_clear_status_and_store_nothing(make_app, fake_x, data, name, status, words):
    from sqlalchemy import func, select

    from twitapp.extensions import db
    from twitapp.models import Account, Tweet

    app = make_app(X_API_URL=fake_x.url, MAX_POSTS_PER_ACCOUNT=3)
    response = app.test_client().post(
        "/import",
        data={"file": (io.BytesIO(data), name), "account": "jane", "admin_password": ADMIN},
        content_type="multipart/form-data",
    )
    assert response.status_code == status and words in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 0
        assert db.session.scalar(select(func.count()).select_from(Tweet)) == 0
