"""Database tables: accounts and their tweets, each tweet with its spaCy embedding as float32 bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

if TYPE_CHECKING:  # db.Model is made at run time; to a type checker it is the declarative base
    from .extensions import Base as Model
else:
    Model = db.Model

SOURCES = ("api", "archive", "csv", "demo")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Account(Model):
    """An X account. Its key is the X user id; imports that do not know it use ``local:<username>``."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(15))
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
    fetched_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tweets: Mapped[list[Tweet]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("uq_accounts_username_lower", func.lower(username), unique=True),)

    @property
    def is_local(self) -> bool:
        """True where the X user id is not known (CSV and demo imports)."""
        return self.id.startswith("local:")

    @property
    def can_update_from_x(self) -> bool:
        return self.source == "api" or not self.is_local

    def __repr__(self) -> str:
        return f"<Account @{self.username}>"


class Tweet(Model):
    __tablename__ = "tweets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    embedding_model: Mapped[str] = mapped_column(String(80))
    embedding_dim: Mapped[int]

    account: Mapped[Account] = relationship(back_populates="tweets")

    __table_args__ = (Index("ix_tweets_account_id_created_at", "account_id", "created_at"),)

    def __repr__(self) -> str:
        return f"<Tweet {self.id}>"
