"""The Flask CLI calls the same services as the pages."""

from __future__ import annotations

from sqlalchemy import func, select

from twitapp.extensions import db
from twitapp.models import Tweet

from .fake_xapi import FakeXAPI


def test_add_list_update_delete(runner, fake_x, app):
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(130))
    fake_x.add_user("marcorubio", tweets=FakeXAPI.make_tweets(15, seed=3))
    result = runner.invoke(args=["accounts", "add", "SenWarren", "@marcorubio"])
    assert result.exit_code == 0, result.output
    assert "Added @SenWarren: 130 new tweets." in result.output and "Added @marcorubio: 15" in result.output

    listed = runner.invoke(args=["accounts", "list"]).output
    assert "@SenWarren" in listed and "130 tweets" in listed

    fake_x.add_tweets("marcorubio", FakeXAPI.make_tweets(4, start="2024-01-01T00:00:00Z", prefix="new"))
    result = runner.invoke(args=["accounts", "update", "--all"])
    assert result.exit_code == 0 and "Updated @marcorubio: 4 new tweets." in result.output

    result = runner.invoke(args=["accounts", "delete", "SenWarren", "--yes"])
    assert result.exit_code == 0 and "Deleted @SenWarren." in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Tweet.id))) == 19


def test_failures_are_reported_and_exit_nonzero(runner, fake_x):
    fake_x.add_user("Good", tweets=FakeXAPI.make_tweets(12))
    result = runner.invoke(args=["accounts", "add", "nosuchuser_xyz", "Good"])
    assert result.exit_code == 1
    assert "X has no account @nosuchuser_xyz" in result.output and "Added @Good" in result.output


def test_update_needs_handles_or_all(runner):
    result = runner.invoke(args=["accounts", "update"])
    assert result.exit_code == 2 and "--all" in result.output


def test_list_when_empty_says_how_to_start(runner):
    assert "flask accounts add" in runner.invoke(args=["accounts", "list"]).output


def test_add_one_account_of_each_platform_in_one_command(make_app, fake_x, fake_bluesky, fake_mastodon):
    """`flask accounts add` takes X, Bluesky and Mastodon handles side by side; each says where it read."""
    app = make_app(X_API_URL=fake_x.url, BLUESKY_API_URL=fake_bluesky.url, MASTODON_API_URL=fake_mastodon.url)
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(20))
    fake_bluesky.add_actor("alice.bsky.social", fake_bluesky.make_posts(15))
    fake_mastodon.add_account("bob@mastodon.social", fake_mastodon.make_posts(10))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["accounts", "add", "SenWarren", "alice.bsky.social", "@bob@mastodon.social"])
    assert result.exit_code == 0, result.output
    assert "Added @SenWarren: 20 new tweets." in result.output
    assert "Added @alice.bsky.social from Bluesky: 15 new posts." in result.output
    assert "Added @bob@mastodon.social from Mastodon: 10 new posts." in result.output
    refused = runner.invoke(args=["accounts", "add", "eve@10.0.0.5"])
    assert refused.exit_code == 1 and "10.0.0.5 is not a public Mastodon instance" in refused.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Tweet.id))) == 45
