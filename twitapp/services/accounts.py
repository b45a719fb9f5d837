"""Reading and deleting stored accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from ..exceptions import AccountNotFound
from ..extensions import DbSession
from ..models import Account, Tweet
from ..sources.handles import validate_handle


@dataclass(frozen=True)
class AccountSummary:
    account: Account
    tweet_count: int
    newest_tweet_at: datetime | None


def find_account(session: DbSession, handle: str) -> Account | None:
    """The stored account with this username, compared case-insensitively, or None."""
    name = (handle or "").strip().removeprefix("@").lower()
    return session.scalars(select(Account).where(func.lower(Account.username) == name)).one_or_none()


def get_account(session: DbSession, handle: str) -> Account:
    account = find_account(session, validate_handle(handle))
    if account is None:
        raise AccountNotFound(f"@{handle.strip().removeprefix('@')} is not stored here. Add it first.")
    return account


def list_accounts(session: DbSession, usernames: list[str] | None = None) -> list[AccountSummary]:
    """Stored accounts (all, or those named) with their tweet counts, by username.

    The count is the column the ingest service keeps; the newest tweet's time is a correlated max that the
    (account_id, created_at) index answers without scanning the tweets.
    """
    newest = (
        select(func.max(Tweet.created_at)).where(Tweet.account_id == Account.id).correlate(Account).scalar_subquery()
    )
    query = select(Account, newest).order_by(func.lower(Account.username))
    if usernames is not None:
        query = query.where(func.lower(Account.username).in_([u.lower() for u in usernames]))
    return [AccountSummary(account, account.tweet_count, at) for account, at in session.execute(query)]


def updatable_usernames(session: DbSession) -> list[str]:
    """Usernames of the stored accounts that can be read from X (not those imported without an X id)."""
    return [s.account.username for s in list_accounts(session) if s.account.can_update_from_x]


def tweet_times(session: DbSession, account: Account) -> list[datetime]:
    """When each of the account's stored tweets was written (for the tweets-per-month chart)."""
    return list(session.scalars(select(Tweet.created_at).where(Tweet.account_id == account.id)))


def tweets_page(session: DbSession, account: Account, page: int, per_page: int):
    """The account's stored tweets, newest first, as a Flask-SQLAlchemy pagination."""
    from ..extensions import db  # paginate() is Flask-SQLAlchemy's; the query itself is plain SQLAlchemy

    query = select(Tweet).where(Tweet.account_id == account.id).order_by(Tweet.created_at.desc(), Tweet.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def delete_account(session: DbSession, handle: str) -> str:
    """Delete the account and all its tweets in one transaction; returns the username deleted."""
    account = get_account(session, handle)
    username = account.username
    session.execute(delete(Tweet).where(Tweet.account_id == account.id))
    session.delete(account)
    session.commit()
    return username
