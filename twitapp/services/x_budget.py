"""What reading X costs, said before a fetch, and the daily cap on posts read from X (``X_MAX_READS_PER_DAY``).

X bills each post it returns. A fetch reads its timeline in pages of 100, and each page is first reserved
against the day's counter (one atomic increment) and then settled to what X actually returned; a page is
read only while the day's count before it is under the cap, so concurrent fetches overshoot the cap by less
than one page in all. The counter lives where every process sees it: Redis (``INCRBY`` on a key that
expires) when ``REDIS_URL`` is set, else a row per UTC day in the ``x_reads`` table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from ..exceptions import ReadBudgetExhausted
from ..formatting import human_duration
from ..models import XReads

#: X's 2026 pay-per-use price of one post read, in US dollars (3,200 posts: about $16).
PRICE_PER_POST_USD = 0.005
#: Posts per timeline page the X client asks for (X serves at most 100).
PAGE_SIZE = 100
REDIS_KEY = "hypotweet:x-reads:"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def reads_at_most(limit: int) -> int:
    """The most posts one add or update may read from X when it keeps ``limit``: whole pages of 100 (an
    update's ``since_id`` usually makes it far fewer, but X may return that many)."""
    return -(-limit // PAGE_SIZE) * PAGE_SIZE


def cost_usd(posts: int) -> float:
    return posts * PRICE_PER_POST_USD


def announcement(limit: int) -> str:
    """The sentence a page, the API and the CLI say before an add or update from X runs."""
    posts = reads_at_most(limit)
    dollars = f"{cost_usd(posts):,.2f}".removesuffix(".00")
    return f"reads at most {posts:,} posts from X (about ${dollars} at X's 2026 pay-per-use price)"


def estimate(limit: int, budget: XBudget) -> dict:
    """What an add or update from X may read and cost, and where the day's cap stands (the API's answer)."""
    posts = reads_at_most(limit)
    return {
        "reads_at_most": posts,
        "price_per_post_usd": PRICE_PER_POST_USD,
        "cost_at_most_usd": round(cost_usd(posts), 2),
        "price_as_of": "2026",
        "message": f"An add or update from X {announcement(limit)}.",
        "cap_per_day": budget.cap,
        "read_today": budget.read_today(),
        "resets_at": budget.resets_at().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class Counter(Protocol):
    """The day's shared count of posts read from X."""

    def add(self, day: date, posts: int) -> int:
        """Add ``posts`` (negative to give back) to ``day``'s count, atomically; the new count."""
        ...

    def read(self, day: date) -> int: ...


class DatabaseCounter:
    """A row per UTC day in ``x_reads``, incremented by one upsert in its own short transaction (apart from
    the storing one, so a fetch that fails still counts what X returned)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, day: date, posts: int) -> int:
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(XReads).values(day=day, posts=posts)
        upsert = statement.on_conflict_do_update(
            index_elements=[XReads.day], set_={"posts": XReads.posts + statement.excluded.posts}
        ).returning(XReads.posts)
        with self.engine.begin() as conn:
            return int(conn.execute(upsert).scalar_one())

    def read(self, day: date) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(XReads.posts).where(XReads.day == day)) or 0)


class RedisCounter:
    """A key per UTC day, ``INCRBY`` on it, expiring two days after it was first written."""

    def __init__(self, redis):
        self.redis = redis

    def add(self, day: date, posts: int) -> int:
        key = REDIS_KEY + day.isoformat()
        pipe = self.redis.pipeline()
        pipe.incrby(key, posts)
        pipe.expire(key, 2 * 24 * 3600, nx=True)
        return int(pipe.execute()[0])

    def read(self, day: date) -> int:
        return int(self.redis.get(REDIS_KEY + day.isoformat()) or 0)


class XBudget:
    """The daily cap on posts read from X (``cap`` None: no cap; the reads are counted all the same)."""

    def __init__(self, counter: Counter, cap: int | None, clock: Clock = utc_now):
        self.counter = counter
        self.cap = cap
        self.clock = clock

    def _day(self) -> date:
        return self.clock().astimezone(UTC).date()

    def resets_at(self) -> datetime:
        """The next midnight UTC, when the day's count starts again from 0."""
        return datetime.combine(self._day() + timedelta(days=1), datetime.min.time(), UTC)

    def read_today(self) -> int:
        return self.counter.read(self._day())

    def check(self) -> None:
        """Refuse (``ReadBudgetExhausted``) when the day's cap is reached, before anything is read from X."""
        if self.cap is not None and self.read_today() >= self.cap:
            raise self._exhausted()

    def reserve(self, posts: int = PAGE_SIZE) -> bool:
        """Reserve one page before reading it: True when the day's count before it was under the cap (the
        page may be read); False, with nothing kept, when the cap is reached."""
        day = self._day()
        total = self.counter.add(day, posts)
        if self.cap is not None and total - posts >= self.cap:
            self.counter.add(day, -posts)
            return False
        return True

    def settle(self, reserved: int, returned: int) -> None:
        """Replace a page's reservation by the posts X returned (0 when the request failed)."""
        if returned != reserved:
            self.counter.add(self._day(), returned - reserved)

    def _exhausted(self) -> ReadBudgetExhausted:
        wait = max(1, int((self.resets_at() - self.clock()).total_seconds()))
        return ReadBudgetExhausted(
            f"This server has read its {self.cap:,} posts from X for today (X_MAX_READS_PER_DAY; X bills each "
            f"post read). It resets at midnight UTC, in {human_duration(wait)}. Bluesky accounts are free to add.",
            retry_after=wait,
        )

    def exhausted(self) -> ReadBudgetExhausted:
        """The refusal a fetch raises when the cap is reached (the same message as ``check``)."""
        return self._exhausted()
