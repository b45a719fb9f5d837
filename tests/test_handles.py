"""One handle field for every platform: what each form means, uniqueness per platform, the pages' URLs, and
a guess across platforms with the longest text limit among them."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from twitapp.exceptions import InvalidHandle
from twitapp.extensions import db
from twitapp.models import Account
from twitapp.services.accounts import find_account, get_account
from twitapp.services.text_limits import guess_limit
from twitapp.sources.handles import Handle, graphemes, parse_handle, platform_of


@pytest.mark.parametrize(
    "raw,platform,expected",
    [
        ("SenWarren", None, Handle("x", "SenWarren")),
        ("  @SenWarren ", None, Handle("x", "SenWarren")),
        ("Alice.BSKY.social", None, Handle("bluesky", "alice.bsky.social")),
        ("@example.com", None, Handle("bluesky", "example.com")),
        ("xn--bcher-kva.example", None, Handle("bluesky", "xn--bcher-kva.example")),
        ("alice", "bluesky", Handle("bluesky", "alice.bsky.social")),
        ("@Gargron@Mastodon.Social", None, Handle("mastodon", "Gargron@mastodon.social")),
        ("gargron@mastodon.social", "mastodon", Handle("mastodon", "gargron@mastodon.social")),
        ("SenWarren", "x", Handle("x", "SenWarren")),
    ],
)
def test_each_form_names_its_platform(raw, platform, expected):
    assert parse_handle(raw, platform) == expected
    assert platform_of(expected.name) == expected.platform


@pytest.mark.parametrize(
    "raw,platform,words",
    [
        ("", None, "enter a handle"),
        (None, None, "enter a handle"),
        ("name.bsky.social", "x", "not a valid x username"),
        ("much_too_long_for_x", None, "not a valid x username"),
        ("-bad.bsky.social", None, "not a valid bluesky handle"),
        ("bad..bsky.social", None, "not a valid bluesky handle"),
        ("name.123", None, "not a valid bluesky handle"),
        ("a@b.social", "bluesky", "not a valid bluesky handle"),
        ("@name@", None, "not a valid mastodon handle"),
        ("@a@b@c.social", None, "not a valid mastodon handle"),
        ("name.bsky.social\x00", None, "not a valid bluesky handle"),
        ("x" * 250 + ".social", None, "not a valid bluesky handle"),
        ("alice", "myspace", "'platform' must be one of"),
    ],
)
def test_malformed_handles_say_what_was_expected(raw, platform, words):
    with pytest.raises(InvalidHandle) as caught:
        parse_handle(raw, platform)
    assert words in caught.value.message.lower()


def test_a_handle_is_unique_per_platform_case_insensitively(app_ctx):
    db.session.add(Account(id="1", platform="x", username="alice", name="Alice on X"))
    db.session.add(Account(id="did:plc:alice", platform="bluesky", username="alice.bsky.social", name="Alice"))
    db.session.commit()
    assert find_account(db.session, "@ALICE").id == "1"
    assert find_account(db.session, "Alice.Bsky.Social").id == "did:plc:alice"
    assert get_account(db.session, "alice.bsky.social").platform == "bluesky"
    db.session.add(Account(id="did:plc:other", platform="bluesky", username="ALICE.bsky.social", name="Impostor"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_graphemes_count_what_a_reader_sees():
    assert graphemes("hello") == 5
    assert graphemes("e\u0301") == 1  # e and a combining accent
    assert graphemes("👍🏽") == 1  # a thumb and its skin tone
    assert graphemes("👩\u200d👩\u200d👧") == 1  # a family, joined
    assert graphemes("🇫🇷🇩🇪") == 2  # two flags
    assert graphemes("a\r\nb") == 3


def test_the_text_limit_is_the_longest_among_the_chosen_platforms():
    assert guess_limit(["SenWarren", "marcorubio"], 280).max_chars == 280
    mixed = guess_limit(["SenWarren", "alice.bsky.social"], 280)
    assert (mixed.platform, mixed.length, mixed.unit) == ("bluesky", 300, "graphemes")
    assert guess_limit("not a list", 280).length == 280 and guess_limit(["bad handle!"], 280).length == 280


@pytest.fixture
def across(seed, senate_tweets):
    """An X account and a Bluesky one, with real posts of two writers."""
    seed("SenWarren", [text for _, text in senate_tweets["SenWarren"][-150:]], source="api", user_id="970207298")
    bluesky = [text for _, text in senate_tweets["marcorubio"][-150:]]
    seed("rubio.bsky.social", bluesky, source="bluesky", user_id="did:plc:rubio", platform="bluesky")
    return ["SenWarren", "rubio.bsky.social"]


def test_a_guess_across_x_and_bluesky_takes_bluesky_length(client, across, seed, senate_tweets):
    long = "We must protect Social Security for working families, " * 6  # 330 characters
    text = long[:290].strip()
    response = client.post("/api/predict", json={"accounts": across, "text": text})
    assert response.status_code == 200, response.json
    assert set(response.json["probabilities"]) == set(across)
    emoji = "👍🏽" * 300  # 300 graphemes, 600 characters
    assert client.post("/api/predict", json={"accounts": across, "text": emoji}).status_code == 200
    too_long = client.post("/api/predict", json={"accounts": across, "text": long})
    assert too_long.status_code == 400 and "300 characters (graphemes)" in too_long.json["error"]

    seed("marcorubio", [t for _, t in senate_tweets["marcorubio"][-150:]])
    only_x = client.post("/api/predict", json={"accounts": ["SenWarren", "marcorubio"], "text": text})
    assert only_x.status_code == 400 and "at most 280 characters" in only_x.json["error"]


def test_the_result_page_shows_each_accounts_platform(client, across):
    response = client.post("/predict", data={"accounts": across, "text": "Protect Social Security for families"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'class="platform platform-bluesky"' in page and 'class="platform platform-x"' in page
    assert "/accounts/rubio.bsky.social" in page


def test_a_stored_bluesky_account_can_be_the_unknown_author(client, across, seed, senate_tweets):
    seed(
        "unknown.bsky.social",
        [t for _, t in senate_tweets["SenWarren"][-60:-10]],
        source="bluesky",
        user_id="did:plc:unknown",
        platform="bluesky",
    )
    response = client.post("/api/predict", json={"accounts": across, "unknown": "unknown.bsky.social"})
    assert response.status_code == 200, response.json
    assert response.json["posts"] == 50


def test_a_fetch_of_one_platform_never_writes_another_platforms_account(app_ctx):
    from twitapp.exceptions import AccountConflict
    from twitapp.services.ownership import writable_account

    db.session.add(Account(id="did:plc:alice", platform="bluesky", source="bluesky", username="alice.bsky.social"))
    db.session.commit()
    with pytest.raises(AccountConflict, match="not from X"):
        writable_account(db.session, "did:plc:alice", "alice", "api", may_update=True, platform="x")
    assert writable_account(db.session, "did:plc:alice", "alice.bsky.social", "bluesky", True, "bluesky").id == (
        "did:plc:alice"
    )
    assert writable_account(db.session, "970207298", "alice", "api", True, "x") is None  # X's alice is another
