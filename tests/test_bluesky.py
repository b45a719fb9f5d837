"""Adding and updating accounts from a (fake) Bluesky AppView: what is kept of a feed, every failure with
its own message and nothing stored, and the same API, CLI and pages as X."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from twitapp import exceptions as errors
from twitapp import runtime
from twitapp.authorship.ngrams import URL_MARK, normalize
from twitapp.extensions import db
from twitapp.models import Account, Tweet
from twitapp.services.ingest import ingest_from
from twitapp.sources.bluesky import FeedEndedEarly, with_links

from .fake_bluesky import FakeBluesky, link_facet
from .helpers import row_counts

ALICE = "alice.bsky.social"


@pytest.fixture
def bapp(make_app, fake_x, fake_bluesky):
    return make_app(X_API_URL=fake_x.url, BLUESKY_API_URL=fake_bluesky.url)


@pytest.fixture
def bctx(bapp):
    with bapp.app_context():
        yield bapp


def add(handle: str = ALICE, limit: int = 3200):
    return ingest_from(db.session, runtime.bluesky_client(), runtime.embedder(), handle, limit)


def feed_requests(fake: FakeBluesky) -> list[dict]:
    return [r for r in fake.requests if r["path"].endswith("getAuthorFeed")]


def test_add_stores_the_profile_and_original_posts_in_pages_of_100(bctx, fake_bluesky):
    fake_bluesky.add_actor(
        ALICE, FakeBluesky.make_posts(250), display_name="Alice A.", description="Writes.", followers=42, follows=7
    )
    result = add("@Alice.bsky.social")

    assert result.created and result.added == 250 and result.username == ALICE
    assert result.summary() == "Added @alice.bsky.social from Bluesky: 250 new posts."
    account = db.session.scalars(select(Account)).one()
    assert account.id.startswith("did:plc:") and account.id == fake_bluesky.actor(ALICE)["did"]
    assert (account.platform, account.source, account.handle, account.name) == ("bluesky", "bluesky", ALICE, "Alice A.")
    assert (account.followers_count, account.following_count, account.profile_tweet_count) == (42, 7, 250)
    assert account.newest_tweet_id == fake_bluesky.actor(ALICE)["items"][-1]["rkey"]
    assert account.can_update and not account.can_update_from_x
    pages = feed_requests(fake_bluesky)
    assert len(pages) == 3 and all(p["params"]["limit"] == "100" for p in pages)
    assert all(p["params"]["filter"] == "posts_no_replies" for p in pages)
    assert "cursor" not in pages[0]["params"] and pages[1]["params"]["cursor"]
    assert all(r["authorization"] is None for r in fake_bluesky.requests)  # no auth, ever


def test_reposts_replies_and_the_pinned_duplicate_are_left_out_and_quotes_keep_their_own_text(bctx, fake_bluesky):
    fake_bluesky.add_actor("bob.bsky.social", FakeBluesky.make_posts(3, prefix="bob"))
    posts = FakeBluesky.make_posts(6, prefix="alice")
    posts[1]["reply"] = True
    posts[2]["repost_of"] = ("bob.bsky.social", 0)
    posts[3]["quote"] = "the quoted words of someone else"
    fake_bluesky.add_actor(ALICE, posts, pinned=0)
    fake_bluesky.serve_pins = True  # the pinned post first, and again in its place

    result = add()
    texts = sorted(db.session.scalars(select(Tweet.text)))
    assert result.added == 4 and texts == sorted(p["text"] for i, p in enumerate(posts) if i in (0, 3, 4, 5))
    assert not any("quoted words" in t or t.startswith("bob") for t in texts)
    assert "includePins" not in feed_requests(fake_bluesky)[0]["params"]


def test_links_become_the_models_link_mark(bctx, fake_bluesky):
    text = "Read this 👉 example.com/a-long-arti… and tell me"
    post = {
        "text": text,
        "facets": [link_facet(text, "example.com/a-long-arti…", "https://example.com/a-long-article")],
    }
    fake_bluesky.add_actor(ALICE, [post, *FakeBluesky.make_posts(2)])
    add()
    stored = db.session.scalars(select(Tweet.text).where(Tweet.text.like("Read%"))).one()
    assert stored == "Read this 👉 https://example.com/a-long-article and tell me"
    assert normalize(stored) == f"Read this 👉 {URL_MARK} and tell me"


def test_facets_out_of_range_or_overlapping_are_ignored():
    text = "ab cd"
    link = {"$type": "app.bsky.richtext.facet#link", "uri": "https://x.org"}
    facets = [
        {"index": {"byteStart": 0, "byteEnd": 2}, "features": [link]},
        {"index": {"byteStart": 1, "byteEnd": 4}, "features": [link]},  # overlaps the first
        {"index": {"byteStart": 3, "byteEnd": 99}, "features": [link]},  # past the end
        {"index": {"byteStart": 3, "byteEnd": 5}, "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "x"}]},
    ]
    assert with_links(text, facets) == "https://x.org cd"


def test_the_limit_caps_the_posts_read(bctx, fake_bluesky):
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(250))
    assert add(limit=150).added == 150
    assert len(feed_requests(fake_bluesky)) == 2


def test_an_update_stops_at_the_newest_stored_post(bctx, fake_bluesky):
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(230))
    add()
    fake_bluesky.requests.clear()
    fake_bluesky.add_posts(ALICE, FakeBluesky.make_posts(5, start="2026-01-01T00:00:00Z", prefix="new"))

    result = add()
    assert not result.created and result.added == 5 and result.skipped_duplicates == 0
    assert result.summary() == "Updated @alice.bsky.social from Bluesky: 5 new posts."
    assert len(feed_requests(fake_bluesky)) == 1  # the first page reached the stored posts
    assert row_counts(db.session) == (1, 235)


def test_an_account_that_asked_not_to_be_shown_logged_out_is_refused(bctx, fake_bluesky):
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(20), labels=("!no-unauthenticated",))
    with pytest.raises(errors.AccountUnavailable) as caught:
        add()
    assert "not logged in" in caught.value.message and "!no-unauthenticated" in caught.value.message
    assert "respects that choice" in caught.value.message
    assert feed_requests(fake_bluesky) == [] and row_counts(db.session) == (0, 0)


FAILURES = {
    "unknown": (lambda f: None, errors.AccountNotFound, "Bluesky has no account @alice.bsky.social"),
    "taken down": (
        lambda f: f.actor(ALICE) and f._actors[f.actor(ALICE)["did"]].update(status="takendown"),
        errors.AccountUnavailable,
        "suspended or taken down",
    ),
    "deactivated": (
        lambda f: f._actors[f.actor(ALICE)["did"]].update(status="deactivated"),
        errors.AccountUnavailable,
        "deactivated",
    ),
    "ends early": (lambda f: f.end_feed_early(after=1), FeedEndedEarly, "stopped serving"),
    "400": (
        lambda f: f.fail(400, {"error": "InvalidRequest", "message": "Bad cursor"}, path_contains="getAuthorFeed"),
        errors.UpstreamError,
        "refused the request (400, InvalidRequest: Bad cursor)",
    ),
    "401": (lambda f: f.fail(401, path_contains="getProfile"), errors.UpstreamAuthFailed, "BLUESKY_API_URL"),
    "429": (lambda f: f.fail(429, path_contains="getProfile"), errors.RateLimited, "rate limit"),
    "500": (lambda f: f.fail(500, path_contains="getAuthorFeed"), errors.UpstreamError, "servers failed (500)"),
    "502": (lambda f: f.fail(502, path_contains="getProfile"), errors.UpstreamError, "servers failed (502)"),
    "malformed": (lambda f: f.malformed(path_contains="getProfile"), errors.UpstreamError, "malformed"),
    "reset": (lambda f: f.reset_connection(path_contains="getProfile"), errors.UpstreamError, "network error"),
    "mid-pagination": (
        lambda f: f.fail(503, path_contains="getAuthorFeed", after=1),
        errors.UpstreamError,
        "after 100 posts had been read; nothing was stored",
    ),
    "rate limited mid-pagination": (
        lambda f: f.fail(429, path_contains="getAuthorFeed", after=2),
        errors.RateLimited,
        "after 200 posts had been read",
    ),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_each_failure_has_its_own_message_and_stores_nothing(bctx, fake_bluesky, case):
    setup, kind, words = FAILURES[case]
    if case != "unknown":
        fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(250))
    setup(fake_bluesky)
    with pytest.raises(kind) as caught:
        add()
    assert words.lower() in caught.value.message.lower()
    db.session.rollback()
    assert row_counts(db.session) == (0, 0)


def test_a_few_empty_pages_with_a_new_cursor_are_followed_more_are_an_early_end(bctx, fake_bluesky):
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(250))
    fake_bluesky.hide_pages(1)  # the AppView hid a page's posts and went on
    assert add().added == 150
    db.session.execute(delete(Tweet))
    db.session.execute(delete(Account))
    db.session.commit()
    fake_bluesky.add_posts(ALICE, FakeBluesky.make_posts(400, start="2025-01-01T00:00:00Z", prefix="more"))
    fake_bluesky.hide_pages(4, 5, 6, 7)  # the second add's pages 2 to 5: four empty pages in a row
    with pytest.raises(FeedEndedEarly, match="after 100"):
        add()
    assert row_counts(db.session) == (0, 0)


def test_a_rate_limit_says_when_to_retry(bctx, fake_bluesky):
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(5))
    fake_bluesky.fail(429, path_contains="getAuthorFeed")
    with pytest.raises(errors.RateLimited) as caught:
        add()
    assert 250 <= caught.value.retry_after <= 302 and "5 minutes" in caught.value.message
    fake_bluesky.fail(429, path_contains="getAuthorFeed", headers={"retry-after": "42"})
    with pytest.raises(errors.RateLimited) as caught:
        add()
    assert caught.value.retry_after == 42 and "42 seconds" in caught.value.message


def test_a_timeout_is_reported_and_stores_nothing(make_app, fake_bluesky):
    app = make_app(BLUESKY_API_URL=fake_bluesky.url, BLUESKY_TIMEOUT=0.3)
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(20))
    fake_bluesky.delay(2, path_contains="getAuthorFeed")
    with app.app_context():
        with pytest.raises(errors.UpstreamError, match=r"did not answer within 0\.3 seconds"):
            add()
        assert row_counts(db.session) == (0, 0)


def test_a_failed_update_leaves_the_account_as_it_was(bctx, fake_bluesky):
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(120))
    add()
    before = db.session.scalar(select(Account.newest_tweet_id))
    fake_bluesky.add_posts(ALICE, FakeBluesky.make_posts(250, start="2026-01-01T00:00:00Z", prefix="new"))
    fake_bluesky.fail(500, path_contains="getAuthorFeed", after=1)
    with pytest.raises(errors.UpstreamError):
        add()
    db.session.rollback()
    assert row_counts(db.session) == (1, 120) and db.session.scalar(select(Account.newest_tweet_id)) == before
    assert add().added == 250 and row_counts(db.session) == (1, 370)


def test_a_handle_given_to_another_account_is_refused(bctx, fake_bluesky):
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(10), did="did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
    add()
    fake_bluesky.reset()
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(10, seed=4), did="did:plc:bbbbbbbbbbbbbbbbbbbbbbbb")
    with pytest.raises(errors.AccountConflict, match="another Bluesky account"):
        add()


def test_an_account_with_no_original_posts_is_not_stored(bctx, fake_bluesky):
    fake_bluesky.add_actor("bob.bsky.social", FakeBluesky.make_posts(3))
    posts = FakeBluesky.make_posts(2)
    posts[0]["repost_of"] = ("bob.bsky.social", 0)
    posts[1]["reply"] = True
    fake_bluesky.add_actor(ALICE, posts)
    with pytest.raises(errors.NoOriginalTweets, match="no original posts on Bluesky"):
        add()
    assert row_counts(db.session) == (0, 0)


# --- through the API, the pages and the CLI --------------------------------------------------------------


def test_the_api_adds_a_bluesky_account_beside_an_x_one_of_the_same_name(bapp, fake_x, fake_bluesky):
    client = bapp.test_client()
    fake_x.add_user("alice", tweets=fake_x.make_tweets(30))
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(40))
    assert client.post("/api/accounts", json={"username": "alice"}).status_code == 201
    response = client.post("/api/accounts", json={"username": "alice", "platform": "bluesky"})
    assert response.status_code == 201
    account = response.get_json()["account"]
    assert (account["platform"], account["handle"], account["source"], account["added"]) == (
        "bluesky",
        ALICE,
        "bluesky",
        40,
    )
    assert account["url"].endswith("/accounts/alice.bsky.social")
    listed = {(a["platform"], a["handle"]) for a in client.get("/api/accounts").get_json()["accounts"]}
    assert listed == {("x", "alice"), ("bluesky", ALICE)}

    page = client.get("/accounts/alice.bsky.social")
    assert (
        page.status_code == 200
        and b"Bluesky" in page.data
        and b"https://bsky.app/profile/alice.bsky.social" in page.data
    )
    old = client.get("/accounts/alice")  # an X account's page keeps its URL
    assert old.status_code == 200 and b"https://x.com/alice" in old.data
    home = client.get("/").get_data(as_text=True)
    assert 'class="platform platform-bluesky"' in home and 'class="platform platform-x"' in home


def test_the_add_form_says_which_platform_it_understood(bapp, fake_bluesky):
    client = bapp.test_client()
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(12))
    response = client.post("/accounts", data={"handle": "alice", "platform": "bluesky"}, follow_redirects=True)
    assert response.status_code == 200
    assert b"Added @alice.bsky.social from Bluesky: 12 new posts." in response.data
    update = client.post("/accounts/alice.bsky.social/update", follow_redirects=True)
    assert b"Updated @alice.bsky.social from Bluesky: no new posts." in update.data


def test_the_cli_adds_updates_and_lists_bluesky_accounts(bapp, fake_bluesky):
    runner = bapp.test_cli_runner()
    fake_bluesky.add_actor(ALICE, FakeBluesky.make_posts(25))
    fake_bluesky.add_actor("example.com", FakeBluesky.make_posts(8, seed=2))
    result = runner.invoke(args=["accounts", "add", "alice", "--platform", "bluesky", "example.com"])
    assert result.exit_code == 0, result.output
    assert "Added @alice.bsky.social from Bluesky: 25 new posts." in result.output
    assert "Added @example.com from Bluesky: 8 new posts." in result.output
    listed = runner.invoke(args=["accounts", "list"]).output
    assert "@alice.bsky.social" in listed and "bluesky" in listed
    fake_bluesky.add_posts("example.com", FakeBluesky.make_posts(2, start="2026-05-01T00:00:00Z", prefix="n"))
    result = runner.invoke(args=["accounts", "update", "--all"])
    assert result.exit_code == 0 and "Updated @example.com from Bluesky: 2 new posts." in result.output
    failed = runner.invoke(args=["accounts", "add", "nobody.bsky.social", "@someone@mastodon.social"])
    assert failed.exit_code == 1
    assert "Bluesky has no account @nobody.bsky.social" in failed.output
    assert "Could not reach the Mastodon instance" in failed.output  # (this test serves no Mastodon)
