"""X under a budget: each add and update says what it may read from X, and X_MAX_READS_PER_DAY caps the
posts read per UTC day across every process (database or Redis), refusing before any read."""

from __future__ import annotations

import html
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from twitapp import runtime
from twitapp.exceptions import ReadBudgetExhausted
from twitapp.extensions import db
from twitapp.models import Account, Tweet
from twitapp.services.ingest import ingest_from_x
from twitapp.services.x_budget import RedisCounter, reads_at_most

from .fake_xapi import FakeXAPI

NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, now: datetime = NOON):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def capped_app(make_app, fake_x, cap: int | None, clock: Clock | None = None, **overrides):
    app = make_app(X_API_URL=fake_x.url, X_MAX_READS_PER_DAY=cap, **overrides)
    app.extensions[runtime.KEY]["clock"] = clock or Clock()
    return app


def x_requests(fake_x) -> int:
    return len(fake_x.requests)


def timeline_requests(fake_x) -> int:
    return sum(1 for r in fake_x.requests if r["path"].endswith("/tweets"))


def page_text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def add(handle: str, limit: int = 3200):
    return ingest_from_x(db.session, runtime.x_client(), runtime.embedder(), handle, limit)


def test_the_upper_bound_is_whole_pages():
    assert (reads_at_most(3200), reads_at_most(150), reads_at_most(1)) == (3200, 200, 100)


def test_page_api_and_cli_say_what_a_fetch_may_read_before_it_runs(make_app, fake_x):
    app = capped_app(make_app, fake_x, 5000)
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(30))
    said = "reads at most 3,200 posts from X (about $16 at X's 2026 pay-per-use price)"
    client = app.test_client()
    assert said in page_text(client, "/")

    estimate = client.get("/api/x-reads").get_json()
    assert estimate["reads_at_most"] == 3200 and estimate["cost_at_most_usd"] == 16.0
    assert (estimate["cap_per_day"], estimate["read_today"], estimate["resets_at"]) == (5000, 0, "2026-12-03T00:00:00Z")
    assert estimate["price_as_of"] == "2026" and said in estimate["message"]

    result = app.test_cli_runner().invoke(args=["accounts", "add", "SenWarren"])
    assert result.exit_code == 0, result.output
    assert result.output.index("@SenWarren: " + said) < result.output.index("Added @SenWarren")
    assert "An update " + said in page_text(client, "/accounts/SenWarren")
    assert client.get("/api/x-reads").get_json()["read_today"] == 30  # what X returned, not 100 asked


def test_the_cap_refuses_before_any_read_and_says_when_it_resets(make_app, fake_x):
    clock = Clock()
    app = capped_app(make_app, fake_x, 200, clock)
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(250))
    fake_x.add_user("marcorubio", tweets=FakeXAPI.make_tweets(20, seed=3))
    client = app.test_client()

    first = client.post("/api/accounts", json={"username": "SenWarren"})
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["account"]["added"] == 200  # two pages read, then the cap stopped it: kept
    assert "stopped the fetch early" in first.get_json()["account"]["message"]
    assert timeline_requests(fake_x) == 2

    before = x_requests(fake_x)
    refused = client.post("/api/accounts", json={"username": "marcorubio"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(12 * 3600)
    assert "200 posts from X for today" in refused.get_json()["error"] and "midnight UTC" in refused.get_json()["error"]
    assert x_requests(fake_x) == before  # not even the user lookup
    form = client.post("/accounts", data={"handle": "marcorubio"}, follow_redirects=True)
    assert "midnight UTC" in html.unescape(form.get_data(as_text=True)) and x_requests(fake_x) == before

    clock.now = NOON + timedelta(days=1)  # a new UTC day: the count starts again
    again = client.post("/api/accounts", json={"username": "marcorubio"})
    assert again.status_code == 201 and again.get_json()["account"]["added"] == 20


def test_the_count_is_shared_by_two_apps_on_one_database(make_app, fake_x):
    one = capped_app(make_app, fake_x, 100)
    two = capped_app(make_app, fake_x, 100)
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(100))
    fake_x.add_user("marcorubio", tweets=FakeXAPI.make_tweets(20, seed=3))
    assert one.test_client().post("/api/accounts", json={"username": "SenWarren"}).status_code == 201
    before = x_requests(fake_x)
    assert two.test_client().post("/api/accounts", json={"username": "marcorubio"}).status_code == 429
    assert x_requests(fake_x) == before


def test_an_update_cut_short_keeps_what_it_read_and_asks_again_for_the_rest(make_app, fake_x):
    clock = Clock()
    app = capped_app(make_app, fake_x, 250, clock)
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(100))
    with app.app_context():
        add("SenWarren")
        newest = db.session.scalar(select(Account.newest_tweet_id))
        fake_x.add_tweets("SenWarren", FakeXAPI.make_tweets(300, start="2024-01-01T00:00:00Z", prefix="new"))
        result = add("SenWarren")  # 100 read, 150 left: two pages, then the cap
        assert (result.added, result.cut_short) == (200, True)
        assert db.session.scalar(select(Account.newest_tweet_id)) == newest  # the gap is still to be read

        clock.now += timedelta(days=1)
        result = add("SenWarren")
        assert (result.added, result.cut_short) == (100, False)
        assert len(db.session.scalars(select(Tweet.id)).all()) == 400


def test_concurrent_fetches_overshoot_by_less_than_one_page(make_app, fake_x):
    """Each page is reserved (an atomic increment) before it is read and read only while the count before
    it is under the cap, so however the fetches interleave, at most one granted page crosses the cap."""
    cap = 250
    app = capped_app(make_app, fake_x, cap)
    for i in range(4):
        fake_x.add_user(f"user{i}", tweets=FakeXAPI.make_tweets(400, seed=i))
    read: list[int] = []
    refused: list[str] = []

    def fetch(name: str) -> None:
        with app.app_context():
            x = runtime.x_client()
            try:
                read.append(len(x.get_tweets(x.get_user(name), 400)))
            except ReadBudgetExhausted as exc:
                refused.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=fetch, args=(f"user{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        counted = runtime.x_budget().read_today()
    assert counted == sum(read) and cap <= counted < cap + 100
    assert len(read) + len(refused) == 4


def test_redis_counts_across_processes(make_app, fake_x, redis_db, redis_url):
    app = capped_app(make_app, fake_x, 300, REDIS_URL=redis_url)
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(50))
    with app.app_context():
        budget = runtime.x_budget()
        assert isinstance(budget.counter, RedisCounter)
        day = NOON.date().isoformat()
        other = (
            "import redis, datetime; from twitapp.services.x_budget import RedisCounter; "
            f"RedisCounter(redis.Redis.from_url({redis_url!r})).add(datetime.date.fromisoformat({day!r}), 300)"
        )
        subprocess.run([sys.executable, "-c", other], check=True)
        assert budget.read_today() == 300
        assert 0 < redis_db.ttl(f"hypotweet:x-reads:{day}") <= 2 * 24 * 3600
        before = x_requests(fake_x)
        try:
            add("SenWarren")
        except ReadBudgetExhausted as exc:
            assert "midnight UTC" in exc.message
        else:
            raise AssertionError("the cap reached in another process did not refuse the fetch")
        assert x_requests(fake_x) == before


def test_no_cap_counts_but_never_refuses(make_app, fake_x):
    app = capped_app(make_app, fake_x, None)
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(250))
    with app.app_context():
        assert add("SenWarren").added == 250
        assert runtime.x_budget().read_today() == 250
