"""Database tables: accounts and their tweets, each tweet with its spaCy embedding as float32 bytes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

if TYPE_CHECKING:  # db.Model is made at run time; to a type checker it is the declarative base
    from .extensions import Base as Model
else:
    Model = db.Model

SOURCES = ("api", "bluesky", "mastodon", "archive", "csv", "demo")
#: The sources that read an account from its platform's servers (and alone may write it), by platform.
FETCH_SOURCES = {"x": "api", "bluesky": "bluesky", "mastodon": "mastodon"}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Account(Model):
    """An account of one platform (``x``, ``bluesky``, ``mastodon``) and where its posts came from. The key
    of one read from X is its X user id, from Bluesky its DID (``did:plc:...``), from Mastodon
    ``m:<instance>:<id>``; imported accounts get keys
    no fetch uses (``archive:<X id>``, ``local:<username>``), so a file cannot take a fetched account's key,
    nor a fetch write into an upload. A handle is unique per platform, case-insensitively."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    platform: Mapped[str] = mapped_column(String(10), default="x", server_default="x")
    username: Mapped[str] = mapped_column(String(300))  # the handle as its platform writes it, without "@"
    name: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    profile_image_url: Mapped[str | None] = mapped_column(String(500))
    followers_count: Mapped[int | None]
    following_count: Mapped[int | None]
    profile_tweet_count: Mapped[int | None]
    source: Mapped[str] = mapped_column(String(10), default="api")
    newest_tweet_id: Mapped[str | None] = mapped_column(String(40))
    # Kept by the ingest service in the transaction that stores tweets: a model cache key without a count query.
    tweet_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Bumped in every transaction that changes the account's posts or handle: a fitted model names it.
    content_version: Mapped[int] = mapped_column(default=0, server_default="0")
    fetched_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tweets: Mapped[list[Tweet]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("uq_accounts_platform_username_lower", platform, func.lower(username), unique=True),)

    @property
    def handle(self) -> str:
        """The full handle as the platform writes it (``SenWarren``, ``name.bsky.social``, ``name@instance``)."""
        return self.username

    @property
    def can_update_from_x(self) -> bool:
        """Only an account read from X is written by X fetches (an upload's posts never mix with X's)."""
        return self.source == "api"

    @property
    def can_update(self) -> bool:
        """Read from its platform's servers, so a fetch can bring its newer posts (not an upload)."""
        return self.source == FETCH_SOURCES.get(self.platform)

    def __repr__(self) -> str:
        return f"<Account @{self.username}>"


class Tweet(Model):
    """A post of one account. Its key is (account, post id): a file naming another account's post ids
    stores its own rows and cannot stop the real ones being stored."""

    __tablename__ = "tweets"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    embedding_model: Mapped[str] = mapped_column(String(80))
    embedding_dim: Mapped[int]

    account: Mapped[Account] = relationship(back_populates="tweets")

    __table_args__ = (Index("ix_tweets_account_id_created_at", "account_id", "created_at"),)

    def __repr__(self) -> str:
        return f"<Tweet {self.id}>"


class JobReceipt(Model):
    """A background job's result, written in the transaction that stored its posts: read back when the
    worker died between that commit and telling Redis, so the job shows what the database holds."""

    __tablename__ = "job_receipts"

    job_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    result: Mapped[str] = mapped_column(Text)  # the job's result, as JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class XReads(Model):
    """How many posts the app read from X on one UTC day: the daily cap's counter, shared by every process
    (``services/x_budget.py``; Redis keeps it instead when ``REDIS_URL`` is set)."""

    __tablename__ = "x_reads"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    posts: Mapped[int] = mapped_column(default=0, server_default="0")
