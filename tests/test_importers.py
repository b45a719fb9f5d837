"""The DB-free readers of tweet archives, CSV files and the demo set."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from twitapp.exceptions import DownloadFailed, ImportFailed, InvalidHandle, UploadTooLarge
from twitapp.sources import (
    DEFAULT_DEMO_BASE_URL,
    DEMO_COMMIT,
    DEMO_CREDIT,
    DEMO_HANDLES,
    DEMO_SHA256,
    fetch_demo,
    read_archive,
    read_csv,
    validate_handle,
)
from twitapp.sources import demo as demo_module

from .archive_factory import archive_note, archive_tweet, build_archive, ytd_js
from .helpers import DEMO_SOURCE, NO_SHARED, SENATE_CSV

T0 = datetime(2020, 6, 6, 13, 2, 35, tzinfo=UTC)
LONG_TEXT = "Long post: " + "every word counts here. " * 30  # over 280 characters


def sample_tweets() -> list[dict]:
    return [
        archive_tweet("1001", "Fish & chips <3 > all", T0),
        archive_tweet("1002", "RT @friend: their words, not mine", T0 + timedelta(hours=1)),
        archive_tweet("1003", "@someone I agree.\nSecond line.", T0 + timedelta(hours=2), in_reply_to="777"),
        archive_tweet("1004", LONG_TEXT[:270] + "… https://t.co/AbC123", T0 + timedelta(hours=3)),
        archive_tweet("1005", "A plain one", T0 + timedelta(days=1)),
    ]


def zip_of(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def account_js(username: str = "jane_doe") -> bytes:
    return ytd_js(
        "account",
        0,
        [
            {
                "account": {
                    "username": username,
                    "accountId": "42",
                    "accountDisplayName": "Jane",
                    "email": "j@example.com",
                }
            }
        ],
    )


# --- handles -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected", [("SenWarren", "SenWarren"), ("  @jane_doe ", "jane_doe"), ("a" * 15, "a" * 15)]
)
def test_validate_handle_accepts_and_cleans(raw, expected):
    assert validate_handle(raw) == expected


@pytest.mark.parametrize("raw", ["", "@", "a" * 16, "jane doe", "jane-doe", "@@jane", "ñandú"])
def test_validate_handle_refuses(raw):
    with pytest.raises(InvalidHandle, match="X username"):
        validate_handle(raw)


# --- archive: good input ------------------------------------------------------------------------------


@pytest.mark.parametrize("parts", [1, 3])
def test_archive_zip_is_read_in_full(parts):
    # the note was saved two seconds before the tweet: only its text (after "… https://t.co/…") links them
    notes = [archive_note("n1", LONG_TEXT, T0 + timedelta(hours=3, seconds=-2))]
    data = build_archive("jane_doe", "12345", "Jane & Co", sample_tweets(), notes, parts=parts)

    account = read_archive(data, "twitter-2024.zip")

    assert (account.username, account.source, account.x_user_id, account.name) == (
        "jane_doe",
        "archive",
        "12345",
        "Jane & Co",
    )
    by_id = {tweet.id: tweet for tweet in account.tweets}
    assert sorted(by_id) == ["1001", "1002", "1003", "1004", "1005"]
    assert by_id["1001"].text == "Fish & chips <3 > all"
    assert by_id["1001"].created_at == T0 and by_id["1001"].created_at.tzinfo is UTC
    assert by_id["1002"].is_retweet and not by_id["1002"].is_reply
    assert by_id["1003"].is_reply and not by_id["1003"].is_retweet
    assert by_id["1003"].text == "@someone I agree.\nSecond line."
    assert by_id["1004"].text == LONG_TEXT
    assert by_id["1005"].text == "A plain one"
    assert "example.com" not in repr(account)


def test_archive_older_tweet_js_name_and_top_folder():
    data = build_archive("jane_doe", "1", "Jane", sample_tweets(), parts=2, tweets_name="tweet")
    with zipfile.ZipFile(io.BytesIO(data)) as original:
        rezipped = zip_of({f"twitter-2019/{n}": original.read(n) for n in original.namelist()})

    for blob in (data, rezipped):
        assert len(read_archive(blob, "archive.zip").tweets) == 5


def test_archive_single_tweets_js_needs_the_username():
    raw = ytd_js("tweets", 0, sample_tweets())

    account = read_archive(raw, "tweets.js", username="@Jane_Doe")
    assert account.username == "Jane_Doe" and account.x_user_id is None and len(account.tweets) == 5

    with pytest.raises(ImportFailed, match="give the account name"):
        read_archive(raw, "tweets.js")
    with pytest.raises(InvalidHandle):
        read_archive(raw, "tweets.js", username="not a handle")


def test_archive_accepts_a_file_object_and_bare_2019_entries():
    bare = [entry["tweet"] for entry in sample_tweets()]
    account = read_archive(io.BytesIO(ytd_js("tweet", 0, bare)), "tweet.js", username="jane")
    assert [t.id for t in account.tweets] == ["1001", "1002", "1003", "1004", "1005"]


def test_archive_username_must_match_account_js():
    data = build_archive("jane_doe", "1", "Jane", sample_tweets())
    assert read_archive(data, "a.zip", username="JANE_DOE").username == "jane_doe"
    with pytest.raises(ImportFailed, match="belongs to @jane_doe, not @someone_else"):
        read_archive(data, "a.zip", username="someone_else")


def test_archive_without_account_js_uses_the_given_username():
    data = zip_of({"data/tweets.js": ytd_js("tweets", 0, sample_tweets())})
    assert read_archive(data, "a.zip", username="jane").username == "jane"
    with pytest.raises(ImportFailed, match=r"no data/account\.js"):
        read_archive(data, "a.zip")


def test_note_matched_by_same_second_when_the_prefix_differs():
    # the truncated tweet shows a t.co link where the note has the real URL: only the time links them
    tweet = archive_tweet("5", "See https://t.co/xyz and " + "more " * 60, T0)
    note = archive_note("n", "See https://example.org/page and " + "more " * 80, T0)
    other = archive_note("m", "Unrelated long post " * 20, T0 + timedelta(minutes=1))
    data = build_archive("jane", "1", "J", [tweet], [other, note])
    assert read_archive(data, "a.zip").tweets[0].text.startswith("See https://example.org/page")


def test_note_not_matched_by_a_short_prefix_far_in_time():
    tweets = [archive_tweet("1", "Thank you", T0), archive_tweet("2", "Thank you", T0 + timedelta(days=2))]
    note = archive_note("n", "Thank you to everyone " * 20, T0 + timedelta(days=2))
    texts = [t.text for t in read_archive(build_archive("jane", "1", "J", tweets, [note]), "a.zip").tweets]
    assert texts[0] == "Thank you" and texts[1].startswith("Thank you to everyone")


# --- archive: bad input --------------------------------------------------------------------------------


def test_archive_not_a_zip():
    with pytest.raises(ImportFailed, match="not a zip file"):
        read_archive(b"this is a text file", "archive.zip")


def test_archive_corrupt_zip():
    data = build_archive("jane", "1", "J", sample_tweets())
    with pytest.raises(ImportFailed, match="damaged or incomplete zip"):
        read_archive(data[: len(data) // 2], "archive.zip")


def test_archive_corrupt_member():
    data = bytearray(zip_of({"data/tweets.js": ytd_js("tweets", 0, sample_tweets()) * 5}))
    data[100:140] = b"\x00" * 40  # inside the compressed tweets.js
    with pytest.raises(ImportFailed, match="cannot be read"):
        read_archive(bytes(data), "archive.zip", username="jane")


def test_archive_without_tweets_file():
    data = zip_of({"data/account.js": account_js(), "Your archive.html": "<html/>"})
    with pytest.raises(ImportFailed, match=r"no data/tweets\.js file; upload the \.zip exactly as X gave it"):
        read_archive(data, "archive.zip")


@pytest.mark.parametrize(
    "bad_name", ["../evil.js", "data/../../evil.js", "/etc/evil.js", "C:/evil.js", "data\\..\\..\\evil.js"]
)
def test_archive_zip_slip_refused(bad_name):
    data = zip_of({"data/tweets.js": ytd_js("tweets", 0, sample_tweets()), bad_name: "x"})
    with pytest.raises(ImportFailed, match="points outside it"):
        read_archive(data, "archive.zip", username="jane")


def test_archive_zip_bomb_refused_by_declared_size():
    bomb = b"window.YTD.tweets.part0 = [" + b" " * 5_000_000 + b"]"
    data = zip_of({"data/tweets.js": bomb})
    assert len(data) < 50_000
    with pytest.raises(UploadTooLarge, match="larger than the limit of 1 MB"):
        read_archive(data, "archive.zip", username="jane", max_uncompressed=1024 * 1024)
    assert read_archive(
        zip_of({"data/tweets.js": ytd_js("tweets", 0, sample_tweets())}),
        "a.zip",
        username="jane",
        max_uncompressed=1024 * 1024,
    ).tweets


def test_archive_zip_understating_its_size_refused():
    """Headers claiming 100 bytes for a 5 MB member pass the declared-size check but are still refused
    (CPython's zipfile stops at the declared size and fails the CRC; the reader also counts real bytes)."""
    content = b"window.YTD.tweets.part0 = [" + b" " * 5_000_000 + b"]"
    data = bytearray(zip_of({"data/tweets.js": content}))
    real = len(content).to_bytes(4, "little")
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature) + offset
        assert data[at : at + 4] == real
        data[at : at + 4] = (100).to_bytes(4, "little")
    with pytest.raises(ImportFailed):
        read_archive(bytes(data), "archive.zip", username="jane", max_uncompressed=1024 * 1024)


