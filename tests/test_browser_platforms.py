"""X, Bluesky and Mastodon side by side in a real browser (the set-up of ``test_browser.py``, with the app
pointed at the three fakes): an account of each added through the one form, each card saying its
platform, a guess across the three, and the tweet box's counter following the chosen platforms."""

from __future__ import annotations

import re

import pytest
from werkzeug.serving import make_server

from .fake_bluesky import FakeBluesky
from .fake_mastodon import FakeMastodon
from .fake_xapi import FakeXAPI
from .helpers import ServerThread
from .test_browser import assert_clean, choose, page  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def live(make_app, app, fake_x, fake_bluesky, fake_mastodon):
    """The app served on 127.0.0.1 with CSRF on, reading X, Bluesky and Mastodon from their fakes."""
    web = make_app(
        X_API_URL=fake_x.url,
        BLUESKY_API_URL=fake_bluesky.url,
        MASTODON_API_URL=fake_mastodon.url,
        WTF_CSRF_ENABLED=True,
    )
    with ServerThread(make_server("127.0.0.1", 0, web, threaded=True), name="live-app") as server:
        yield server


def add(tab, handle: str, lands_on: str) -> str:
    tab.goto("/")
    tab.get_by_label("Handle", exact=True).fill(handle)
    tab.get_by_role("button", name="Add account").click()
    tab.wait_for_url(re.compile(rf"/accounts/{re.escape(lands_on)}$"))
    return tab.locator(".flash-success").inner_text()


def test_add_one_account_of_each_platform_and_guess_across_them(page, fake_x, fake_bluesky, fake_mastodon):  # noqa: F811
    fake_x.add_user("SenWarren", name="Elizabeth Warren", tweets=FakeXAPI.make_tweets(40, prefix="warren"))
    fake_bluesky.add_actor(
        "alice.bsky.social", FakeBluesky.make_posts(40, prefix="alice", seed=5), display_name="Alice"
    )
    fake_mastodon.add_account(
        "bob@mastodon.social", FakeMastodon.make_posts(40, prefix="bob", seed=9), display_name="Bob B."
    )
    assert add(page, "@SenWarren", "SenWarren").endswith("Added @SenWarren: 40 new tweets.")
    assert add(page, "alice.bsky.social", "alice.bsky.social").endswith(
        "Added @alice.bsky.social from Bluesky: 40 new posts."
    )
    assert add(page, "@bob@mastodon.social", "bob@mastodon.social").endswith(
        "Added @bob@mastodon.social from Mastodon: 40 new posts."
    )
    assert "Mastodon" in page.locator(".profile .handle").inner_text()

    page.goto("/")
    cards = {
        card.locator(".handle").inner_text(): card.locator(".platform").inner_text()
        for card in page.locator(".account-card").all()
    }
    assert cards == {"@SenWarren": "X", "@alice.bsky.social": "Bluesky", "@bob@mastodon.social": "Mastodon"}
    mastodon_card = page.locator(".account-card", has_text="@bob@mastodon.social")
    assert mastodon_card.locator(".avatar-initials").inner_text() == "BB"  # initials: no picture from its instance
    assert mastodon_card.locator("img").count() == 0

    choose(page, "SenWarren", "alice.bsky.social", "bob@mastodon.social")
    assert page.locator(".choice-count").inner_text().startswith("3 chosen")
    text = ("Thanks to the teachers and parents at today's roundtable on child care and schools. " * 6)[:460]
    page.get_by_label("The tweet").fill(text)
    assert page.locator("#text-counter").inner_text() == f"{len(text)} / 500"  # Mastodon's limit
    page.get_by_role("button", name="Guess the author").click()
    page.wait_for_selector("#verdict")
    bars = page.locator(".bars li")
    assert bars.count() == 3
    for platform in ("x", "bluesky", "mastodon"):
        assert page.locator(f".bars .platform-{platform}").count() == 1
    assert re.search(r"Most likely @\S+ wrote it", " ".join(page.locator("#verdict").inner_text().split()))
    assert_clean(page)


def test_the_counter_follows_the_chosen_platforms(page, seed):  # noqa: F811
    """X counts characters up to 280, Bluesky graphemes up to 300, Mastodon characters up to 500: the
    longest among the chosen accounts' platforms, as the server's rule (text_limits.guess_limit)."""
    for handle, platform in (
        ("SenWarren", "x"),
        ("marcorubio", "x"),
        ("alice.bsky.social", "bluesky"),
        ("bob@mastodon.social", "mastodon"),
    ):
        seed(handle, [f"post {i} of {handle}" for i in range(12)], platform=platform)
    page.goto("/")
    boxes = {
        b.get_attribute("value"): b.get_attribute("data-platform") for b in page.locator("input[name=accounts]").all()
    }
    assert boxes == {
        "SenWarren": "x",
        "marcorubio": "x",
        "alice.bsky.social": "bluesky",
        "bob@mastodon.social": "mastodon",
    }
    # a family emoji (5 code points, 1 grapheme), a space, "café" with a combining accent (5 and 4)
    text = "\U0001f468\u200d\U0001f469\u200d\U0001f467 cafe\u0301"
    counter = page.locator("#text-counter")
    page.get_by_label("The tweet").fill(text)
    assert counter.inner_text() == "11 / 280"  # nothing chosen: X's
    choose(page, "SenWarren", "marcorubio")
    assert counter.inner_text() == "11 / 280"
    choose(page, "alice.bsky.social")
    assert counter.inner_text() == "6 / 300"  # Bluesky decides: graphemes
    choose(page, "bob@mastodon.social")
    assert counter.inner_text() == "11 / 500"  # Mastodon's is longer: characters
    page.locator("input[name=accounts][value='bob@mastodon.social']").uncheck()
    page.get_by_label("The tweet").fill("\U0001f44d\U0001f3fd" * 301)  # thumbs up with a skin tone: 1 grapheme each
    assert counter.inner_text() == "301 / 300"
    assert "over-limit" in (counter.get_attribute("class") or "")
    assert counter.get_attribute("aria-label") == "1 character too many"
    assert_clean(page)
