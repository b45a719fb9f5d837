"""The fake Bluesky AppView speaks the lexicons' shapes: what the client relies on is checked here against
the fake itself, so a fake that drifts fails here rather than passing the client's tests."""

from __future__ import annotations

import requests

from .fake_bluesky import PIN, REPOST, FakeBluesky, tid


def get(fake: FakeBluesky, method: str, **params) -> requests.Response:
    return requests.get(f"{fake.url}/xrpc/{method}", params=params, timeout=5)


def test_record_keys_sort_by_time():
    from datetime import UTC, datetime

    early, late = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    assert len(tid(early)) == 13 and tid(early) < tid(late) and tid(early, 1) > tid(early, 0)


def test_profile_and_feed_are_shaped_like_the_lexicons(fake_bluesky):
    fake_bluesky.add_actor("bob.bsky.social", FakeBluesky.make_posts(2, prefix="bob"))
    posts = FakeBluesky.make_posts(4)
    posts[0]["repost_of"] = ("bob.bsky.social", 1)
    fake_bluesky.add_actor("Alice.bsky.social", posts, labels=("!no-unauthenticated",), pinned=1)

    profile = get(fake_bluesky, "app.bsky.actor.getProfile", actor="ALICE.bsky.social").json()
    assert profile["handle"] == "alice.bsky.social" and profile["did"].startswith("did:plc:")
    assert profile["labels"][0]["val"] == "!no-unauthenticated" and profile["postsCount"] == 3
    assert {"followersCount", "followsCount", "avatar", "displayName", "description"} <= set(profile)

    page = get(fake_bluesky, "app.bsky.feed.getAuthorFeed", actor=profile["did"], limit=2, includePins="true")
    body = page.json()
    assert page.headers["ratelimit-limit"] and body["cursor"]
    assert body["feed"][0]["reason"]["$type"] == PIN
    post = body["feed"][1]["post"]
    assert post["uri"] == f"at://{profile['did']}/app.bsky.feed.post/{post['uri'].rsplit('/', 1)[1]}"
    assert post["record"]["$type"] == "app.bsky.feed.post" and post["record"]["createdAt"].endswith("Z")
    rest = get(fake_bluesky, "app.bsky.feed.getAuthorFeed", actor=profile["did"], limit=100, cursor=body["cursor"])
    items = rest.json()["feed"]
    assert "cursor" not in rest.json() and items[-1]["reason"]["$type"] == REPOST
    assert items[-1]["post"]["author"]["handle"] == "bob.bsky.social"


def test_the_fake_refuses_what_the_lexicons_refuse(fake_bluesky):
    fake_bluesky.add_actor("alice.bsky.social", FakeBluesky.make_posts(3))
    too_many = get(fake_bluesky, "app.bsky.feed.getAuthorFeed", actor="alice.bsky.social", limit=101)
    assert too_many.status_code == 400 and too_many.json()["error"] == "InvalidRequest"
    typo = get(fake_bluesky, "app.bsky.feed.getAuthorFeed", actor="alice.bsky.social", fliter="posts_no_replies")
    assert typo.status_code == 400
    unknown = get(fake_bluesky, "app.bsky.actor.getProfile", actor="nobody.bsky.social")
    assert unknown.status_code == 400 and unknown.json() == {"error": "InvalidRequest", "message": "Profile not found"}
    assert get(fake_bluesky, "app.bsky.feed.getTimeline").status_code == 404