def test_archive_lone_js_over_the_limit():
    with pytest.raises(UploadTooLarge):
        read_archive(ytd_js("tweets", 0, sample_tweets()), "tweets.js", username="jane", max_uncompressed=100)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"var tweets = []", "does not start like a file from an X archive"),
        (b'[{"tweet": {}}]', "does not start like a file from an X archive"),
        (b'window.YTD.tweets.part0 = [{"tweet": ', "not valid JSON"),
        (b"window.YTD.tweets.part0 = {}", "should hold a list"),
        (b"window.YTD.account.part0 = []", "“account” data, not tweets"),
        (b'window.YTD.tweets.part0 = [{"tweet": {"id_str": "1"}}]', "lacks its id_str, full_text or created_at"),
        ('window.YTD.tweets.part0 = ["é"]'.encode("latin-1"), "not UTF-8"),
        (b"   \n", "is empty"),
        (b"", "is empty"),
    ],
)
def test_archive_malformed_tweets_js(content, message):
    with pytest.raises(ImportFailed, match=message):
        read_archive(content, "tweets.js", username="jane")
    if content.strip():
        with pytest.raises(ImportFailed, match=message):
            read_archive(zip_of({"data/tweets.js": content, "data/account.js": account_js()}), "a.zip")


def test_archive_bad_date():
    entry = archive_tweet("1", "hi", T0)
    entry["tweet"]["created_at"] = "2020-06-06 13:02:35"
    with pytest.raises(ImportFailed, match="unreadable date"):
        read_archive(ytd_js("tweets", 0, [entry]), "tweets.js", username="jane")


