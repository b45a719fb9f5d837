"""Reading and deleting stored accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Integer, cast, delete, extract, false, func, or_, select

from ..exceptions import AccountNotFound, PageNotFound
from ..extensions import DbSession
from ..models import Account, Tweet
from ..sources.handles import Handle, parse_handle, platform_of


@dataclass(frozen=True)
class AccountSummary:
    account: Account
    tweet_count: int
    newest_tweet_at: datetime | None


def find_account(session: DbSession, handle: str | Handle, platform: str | None = None) -> Account | None:
    """The stored account with this handle on its platform (the handle's form says which, unless
    ``platform`` does), compared case-insensitively, or None."""
    if not isinstance(handle, Handle):
        name = (handle or "").strip().removeprefix("@")
        handle = Handle(platform or platform_of(name), name)
    query = select(Account).where(Account.platform == handle.platform, func.lower(Account.username) == handle.key)
    return session.scalars(query).one_or_none()


def get_account(session: DbSession, handle: str) -> Account:
    """The stored account this handle names (any platform's form), or AccountNotFound."""
    parsed = parse_handle(handle)
    account = find_account(session, parsed)
    if account is None:
        raise AccountNotFound(f"{parsed} is not stored here. Add it first.")
    return account


@dataclass(frozen=True)
class Candidate:
    """What a prediction reads of a stored account: who it is, how many posts it has, and what its
    model's key names (read as plain columns: a warm prediction builds no ORM objects)."""

    id: str
    platform: str
    username: str
    created_at: datetime
    content_version: int
    tweet_count: int


def find_accounts(session: DbSession, handles: list[Handle]) -> dict[Handle, Candidate]:
    """The stored accounts these handles name, each under the handle given (as ``Handle(platform, key)``)."""
    found: dict[Handle, Candidate] = {}
    columns = [getattr(Account, field) for field in Candidate.__dataclass_fields__]
    for platform in {h.platform for h in handles}:
        keys = [h.key for h in handles if h.platform == platform]
        query = select(*columns).where(Account.platform == platform, func.lower(Account.username).in_(keys))
        found.update({Handle(platform, r.username.lower()): Candidate(*r) for r in session.execute(query)})
    return found


def list_accounts(session: DbSession, usernames: list[str] | None = None) -> list[AccountSummary]:
    """Stored accounts (all, or those named by handle) with their tweet counts, by username.

    The count is the column the ingest service keeps; the newest tweet's time is a correlated max that the
    (account_id, created_at) index answers without scanning the tweets.
    """
    newest = (
        select(func.max(Tweet.created_at)).where(Tweet.account_id == Account.id).correlate(Account).scalar_subquery()
    )
    query = select(Account, newest).order_by(func.lower(Account.username))
    if usernames is not None:
        wanted = [Handle(platform_of(u), u.lower()) for u in usernames]
        by_platform = {p: [h.name for h in wanted if h.platform == p] for p in {h.platform for h in wanted}}
        matches = [
            (Account.platform == p) & func.lower(Account.username).in_(names) for p, names in by_platform.items()
        ]
        query = query.where(or_(false(), *matches))
    return [AccountSummary(account, account.tweet_count, at) for account, at in session.execute(query)]


def updatable_usernames(session: DbSession) -> list[str]:
    """Handles of the stored accounts read from their platform's servers (X, Bluesky, Mastodon), which a fetch can
    update (not the imported ones)."""
    return [s.account.username for s in list_accounts(session) if s.account.can_update]


def tweets_per_month(session: DbSession, account: Account) -> dict[date, int]:
    """How many of the account's stored tweets each calendar month holds, by the first of the month (the
    tweets-per-month chart): one aggregate over the (account, time) index, not every post's time read."""
    # (as integers: PostgreSQL's EXTRACT gives numerics, slower to group)
    year, month = (cast(extract(part, Tweet.created_at), Integer) for part in ("year", "month"))
    rows = session.execute(
        select(year, month, func.count()).where(Tweet.account_id == account.id).group_by(year, month)
    )
    return {date(y, m, 1): n for y, m, n in rows}


class PageLinks:
    """Where a page (``page`` of ``pages``, from 1) sits among its pages: the templates' previous and next links."""

    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


@dataclass(frozen=True)
class TweetsPage(PageLinks):
    """One page of an account's stored tweets, newest first, and where it sits among the pages."""

    items: list[Tweet]
    page: int
    pages: int
    total: int


def tweets_page(session: DbSession, account: Account, page: int, per_page: int) -> TweetsPage:
    """Page ``page`` (from 1) of the account's stored tweets, newest first; PageNotFound past the last.

    The first page exists even for an account without tweets, so its page always opens."""
    total = session.scalar(select(func.count()).select_from(Tweet).where(Tweet.account_id == account.id)) or 0
    pages = max(1, -(-total // per_page))
    if not 1 <= page <= pages:
        raise PageNotFound(
            f"@{account.username}'s tweets fill {pages:,} page{'s' if pages != 1 else ''}; there is no page {page:,}."
        )
    query = (
        select(Tweet)
        .where(Tweet.account_id == account.id)
        .order_by(Tweet.created_at.desc(), Tweet.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return TweetsPage(list(session.scalars(query)), page, pages, total)


def recount_tweets(session: DbSession) -> list[tuple[str, int, int]]:
    """Set each account's kept tweet count to the real one, under a row lock so no store slips between;
    a repaired account's content version moves on (its cached models go). Returns (username, kept, real)."""
    repaired = []
    for account_id in list(session.scalars(select(Account.id).order_by(Account.id))):
        account = session.get(Account, account_id, with_for_update=True, populate_existing=True)
        if account is None:  # deleted meanwhile
            continue
        real = session.scalar(select(func.count()).select_from(Tweet).where(Tweet.account_id == account.id)) or 0
        if real != account.tweet_count:
            repaired.append((account.username, account.tweet_count, real))
            account.tweet_count = real
            account.content_version += 1
        session.commit()
    return repaired


def delete_account(session: DbSession, handle: str) -> str:
    """Delete the account and all its tweets in one transaction; returns the username deleted.

    The account's row is locked first: a store into it finishes (or waits) instead of writing into a
    deleted account."""
    account = get_account(session, handle)
    account = session.get(Account, account.id, with_for_update=True, populate_existing=True) or account
    username = account.username
    session.execute(delete(Tweet).where(Tweet.account_id == account.id))
    session.delete(account)
    session.commit()
    return username
