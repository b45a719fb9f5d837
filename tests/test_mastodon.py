"""Adding and updating accounts from a (fake) Mastodon instance: what is kept of an account's statuses and
how their HTML reads, every failure with its own message and nothing stored, and the same API, CLI, jobs
and guesses as X and Bluesky."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from twitapp import exceptions as errors
from twitapp import runtime
from twitapp.authorship.ngrams import URL_MARK, normalize
from twitapp.extensions import db
from twitapp.models import Account, Tweet
from twitapp.services.ingest import ingest_from
from twitapp.sources.mastodon import MastodonClient, account_key
from twitapp.sources.mastodon_html import visible_text

from .fake_mastodon import FakeMastodon, hashtag_html, link_html, mention_html
from .helpers import row_counts

ALICE = "alice@mastodon.social"


@pytest.fixture
def mapp(make_app, fake_x, fake_bluesky, fake_mastodon):
    return make_app(X_API_URL=fake_x.url, BLUESKY_API_URL=fake_bluesky.url, MASTODON_API_URL=fake_mastodon.url)


@pytest.fixture
def mctx(mapp):
    with mapp.app_context():
        yield mapp


def add(handle: str = ALICE, limit: int = 3200):
    return ingest_from(db.session, runtime.mastodon_client(), runtime.embedder(), handle, limit)


def status_requests(fake: FakeMastodon) -> list[dict]:
    return [r for r in fake.requests if r["path"].endswith("/statuses")]


def test_add_looks_up_the_account_and_reads_its_posts_in_pages_of_40(mctx, fake_mastodon):
    fake_mastodon.add_account(
        ALICE, FakeMastodon.make_posts(95), display_name="Alice A.", note="<p>Writes &amp; reads.</p>", followers=9
    )
    result = add("@Alice@Mastodon.Social")

    assert result.created and result.added == 95 and result.username == ALICE
    assert result.summary() == "Added @alice@mastodon.social from Mastodon: 95 new posts."
    account = db.session.scalars(select(Account)).one()
    remote = fake_mastodon.account(ALICE)
    assert account.id == f"m:mastodon.social:{remote['id']}"
    assert (account.platform, account.source, account.handle) == ("mastodon", "mastodon", ALICE)
    assert account.name == "Alice A."
    assert (account.description, account.followers_count, account.profile_tweet_count) == ("Writes & reads.", 9, 95)
    assert account.newest_tweet_id == remote["items"][-1]["id"] and account.can_update
    [lookup] = [r for r in fake_mastodon.requests if r["path"] == "/api/v1/accounts/lookup"]
    assert lookup["params"] == {"acct": "Alice"}  # the name as typed: the instance compares without case
    pages = status_requests(fake_mastodon)
    assert len(pages) == 3 and pages[0]["path"] == f"/api/v1/accounts/{remote['id']}/statuses"
    asked = {"exclude_reblogs": "true", "exclude_replies": "true", "limit": "40"}
    assert all({k: v for k, v in p["params"].items() if k != "max_id"} == asked for p in pages)
    assert "max_id" not in pages[0]["params"] and pages[1]["params"]["max_id"] == remote["items"][-40]["id"]
    assert all(r["authorization"] is None for r in fake_mastodon.requests)  # no auth, ever


def test_boosts_replies_private_and_empty_posts_are_left_out(mctx, fake_mastodon):
    posts = FakeMastodon.make_posts(8)
    posts[1]["reply"] = True
    posts[2]["reblog"] = True
    posts[3]["visibility"] = "private"
    posts[4]["visibility"] = "direct"
    posts[5]["visibility"] = "unlisted"
    posts[6]["content"] = "<p></p>"  # a picture alone
    fake_mastodon.add_account(ALICE, posts)
    # The fake sends private and direct posts as a logged-out reader never gets them: the client leaves them out.
    client = MastodonClient(fake_mastodon.url)
    user = client.get_user(ALICE)
    kept = client.get_tweets(user, 100)
    assert sorted(p.text for p in kept) == sorted(posts[i]["text"] for i in (0, 5, 7))
    assert add().added == 3


def test_content_warnings_are_left_out_and_html_reads_as_text(mctx, fake_mastodon):
    content = (
        f"<p>Hi {mention_html('bob', 'example.social')}, read {link_html('https://example.com/a/very/long/article-name?x=1')}"
        f" &amp; tell me {hashtag_html('Cats', 'mastodon.social')}</p><p>second line<br>third &lt;3</p>"
    )
    fake_mastodon.add_account(ALICE, [{"content": content, "text": "", "spoiler_text": "politics"}])
    add()
    [text] = db.session.scalars(select(Tweet.text))
    assert text == (
        "Hi @bob, read https://example.com/a/very/long/article-name?x=1 & tell me #Cats\n\nsecond line\nthird <3"
    )
    assert "politics" not in text
    assert normalize(text).count(URL_MARK) == 1  # one link mark, as an X post's t.co link gives


def test_visible_text_handles_odd_html():
    assert visible_text("") == ""
    assert visible_text("plain words") == "plain words"
    assert visible_text('<p>a <a href="mailto:x@y.z">write</a> <a href="https://a.b/c">a.b/…</a></p>') == (
        "a write https://a.b/c"
    )
    assert visible_text("<p>one</p><p></p><p>two</p>") == "one\n\ntwo"
    assert visible_text("<p>unclosed <b>bold") == "unclosed bold"


def test_the_limit_caps_the_posts_read_and_an_update_reads_only_newer_posts(mctx, fake_mastodon):
    fake_mastodon.add_account(ALICE, FakeMastodon.make_posts(100))
    assert add(limit=50).added == 50 and len(status_requests(fake_mastodon)) == 2
    newest = db.session.scalar(select(Account.newest_tweet_id))
    fake_mastodon.requests.clear()
    fake_mastodon.add_posts(ALICE, FakeMastodon.make_posts(45, start="2026-01-01T00:00:00Z", prefix="new"))
    result = add()
    assert result.added == 45 and not result.created and row_counts(db.session) == (1, 95)
    assert all(r["params"]["since_id"] == newest for r in status_requests(fake_mastodon))
    assert add().added == 0


def test_pagination_follows_the_link_header(mctx, fake_mastodon):
    fake_mastodon.add_account(ALICE, FakeMastodon.make_posts(85))
    add()
    pages = status_requests(fake_mastodon)
    items = fake_mastodon.account(ALICE)["items"]
    assert [p["params"].get("max_id") for p in pages] == [None, items[-40]["id"], items[-80]["id"]]


def test_the_home_instance_is_read_over_https_unless_an_api_url_is_set():
    assert MastodonClient().base_url("mastodon.social") == "https://mastodon.social"
    assert MastodonClient("http://127.0.0.1:5/").base_url("mastodon.social") == "http://127.0.0.1:5"
    assert account_key("Mastodon.social", "109") == "m:mastodon.social:109"
    long = account_key("a-very-long-instance-name.example.org", "109000000000000001")
    assert len(long) == 40 and long.startswith("m:sha1:")
    assert long == account_key("a-very-long-instance-name.example.org", "109000000000000001")


REFUSED = {
    "noindex": ({"noindex": True}, "asked not to be indexed"),
    "suspended": ({"suspended": True}, "has been suspended by mastodon.social"),
    "moved": ({"moved_to": "alice@new.example"}, "has moved to @alice@new.example"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_the_authors_choice_and_the_instances_are_respected(mctx, fake_mastodon, case):
    options, words = REFUSED[case]
    fake_mastodon.add_account(ALICE, FakeMastodon.make_posts(20), **options)
    with pytest.raises(errors.AccountUnavailable) as caught:
        add()
    assert words in caught.value.message
    assert status_requests(fake_mastodon) == [] and row_counts(db.session) == (0, 0)


def _rate_limited_later(fake: FakeMastodon) -> None:
    fake.fail(429, path_contains="/statuses", after=1)


FAILURES = {
    "unknown": (lambda f: None, errors.AccountNotFound, "mastodon.social has no account @alice@mastodon.social"),
    "auth required": (
        lambda f: setattr(f, "require_auth", True),
        errors.AccountUnavailable,
        "only to logged-in users (401: This method requires an authenticated user)",
    ),
    "403": (lambda f: f.fail(403, path_contains="lookup"), errors.AccountUnavailable, "only to logged-in users (403"),
    "statuses 404": (lambda f: f.fail(404, path_contains="/statuses"), errors.AccountNotFound, "no longer has"),
    "not mastodon": (
        lambda f: f.fail(404, "<html>nope</html>", path_contains="lookup"),
        errors.UpstreamError,
        "no Mastodon API",
    ),
    "gone": (lambda f: f.fail(410, path_contains="/statuses"), errors.AccountUnavailable, "suspended or deleted"),
    "429": (lambda f: f.fail(429, path_contains="lookup"), errors.RateLimited, "rate limit for this server is used up"),
    "500": (lambda f: f.fail(500, path_contains="/statuses"), errors.UpstreamError, "failed (500)"),
    "503": (lambda f: f.fail(503, path_contains="lookup"), errors.UpstreamError, "failed (503)"),
    "malformed": (lambda f: f.malformed(path_contains="lookup"), errors.UpstreamError, "malformed"),
    "not a list": (
        lambda f: f.fail(200, {"error": "?"}, path_contains="/statuses"),
        errors.UpstreamError,
        "malformed page",
    ),
    "reset": (lambda f: f.reset_connection(path_contains="lookup"), errors.UpstreamError, "network error"),
    "redirect": (
        lambda f: f.fail(301, "", path_contains="lookup", headers={"Location": "https://elsewhere.example/"}),
        errors.UpstreamError,
        "sent its API elsewhere",
    ),
    "mid-pagination": (
        lambda f: f.fail(503, path_contains="/statuses", after=1),
        errors.UpstreamError,
        "after 40 posts had been read; nothing was stored",
    ),
    "rate limited mid-pagination": (_rate_limited_later, errors.RateLimited, "after 40 posts had been read"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_each_failure_has_its_own_message_and_stores_nothing(mctx, fake_mastodon, case):
    setup, kind, words = FAILURES[case]
    if case != "unknown":
        fake_mastodon.add_account(ALICE, FakeMastodon.make_posts(100))
    setup(fake_mastodon)
    with pytest.raises(kind) as caught:
        add()
    assert words.lower() in caught.value.message.lower()
    db.session.rollback()
    assert row_counts(db.session) == (0, 0)


def test_a_rate_limit_says_when_to_retry(mctx, fake_mastodon):
    fake_mastodon.add_account(ALICE, FakeMastodon.make_posts(5))
    fake_mastodon.fail(429, path_contains="/statuses")
    with pytest.raises(errors.RateLimited) as caught:
        add()
    assert 250 <= caught.value.retry_after <= 302 and "5 minutes" in caught.value.message
    fake_mastodon.fail(429, path_contains="/statuses", headers={"Retry-After": "42"})
    with pytest.raises(errors.RateLimited) as caught:
        add()
    assert caught.value.retry_after == 42 and "42 seconds" in caught.value.message
    later = (datetime.now(UTC) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    fake_mastodon.fail(429, path_contains="/statuses", headers={"X-RateLimit-Reset": later})
    with pytest.raises(errors.RateLimited) as caught:
        add()
    assert 100 <= caught.value.retry_after <= 122


def test_a_timeout_is_reported_and_stores_nothing(make_app, fake_mastodon):
    app = make_app(MASTODON_API_URL=fake_mastodon.url, MASTODON_TIMEOUT=0.3)
    fake_mastodon.add_account(ALICE, FakeMastodon.make_posts(20))
    fake_mastodon.delay(2, path_contains="/statuses")
    with app.app_context():
        with pytest.raises(errors.UpstreamError, match=r"did not answer within 0\.3 seconds"):
            add()
        assert row_counts(db.session) == (0, 0)


def test_a_failed_update_leaves_the_account_as_it_was(mctx, fake_mastodon):
    fake_mastodon.add_account(ALICE, FakeMastodon.make_posts(30))
    add()
    before = db.session.scalar(select(Account.newest_tweet_id))
    fake_mastodon.add_posts(ALICE, FakeMastodon.make_posts(90, start="2026-01-01T00:00:00Z", prefix="new"))
    fake_mastodon.fail(500, path_contains="/statuses", after=1)
    with pytest.raises(errors.UpstreamError):
        add()
    db.session.rollback()
    assert row_counts(db.session) == (1, 30) and db.session.scalar(select(Account.newest_tweet_id)) == before
    assert add().added == 90 and row_counts(db.session) == (1, 120)


def test_an_account_with_no_original_posts_is_not_stored(mctx, fake_mastodon):
    posts = FakeMastodon.make_posts(2)
    posts[0]["reblog"] = True
    posts[1]["reply"] = True
    fake_mastodon.add_account(ALICE, posts)
    with pytest.raises(errors.NoOriginalTweets, match="no original posts on Mastodon"):
        add()
    assert row_counts(db.session) == (0, 0)


# --- through the API, the pages, the CLI and jobs --------------------------------------------------------


def test_the_api_adds_a_mastodon_account_beside_x_and_bluesky_ones(mapp, fake_x, fake_bluesky, fake_mastodon):
    client = mapp.test_client()
    fake_x.add_user("alice", tweets=fake_x.make_tweets(30))
    fake_bluesky.add_actor("alice.bsky.social", fake_bluesky.make_posts(20))
    fake_mastodon.add_account(ALICE, FakeMastodon.make_posts(40))
    assert client.post("/api/accounts", json={"username": "alice"}).status_code == 201
    assert client.post("/api/accounts", json={"username": "alice.bsky.social"}).status_code == 201
    response = client.post("/api/accounts", json={"username": "@alice@mastodon.social"})
    assert response.status_code == 201, response.get_json()
    account = response.get_json()["account"]
    assert (account["platform"], account["handle"], account["source"], account["added"]) == (
        "mastodon",
        ALICE,
        "mastodon",
        40,
    )
    again = client.post("/api/accounts", json={"username": "alice@mastodon.social", "platform": "mastodon"})
    assert again.status_code == 200 and again.get_json()["account"]["added"] == 0
    listed = {(a["platform"], a["handle"]) for a in client.get("/api/accounts").get_json()["accounts"]}
    assert listed == {("x", "alice"), ("bluesky", "alice.bsky.social"), ("mastodon", ALICE)}
    page = client.get("/accounts/alice@mastodon.social")
    assert page.status_code == 200 and b"Mastodon" in page.data and b"https://mastodon.social/@alice" in page.data
    assert 'class="platform platform-mastodon"' in client.get("/").get_data(as_text=True)

    refused = client.post("/api/accounts", json={"username": "bob@mastodon.social"})
    assert refused.status_code == 404 and "has no account @bob@mastodon.social" in refused.get_json()["error"]
    fake_mastodon.add_account("quiet@mastodon.social", FakeMastodon.make_posts(3), noindex=True)
    refused = client.post("/api/accounts", json={"username": "quiet@mastodon.social"})
    assert refused.status_code == 403 and "not to be indexed" in refused.get_json()["error"]


def test_the_add_form_says_which_platform_it_understood(mapp, fake_mastodon):
    client = mapp.test_client()
    fake_mastodon.add_account(ALICE, FakeMastodon.make_posts(12))
    response = client.post("/accounts", data={"handle": "@alice@mastodon.social"}, follow_redirects=True)
    assert response.status_code == 200
    assert b"Added @alice@mastodon.social from Mastodon: 12 new posts." in response.data
    update = client.post("/accounts/alice@mastodon.social/update", follow_redirects=True)
    assert b"Updated @alice@mastodon.social from Mastodon: no new posts." in update.data


def test_the_cli_adds_updates_and_lists_mastodon_accounts(mapp, fake_mastodon):
    runner = mapp.test_cli_runner()
    fake_mastodon.add_account(ALICE, FakeMastodon.make_posts(25))
    fake_mastodon.add_account("bob@fosstodon.org", FakeMastodon.make_posts(8, seed=2))
    result = runner.invoke(args=["accounts", "add", "@alice@mastodon.social", "bob@fosstodon.org"])
    assert result.exit_code == 0, result.output
    assert "Added @alice@mastodon.social from Mastodon: 25 new posts." in result.output
    assert "Added @bob@fosstodon.org from Mastodon: 8 new posts." in result.output
    listed = runner.invoke(args=["accounts", "list"]).output
    assert "@bob@fosstodon.org" in listed and "mastodon" in listed
    fake_mastodon.add_posts("bob@fosstodon.org", FakeMastodon.make_posts(2, start="2026-05-01T00:00:00Z", prefix="n"))
    result = runner.invoke(args=["accounts", "update", "--all"])
    assert result.exit_code == 0 and "Updated @bob@fosstodon.org from Mastodon: 2 new posts." in result.output
    failed = runner.invoke(args=["accounts", "add", "nobody@mastodon.social"])
    assert failed.exit_code == 1 and "has no account @nobody@mastodon.social" in failed.output


def test_a_guess_across_x_bluesky_and_mastodon_takes_mastodons_length(mapp, fake_mastodon, seed, senate_tweets):
    client = mapp.test_client()
    seed("SenWarren", [t for _, t in senate_tweets["SenWarren"][-150:]], source="api", user_id="970207298")
    bluesky = [t for _, t in senate_tweets["marcorubio"][-150:]]
    seed("rubio.bsky.social", bluesky, source="bluesky", user_id="did:plc:rubio", platform="bluesky")
    writer = sorted(set(senate_tweets) - {"SenWarren", "marcorubio"})[0]
    fake_mastodon.add_account("writer@mastodon.social", [{"text": t} for _, t in senate_tweets[writer][-150:]])
    assert client.post("/api/accounts", json={"username": "writer@mastodon.social"}).status_code == 201
    accounts = ["SenWarren", "rubio.bsky.social", "writer@mastodon.social"]

    text = ("We must protect Social Security for working families, " * 9)[:480]
    response = client.post("/api/predict", json={"accounts": accounts, "text": text})
    assert response.status_code == 200, response.get_json()
    assert set(response.get_json()["probabilities"]) == set(accounts)
    too_long = client.post("/api/predict", json={"accounts": accounts, "text": text * 2})
    assert too_long.status_code == 400 and "500 characters" in too_long.get_json()["error"]
    page = client.post("/predict", data={"accounts": accounts, "text": "Protect Social Security"})
    page = page.get_data(as_text=True)
    assert 'class="platform platform-mastodon"' in page and "/accounts/writer@mastodon.social" in page