def test_archive_damaged_note_tweet():
    data = zip_of(
        {
            "data/tweets.js": ytd_js("tweets", 0, sample_tweets()),
            "data/note-tweet.js": ytd_js("note_tweet", 0, [{"noteTweet": {"core": {}}}]),
        }
    )
    with pytest.raises(ImportFailed, match=r"Long post 1 in data/note-tweet\.js"):
        read_archive(data, "a.zip", username="jane")


@pytest.mark.parametrize(
    "tweets, message",
    [
        ([], "no original tweets \\(no tweets at all\\)"),
        ([archive_tweet("1", "RT @a: b", T0)], "no original tweets \\(only retweets\\)"),
    ],
)
def test_archive_without_original_tweets(tweets, message):
    with pytest.raises(ImportFailed, match=message):
        read_archive(build_archive("jane", "1", "J", tweets), "a.zip")


# --- CSV ----------------------------------------------------------------------------------------------

MULTI = (
    "author,tweet_id,created_at,text\n"
    "alice,11,2021-01-03T02:30:07Z,Hello &amp; welcome\n"
    'bob,,2021-01-04 10:00:00+00:00,"two\nlines"\n'
    "alice,12,2021-01-05T10:00:00+02:00,RT @bob: quoted\n"
    "bob,13,2021-01-06T00:00:00,\n"
    "alice,14,,   \n"
)


def test_csv_many_authors():
    accounts = read_csv(MULTI.encode(), "t.csv")

    assert [(a.username, a.source, a.skipped_empty) for a in accounts] == [("alice", "csv", 1), ("bob", "csv", 1)]
    alice, bob = accounts
    assert [t.id for t in alice.tweets] == ["11", "12"]
    assert alice.tweets[0].text == "Hello & welcome"
    assert alice.tweets[0].created_at == datetime(2021, 1, 3, 2, 30, 7, tzinfo=UTC)
    assert alice.tweets[1].created_at == datetime(2021, 1, 5, 8, 0, tzinfo=UTC)
    assert alice.tweets[1].is_retweet and not alice.tweets[0].is_retweet
    assert bob.tweets[0].text == "two\nlines"
    assert bob.tweets[0].created_at == datetime(2021, 1, 4, 10, 0, tzinfo=UTC)
    assert bob.tweets[0].id.startswith("csv-") and len(bob.tweets[0].id) == 24


