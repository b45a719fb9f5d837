"""Issue 19, "Archives of the other platforms": a Mastodon archive (.zip) and a Bluesky repository export
(.car) import like an X archive, through the service, the page (with its CSRF token), the API and the CLI;
their accounts carry their platform and handle, so a later fetch of that handle meets the same account."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from twitapp import runtime
from twitapp.exceptions import AccountConflict, ImportFailed
from twitapp.extensions import db
from twitapp.models import Account, Tweet
from twitapp.services.file_import import import_accounts, read_upload
from twitapp.services.ingest import ingest_from
from twitapp.sources.records import merged

from .helpers import counts, csrf_token
from .other_archive_factory import (
    bluesky_post,
    bluesky_profile,
    bluesky_repost,
    build_bluesky_repo,
    build_mastodon_archive,
    link_facet,
    mastodon_boost,
    mastodon_note,
)

WHEN = datetime(2024, 3, 1, 12, tzinfo=UTC)
ALICE = "alice@mastodon.example"
BOB = "bob.bsky.social"
DID = "did:plc:bobbobbobbobbobbobbobbob"
LIMIT = 512 * 1024 * 1024
LINK = '<a href="https://example.com/a/long/path" rel="nofollow noopener" target="_blank">example.com/a/lo…</a>'
MENTION = (
    '<span class="h-card"><a href="https://mastodon.example/@carol" class="u-url mention">'
    "@<span>carol</span></a></span>"
)


def mastodon_zip(originals: int = 5) -> bytes:
    """``originals`` public posts plus one of each kind left out or counted: unlisted (kept), behind a
    content warning (kept, the warning left out), followers-only, direct, a reply, a boost."""
    notes = [
        mastodon_note(
            str(110_000 + i),
            f"<p>Post {i} on the farm bill, hi {MENTION}</p><p>see {LINK}</p>",
            WHEN + timedelta(hours=i),
        )
        for i in range(originals)
    ]
    notes += [
        mastodon_note("120001", "<p>an unlisted post</p>", WHEN, visibility="unlisted"),
        mastodon_note("120002", "<p>the body under a warning</p>", WHEN, warning="spoilers about the vote"),
        mastodon_note("120003", "<p>for followers only</p>", WHEN, visibility="private"),
        mastodon_note("120004", "<p>a direct message</p>", WHEN, visibility="direct"),
        mastodon_note(
            "120005", "<p>a reply to someone</p>", WHEN, reply_to="https://other.example/users/bob/statuses/1"
        ),
        mastodon_boost("120006", WHEN),
    ]
    return build_mastodon_archive("alice", "mastodon.example", notes)


def bluesky_car(originals: int = 5) -> bytes:
    """``originals`` posts with a link facet, a quote post, a reply (left out), a repost (counted), the profile
    and a like (neither a post)."""
    records = [bluesky_profile("Bob B.")]
    for i in range(originals):
        text = f"Post {i} about the farm bill, see example.com/x"
        facets = [link_facet(text, "example.com/x", "https://example.com/x/full")]
        records.append(bluesky_post(f"3kaaaaaaaa{i:03d}", text, WHEN + timedelta(hours=i), facets=facets))
    quote = {"$type": "app.bsky.embed.record", "record": {"uri": "at://did:plc:o/app.bsky.feed.post/3k", "cid": "b"}}
    records += [
        bluesky_post("3kbbbbbbbb001", "my own words on a quote", WHEN, embed=quote),
        bluesky_post("3kbbbbbbbb002", "a reply", WHEN, reply=True),
        bluesky_repost("3kbbbbbbbb003", WHEN),
        ("app.bsky.feed.like/3kbbbbbbbb004", {"$type": "app.bsky.feed.like", "createdAt": "2024-03-01T00:00:00Z"}),
    ]
    return build_bluesky_repo(DID, records)


def texts(app, handle: str) -> list[str]:
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.username == handle)).one()
        return sorted(db.session.scalars(select(Tweet.text).where(Tweet.account_id == account.id)))


def account_row(app, handle: str) -> tuple:
    with app.app_context():
        a = db.session.scalars(select(Account).where(Account.username == handle)).one()
        return (a.id, a.platform, a.username, a.source, a.name, a.tweet_count)


def import_file(app, data: bytes, filename: str, account: str | None = None):
    with app.app_context():
        batches = read_upload(io.BytesIO(data), filename, account, LIMIT)
        return import_accounts(db.session, batches, runtime.embedder())


# --- through the service ---------------------------------------------------------------------------------


def test_a_mastodon_archive_imports_its_public_original_posts_as_a_reader_sees_them(app):
    summary = import_file(app, mastodon_zip(), "archive-20240301.zip")

    assert summary.summary() == (
        f"Imported 1 account (@{ALICE}): 7 posts added; skipped 1 reposts, 0 already stored, 0 empty."
    )
    key, platform, handle, source, name, count = account_row(app, ALICE)
    assert (platform, handle, source, name, count) == ("mastodon", ALICE, "archive", "Alice", 7)
    assert key.startswith("archive:")
    stored = texts(app, ALICE)
    assert "Post 0 on the farm bill, hi @carol\n\nsee https://example.com/a/long/path" in stored
    assert "an unlisted post" in stored and "the body under a warning" in stored
    joined = " ".join(stored)
    for left_out in ("spoilers", "followers only", "direct message", "reply to someone", "<p>", "example.com/a/lo…"):
        assert left_out not in joined
    with app.app_context():
        ids = set(db.session.scalars(select(Tweet.id)))
    assert "110000" in ids  # the status id, as the fetch knows it


def test_a_bluesky_repository_imports_its_original_posts_with_links_written_out(app):
    summary = import_file(app, bluesky_car(), "repo.car", account="@Bob.bsky.social")

    assert (
        summary.summary()
        == f"Imported 1 account (@{BOB}): 6 posts added; skipped 1 reposts, 0 already stored, 0 empty."
    )
    assert account_row(app, BOB) == (f"archive:{DID}", "bluesky", BOB, "archive", "Bob B.", 6)
    stored = texts(app, BOB)
    assert "Post 3 about the farm bill, see https://example.com/x/full" in stored
    assert "my own words on a quote" in stored and "a reply" not in stored
    with app.app_context():
        assert "3kaaaaaaaa003" in set(db.session.scalars(select(Tweet.id)))  # the record key, as the fetch's


def test_the_kind_is_told_by_content_not_by_name(app):
    import_file(app, mastodon_zip(), "download.bin")
    import_file(app, bluesky_car(), "export", account=BOB)
    assert counts(app) == (2, 13)


def test_importing_again_adds_nothing_and_counts_the_duplicates(app):
    import_file(app, bluesky_car(), "repo.car", account=BOB)
    with app.app_context():
        batches = read_upload(io.BytesIO(bluesky_car(8)), "repo.car", BOB, LIMIT)
        again = import_accounts(db.session, batches, runtime.embedder(), may_update=True)
    assert (again.added, again.total("skipped_duplicates")) == (3, 6)
    assert counts(app) == (1, 9)


def test_the_handle_given_must_be_the_archives_own(app):
    with pytest.raises(ImportFailed, match=r"belongs to @alice@mastodon\.example, not @mallory@mastodon\.example"):
        import_file(app, mastodon_zip(), "a.zip", account="mallory@mastodon.example")
    # an instance serving the accounts of the domain above it: alice@example.org, actor at social.example.org
    summary = import_file(
        app,
        build_mastodon_archive("alice", "social.example.org", [mastodon_note("1", "<p>hi</p>", WHEN)]),
        "a.zip",
        account="alice@example.org",
    )
    assert summary.results[0].username == "alice@example.org"


def test_a_bluesky_repository_without_its_handle_is_named_by_its_did(app):
    import_file(app, bluesky_car(), "repo.car")
    assert account_row(app, DID)[:3] == (f"archive:{DID}", "bluesky", DID)
    page = app.test_client().get(f"/accounts/{DID}")
    assert page.status_code == 200 and "Bob B." in page.get_data(as_text=True)


def test_a_repository_whose_did_is_no_handle_needs_one(app):
    car = build_bluesky_repo(
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", [bluesky_post("3k1", "hi", WHEN)]
    )
    with pytest.raises(ImportFailed, match="which does not hold its handle; give the account name"):
        import_file(app, car, "repo.car")
    assert counts(app) == (0, 0)


# --- the page, the API, the CLI ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "filename", "account", "handle", "added"),
    [
        (mastodon_zip, "archive.zip", "", ALICE, 7),
        (bluesky_car, "repo.car", BOB, BOB, 6),
    ],
    ids=["mastodon", "bluesky"],
)
def test_the_page_imports_each_kind_with_its_csrf_token(make_app, fake_x, make, filename, account, handle, added):
    app = make_app(X_API_URL=fake_x.url, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    form = {"file": (io.BytesIO(make()), filename), "account": account}
    assert client.post("/import", data=form, content_type="multipart/form-data").status_code == 400  # no token
    assert counts(app) == (0, 0)
    form = {"file": (io.BytesIO(make()), filename), "account": account, "csrf_token": csrf_token(client)}
    response = client.post("/import", data=form, content_type="multipart/form-data")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/accounts/{handle}")
    page = client.get(f"/accounts/{handle}").get_data(as_text=True)
    assert f"{added} posts added" in page and ("Mastodon" if "@" in handle else "Bluesky") in page
    assert counts(app) == (1, added)


@pytest.mark.parametrize(
    ("make", "filename", "account", "handle", "platform"),
    [
        (mastodon_zip, "archive.zip", None, ALICE, "mastodon"),
        (bluesky_car, "repo.car", BOB, BOB, "bluesky"),
    ],
    ids=["mastodon", "bluesky"],
)
def test_the_api_imports_each_kind(client, app, make, filename, account, handle, platform):
    form = {"file": (io.BytesIO(make()), filename)} | ({"account": account} if account else {})
    response = client.post("/api/imports", data=form, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()["imported"]
    assert body["platform"] == platform and body["skipped_reposts"] == 1
    [stored] = body["accounts"]
    assert (stored["handle"], stored["platform"], stored["source"]) == (handle, platform, "archive")

    form = {"file": (io.BytesIO(make()), filename)} | ({"account": account} if account else {})
    again = client.post("/api/imports", data=form, content_type="multipart/form-data")
    assert again.status_code == 409 and "already stored" in again.get_json()["error"]  # (adding needs the admin)


def test_the_api_says_what_is_missing(client):
    response = client.post("/api/imports", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "'file'" in response.get_json()["error"]


def test_the_cli_imports_each_kind_and_again_adds_nothing(runner, app, tmp_path):
    (tmp_path / "mastodon.zip").write_bytes(mastodon_zip())
    (tmp_path / "bluesky.car").write_bytes(bluesky_car())
    first = runner.invoke(args=["import", "archive", str(tmp_path / "mastodon.zip")])
    assert first.exit_code == 0, first.output
    assert f"@{ALICE}: 7 added" in first.output
    second = runner.invoke(args=["import", "archive", str(tmp_path / "bluesky.car"), "--account", BOB])
    assert second.exit_code == 0 and f"@{BOB}: 6 added" in second.output
    again = runner.invoke(args=["import", "archive", str(tmp_path / "bluesky.car"), "--account", BOB])
    assert again.exit_code == 0 and "0 posts added" in again.output and "6 already stored" in again.output
    assert counts(app) == (2, 13)


# --- the same handle fetched later ---------------------------------------------------------------------------


@pytest.fixture
def fetch_app(make_app, fake_x, fake_bluesky, fake_mastodon):
    return make_app(X_API_URL=fake_x.url, BLUESKY_API_URL=fake_bluesky.url, MASTODON_API_URL=fake_mastodon.url)


def test_fetching_an_imported_mastodon_handle_meets_the_imported_account(fetch_app, fake_mastodon):
    import_file(fetch_app, mastodon_zip(), "archive.zip")
    fake_mastodon.add_account(ALICE, fake_mastodon.make_posts(12))
    before = account_row(fetch_app, ALICE)
    with (
        fetch_app.app_context(),
        pytest.raises(AccountConflict, match=f"@{ALICE} is stored here from a Mastodon archive"),
    ):
        ingest_from(db.session, runtime.fetch_client("mastodon"), runtime.embedder(), ALICE, 3200)
    response = fetch_app.test_client().post("/api/accounts", json={"username": f"@{ALICE}"})
    assert response.status_code == 409 and "Mastodon archive" in response.get_json()["error"]
    assert not [r for r in fake_mastodon.requests if r["path"].endswith("/statuses")]  # refused before reading
    assert account_row(fetch_app, ALICE) == before and counts(fetch_app) == (1, 7)


def test_fetching_an_imported_bluesky_handle_meets_the_imported_account(fetch_app, fake_bluesky):
    import_file(fetch_app, bluesky_car(), "repo.car", account=BOB)
    fake_bluesky.add_actor(BOB, fake_bluesky.make_posts(12), did=DID)
    response = fetch_app.test_client().post("/api/accounts", json={"username": BOB})
    assert response.status_code == 409
    assert f"@{BOB} is stored here from a Bluesky repository export" in response.get_json()["error"]
    assert counts(fetch_app) == (1, 6)


def test_fetching_a_repository_imported_without_its_handle_meets_the_account_its_did_names(fetch_app, fake_bluesky):
    import_file(fetch_app, bluesky_car(), "repo.car")
    fake_bluesky.add_actor(BOB, fake_bluesky.make_posts(12), did=DID)
    client = fetch_app.test_client()
    for typed in (BOB, DID):
        response = client.post("/api/accounts", json={"username": typed, "platform": "bluesky"})
        assert response.status_code == 409, response.get_json()
        assert f"@{DID} is stored here from a Bluesky repository export" in response.get_json()["error"]
    assert counts(fetch_app) == (1, 6)


def test_a_repository_of_a_fetched_account_meets_it_by_its_did(fetch_app, fake_bluesky):
    fake_bluesky.add_actor("bob.example.com", fake_bluesky.make_posts(10), did=DID)
    client = fetch_app.test_client()
    assert client.post("/api/accounts", json={"username": "bob.example.com"}).status_code == 201
    for account in (None, BOB):  # named by its DID, or by another handle than the fetched one
        form = {"file": (io.BytesIO(bluesky_car()), "repo.car")} | ({"account": account} if account else {})
        response = client.post("/api/imports", data=form, content_type="multipart/form-data")
        assert response.status_code == 409 and "stored here as @bob.example.com" in response.get_json()["error"]
    assert counts(fetch_app) == (1, 10)


def test_an_archive_of_a_fetched_handle_meets_the_fetched_account(fetch_app, fake_mastodon, fake_bluesky):
    fake_mastodon.add_account(ALICE, fake_mastodon.make_posts(12))
    fake_bluesky.add_actor(BOB, fake_bluesky.make_posts(10), did=DID)
    client = fetch_app.test_client()
    for handle in (ALICE, BOB):
        assert client.post("/api/accounts", json={"username": handle}).status_code == 201
    for data, name, account, where in (
        (mastodon_zip(), "a.zip", None, "Mastodon"),
        (bluesky_car(), "r.car", BOB, "Bluesky"),
    ):
        form = {"file": (io.BytesIO(data), name)} | ({"account": account} if account else {})
        response = client.post("/api/imports", data=form, content_type="multipart/form-data")
        assert response.status_code == 409 and f"added from {where}" in response.get_json()["error"]
    assert counts(fetch_app) == (2, 22)
    with fetch_app.app_context():
        assert {a.source for a in db.session.scalars(select(Account))} == {"mastodon", "bluesky"}


def test_the_reader_alone_returns_whole_accounts():
    from twitapp.sources.bluesky_repo import stream_bluesky_repo
    from twitapp.sources.mastodon_archive import stream_mastodon_archive

    [alice] = merged(stream_mastodon_archive(mastodon_zip(), "a.zip"))
    [bob] = merged(stream_bluesky_repo(bluesky_car(), "r.car", BOB))
    assert (alice.platform, len(alice.tweets), bob.platform, len(bob.tweets)) == ("mastodon", 8, "bluesky", 7)
    assert sum(t.is_retweet for t in alice.tweets + bob.tweets) == 2


def test_a_did_names_a_bluesky_account():
    from twitapp.exceptions import InvalidHandle
    from twitapp.sources.handles import Handle, parse_handle, platform_of

    assert parse_handle(DID) == Handle("bluesky", DID) and platform_of(DID) == "bluesky"
    assert parse_handle("did:web:Bob.Example.com").name == "did:web:bob.example.com"
    for bad in ("did:plc:short", "did:key:z6Mk", "did:plc:" + "A" * 24):
        with pytest.raises(InvalidHandle):
            parse_handle(bad)


# --- as a background job ------------------------------------------------------------------------------------


def test_each_kind_imports_as_a_job_queued_in_redis(make_app, fake_x, redis_url, redis_db):
    from .test_jobs import run_queued

    app = make_app(X_API_URL=fake_x.url, REDIS_URL=redis_url)
    client = app.test_client()
    page = client.post(
        "/import", data={"file": (io.BytesIO(mastodon_zip()), "archive.zip")}, content_type="multipart/form-data"
    )
    assert page.status_code == 303 and "/jobs/import-" in page.headers["Location"]
    api = client.post(
        "/api/imports",
        data={"file": (io.BytesIO(bluesky_car()), "repo.car"), "account": BOB},
        content_type="multipart/form-data",
    )
    assert api.status_code == 202
    run_queued(app)
    for job_id in (page.headers["Location"].rsplit("/", 1)[1], api.get_json()["job"]["id"]):
        job = client.get(f"/api/jobs/{job_id}").get_json()["job"]
        assert job["status"] == "finished", job
    assert counts(app) == (2, 13)
    assert account_row(app, ALICE)[1] == "mastodon" and account_row(app, BOB)[1] == "bluesky"