def test_csv_account_filters_an_author_column():
    [alice] = read_csv(MULTI.encode(), "t.csv", account="@ALICE")
    assert alice.username == "alice" and [t.id for t in alice.tweets] == ["11", "12"]
    with pytest.raises(ImportFailed, match="no rows by @carol"):
        read_csv(MULTI.encode(), "t.csv", account="carol")


def test_csv_single_account_bom_gzip_demo_header():
    body = '\ufeffDatetime,Text\n2023-01-02 22:02:43+00:00,"Caps &amp; limits\r\nsecond"\n2023-01-01 00:00:00+00:00,x\n'
    plain = read_csv(body.encode("utf-8"), "SenX.csv", account="SenX")
    zipped = read_csv(gzip.compress(body.encode("utf-8")), "no-gz-suffix.csv", account="SenX")

    assert plain == zipped
    [account] = plain
    assert account.username == "SenX"
    assert account.tweets[0].text == "Caps & limits\r\nsecond"
    assert account.tweets[0].created_at == datetime(2023, 1, 2, 22, 2, 43, tzinfo=UTC)


def test_csv_ids_are_stable_and_depend_on_account_time_and_text():
    body = b"created_at,text\n2021-01-01T00:00:00Z,same\n2021-01-01T00:00:01Z,same\n,no date\n"
    first = read_csv(body, "a.csv", account="Jane")[0].tweets
    second = read_csv(io.BytesIO(body), "a.csv", account="jane")[0].tweets
    other = read_csv(body, "a.csv", account="john")[0].tweets

    assert [t.id for t in first] == [t.id for t in second]
    assert len({t.id for t in first}) == 3
    assert not {t.id for t in first} & {t.id for t in other}


def test_csv_without_dates_gets_the_reading_time():
    before = datetime.now(UTC)
    [account] = read_csv(b"TEXT\nhello\n", "a.csv", account="jane")
    assert before <= account.tweets[0].created_at <= datetime.now(UTC)


@pytest.mark.parametrize(
    "content, account, error, message",
    [
        (b"author,body\nalice,hi\n", None, ImportFailed, "no “text” column"),
        (b"text\nhi\n", None, ImportFailed, "no “author” column"),
        ("author,text\nalice,caf\xe9\n".encode("latin-1"), None, ImportFailed, "not UTF-8 text"),
        ("text\nhi\n".encode("utf-16"), "jane", ImportFailed, "not UTF-8 text"),
        (b"", None, ImportFailed, "is empty"),
        (gzip.compress(b"", mtime=0), None, ImportFailed, "is empty"),
        (gzip.compress(b"author,text\nalice,hi\n", mtime=0)[:-10], None, ImportFailed, "damaged or incomplete gzip"),
        (b"author,text\n", None, ImportFailed, "holds no tweets"),
        (b"author,text\nalice,\n", None, ImportFailed, "holds no tweets"),
        (b"author,text\nalice,RT @bob: x\n", None, ImportFailed, "no original tweets"),
        (b"author,text\nnot a handle,hi\n", None, InvalidHandle, "not a valid X username"),
        (b"author,text\n,hi\n", None, ImportFailed, "Line 2 has an empty author"),
        (b"author,text\nalice\n", None, ImportFailed, "Line 2 of t.csv has 1 fields"),
        (b"created_at,text\nyesterday,hi\n", "jane", ImportFailed, "Line 2: “yesterday” is not a date"),
        (b"text\nhi\n", "bad handle!", InvalidHandle, "not a valid X username"),
        (b'author,text\nalice,"unclosed\n', None, ImportFailed, "not a readable CSV"),
    ],
)
def test_csv_bad_input(content, account, error, message):
    with pytest.raises(error, match=message):
        read_csv(content, "t.csv", account=account)


def test_csv_gzip_bomb_stops_at_the_limit():
    bomb = gzip.compress(b"author,text\n" + (b"alice," + b"x" * 1000 + b"\n") * 2000)
    with pytest.raises(UploadTooLarge, match="larger than 1 MB once uncompressed"):
        read_csv(bomb, "t.csv.gz", max_uncompressed=1024 * 1024)


def test_csv_demo_source_files():
    counts = {}
    for handle in DEMO_HANDLES:
        [account] = read_csv((DEMO_SOURCE / f"{handle}.csv").read_bytes(), f"{handle}.csv", account=handle)
        counts[handle] = len(account.tweets)
        assert all(t.created_at.tzinfo is UTC for t in account.tweets)
        assert not any("&amp;" in t.text for t in account.tweets)
    assert counts == {
        "SenWarren": 2511,
        "marcorubio": 1998,
        "ChuckGrassley": 2408,
        "SenSchumer": 3096,
        "HawleyMO": 1408,
        "SenBooker": 1213,
    }


@pytest.mark.skipif(not SENATE_CSV.is_file(), reason=NO_SHARED)
def test_csv_shared_senate_file_reads_every_account():
    with SENATE_CSV.open("rb") as handle:
        accounts = read_csv(handle, SENATE_CSV.name)

    assert len(accounts) == 67
    assert sum(len(a.tweets) for a in accounts) == 137_605


# --- demo download -------------------------------------------------------------------------------------


def test_demo_constants_match_the_shipped_checksums():
    assert DEMO_COMMIT in DEFAULT_DEMO_BASE_URL and DEMO_COMMIT in DEMO_CREDIT and "MIT" in DEMO_CREDIT
    assert set(DEMO_SHA256) == set(DEMO_HANDLES)
    listed = dict(line.split()[::-1] for line in (DEMO_SOURCE / "SHA256SUMS").read_text().splitlines())
    assert {f"{h}.csv": digest for h, digest in DEMO_SHA256.items()} == listed
    for name, digest in listed.items():  # and the copy in tests/data is byte for byte the one they name
        assert hashlib.sha256((DEMO_SOURCE / name).read_bytes()).hexdigest() == digest


def test_demo_download(demo_server):
    _, base_url = demo_server
    seen = []
    accounts = fetch_demo(base_url + "/", progress=seen.append, timeout=5)

    assert seen == list(DEMO_HANDLES)
    assert [a.username for a in accounts] == list(DEMO_HANDLES)
    assert {a.source for a in accounts} == {"demo"}
    assert sum(len(a.tweets) for a in accounts) == 12_634


def _refused(base_url, monkeypatch, message):
    parsed = []
    monkeypatch.setattr(demo_module, "read_csv", lambda *a, **k: parsed.append(a) or [])
    with requests.Session() as session, pytest.raises(DownloadFailed, match=message):
        fetch_demo(base_url, session=session, timeout=5)
    assert parsed == []  # nothing parsed, so nothing can be stored


def test_demo_corrupted_file_refused(demo_server, monkeypatch):
    server, base_url = demo_server
    body = bytearray(server.files["/Data/SenBooker.csv"])
    body[500] ^= 1
    server.files["/Data/SenBooker.csv"] = bytes(body)
    _refused(base_url, monkeypatch, "SenBooker.csv does not match its expected SHA-256")


def test_demo_truncated_file_refused(demo_server, monkeypatch):
    server, base_url = demo_server
    server.files["/Data/HawleyMO.csv"] = server.files["/Data/HawleyMO.csv"][:-100]
    _refused(base_url, monkeypatch, "HawleyMO.csv does not match its expected SHA-256")


def test_demo_connection_cut_short_refused(demo_server, monkeypatch):
    server, base_url = demo_server
    server.short.add("/Data/marcorubio.csv")
    _refused(base_url, monkeypatch, "Could not download marcorubio.csv")


def test_demo_missing_file_refused(demo_server, monkeypatch):
    server, base_url = demo_server
    del server.files["/Data/ChuckGrassley.csv"]
    _refused(base_url, monkeypatch, "ChuckGrassley.csv .* HTTP 404")


def test_demo_server_down_refused(monkeypatch):
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]  # bound then closed: nothing listens there
    _refused(f"http://127.0.0.1:{port}/Data", monkeypatch, "Could not download SenWarren.csv")


def test_archive_javascript_is_never_evaluated():
    """The prefix is stripped, not executed: a function call in place of the list is invalid JSON."""
    payload = b"window.YTD.tweets.part0 = alert(1)"
    with pytest.raises(ImportFailed, match="not valid JSON"):
        read_archive(payload, "tweets.js", username="jane")
