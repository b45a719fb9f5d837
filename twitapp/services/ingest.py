"""Storing tweets: the one path by which tweets enter the database, whatever their source.

Fetch (or parse) first, embed second, write last, in one transaction: an account is either stored as it
was or fully updated, never half. Callers pass a ``progress(phase, done, total)`` callback to show where
the work is; the CLI draws a bar with it and a background job saves it in the job's meta.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..exceptions import AccountDeleted, NoOriginalTweets
from ..extensions import DbSession
from ..formatting import is_blank
from ..models import FETCH_SOURCES, Account, Tweet, utcnow
from ..sources.handles import PLATFORM_NAMES, parse_handle, validate_handle
from ..sources.records import FetchedPost, FetchedProfile, post_order
from ..sources.x import XClient
from .embedding import Embedder, to_bytes
from .ownership import writable_account
from .progress import Progress, iter_chunks, no_progress, step_counter

ID_CHUNK = 500
R = TypeVar("R")


@dataclass(frozen=True)
class NewTweet:
    """A tweet ready to store: text with HTML entities decoded, time in UTC."""

    id: str
    text: str
    created_at: datetime
    is_retweet: bool = False


@dataclass(frozen=True)
class AccountData:
    """What is known of an account from its source; None leaves a stored value as it is."""

    id: str
    username: str
    source: str
    name: str | None = None
    platform: str = "x"
    description: str | None = None
    profile_image_url: str | None = None
    followers_count: int | None = None
    following_count: int | None = None
    profile_tweet_count: int | None = None
    newest_tweet_id: str | None = None


def local_account_id(username: str) -> str:
    """The key of an imported account whose X user id is unknown (CSV and demo files)."""
    return "local:" + validate_handle(username).lower()


def archive_account_id(x_user_id: str) -> str:
    """The key of an account imported from its X archive: its X id, kept apart from the X-read accounts'."""
    return "archive:" + x_user_id


@dataclass
class IngestResult:
    username: str
    created: bool
    added: int = 0
    skipped_duplicates: int = 0
    skipped_retweets: int = 0
    skipped_empty: int = 0
    fetched: int = 0
    platform: str = "x"
    cut_short: bool = False  # the day's cap on posts read from X stopped the fetch; what it read is stored

    def summary(self) -> str:
        verb = "Added" if self.created else "Updated"
        skipped = [
            f"{n} {what}"
            for n, what in (
                (self.skipped_duplicates, "already stored"),
                (self.skipped_retweets, "retweet" if self.skipped_retweets == 1 else "retweets"),
                (self.skipped_empty, "empty"),
            )
            if n
        ]
        tail = f" (skipped {', '.join(skipped)})" if skipped else ""
        noun = "tweet" if self.platform == "x" else "post"
        count = {0: f"no new {noun}s", 1: f"1 new {noun}"}.get(self.added, f"{self.added:,} new {noun}s")
        where = "" if self.platform == "x" else f" from {PLATFORM_NAMES[self.platform]}"
        cap = " The day's cap on posts read from X (X_MAX_READS_PER_DAY) stopped the fetch early." * self.cut_short
        return f"{verb} @{self.username}{where}: {count}{tail}.{cap}"


class FetchClient(Protocol):
    """What a platform's client offers the ingest: its platform, one user by handle, that user's posts."""

    platform: str

    def get_user(self, username: str) -> Any: ...

    def get_tweets(
        self,
        user: Any,
        limit: int,
        since_id: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Sequence[FetchedPost]: ...


def ingest_from_x(
    session: DbSession,
    x: XClient,
    embedder: Embedder,
    handle: str,
    limit: int,
    progress: Progress = no_progress,
    before_commit: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Add an account from the X API, or fetch its tweets newer than the ones stored."""
    return ingest_from(session, x, embedder, validate_handle(handle), limit, progress, before_commit)


def ingest_from(
    session: DbSession,
    client: FetchClient,
    embedder: Embedder,
    handle: str,
    limit: int,
    progress: Progress = no_progress,
    before_commit: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Add an account from its platform's servers (``client``: ``XClient``, ``BlueskyClient``,
    ``MastodonClient``), or fetch
    its posts newer than the ones stored.

    Whether the fetch may write the account is settled from the user lookup, before any post is read (on
    X, paid for)."""
    platform = client.platform
    handle = parse_handle(handle, platform).name
    source = FETCH_SOURCES[platform]
    progress("fetching", 0, None)
    user = client.get_user(handle)
    also = getattr(user, "did", None)  # (a Bluesky account imported without its handle is named by its DID)
    stored = writable_account(session, user.id, user.username, source, True, platform, also)
    since_id = stored.newest_tweet_id if stored is not None else None
    fetched = client.get_tweets(user, limit, since_id=since_id, progress=step_counter(progress, "fetching", limit))
    if stored is None and not fetched:
        raise NoOriginalTweets(
            f"@{user.username} has no original tweets to learn from (retweets are not counted)."
            if platform == "x"
            else f"@{user.username} has no original posts on {PLATFORM_NAMES[platform]} to learn from "
            "(reposts and replies are not counted)."
        )
    tweets = [NewTweet(t.id, t.text, t.created_at) for t in fetched]
    data = _account_data(user, fetched, source, platform)
    cut_short = bool(getattr(client, "stopped_by_budget", False))
    if cut_short and since_id is not None:
        # The posts between the stored ones and these were not read: the next update must still ask for them.
        data = replace(data, newest_tweet_id=None)
    result = store(session, data, tweets, embedder, progress, before_commit=before_commit)
    result.fetched = len(fetched)
    result.cut_short = cut_short
    result.platform = platform
    return result


def store(
    session: DbSession,
    data: AccountData,
    tweets: Sequence[NewTweet],
    embedder: Embedder,
    progress: Progress = no_progress,
    commit: bool = True,
    may_update: bool = False,
    before_commit: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Upsert the account and insert its new tweets with their embeddings, in one transaction.

    Which stored account ``data`` may write is the ownership rule's (``ownership.writable_account``;
    ``may_update`` is the admin's permission to add to an imported account). Where another request stored
    the same account meanwhile (a unique-key conflict), the transaction is rolled back and tried once more,
    now against that account. ``before_commit(result)`` adds to the same transaction (a job's receipt).
    With ``commit=False`` the caller owns the transaction, and with it the retry.
    """
    if not commit:
        return _store_once(session, data, tweets, embedder, progress, may_update)
    return committed(session, lambda: _store_once(session, data, tweets, embedder, progress, may_update), before_commit)


def committed(session: DbSession, work: Callable[[], R], before_commit: Callable[[R], None] | None = None) -> R:
    """Run ``work()`` and commit its result (with ``before_commit(result)`` in the same transaction); on a
    unique-key conflict (another request stored the same account meanwhile) roll back and run it once
    more; on any error roll back, so nothing of it stays."""
    for attempt in (1, 2):
        try:
            result = work()
            if before_commit is not None:
                before_commit(result)
            session.commit()
            return result
        except IntegrityError:
            session.rollback()
            if attempt == 2:
                raise
        except Exception:
            session.rollback()
            raise
    raise AssertionError("unreachable")


def _store_once(session, data, tweets, embedder, progress, may_update) -> IngestResult:
    account = writable_account(session, data.id, data.username, data.source, may_update, data.platform)
    result = IngestResult(username=account.username if account else data.username, created=account is None)
    originals = []
    for tweet in tweets:
        if tweet.is_retweet:
            result.skipped_retweets += 1
        elif is_blank(tweet.text):
            result.skipped_empty += 1
        else:
            originals.append(tweet)
    unique = list({t.id: t for t in originals}.values())
    known = stored_ids(session, account.id, [t.id for t in unique]) if account is not None else set()
    new = [t for t in unique if t.id not in known]

    progress("embedding", 0, len(new))
    vectors = embedder.embed([t.text for t in new], progress=step_counter(progress, "embedding", len(new)))

    progress("storing", 0, len(new))
    if account is None:
        account = Account(
            id=data.id,
            platform=data.platform,
            username=data.username,
            source=data.source,
            name=data.name or data.username,
        )
        session.add(account)
        session.flush()
    else:
        # Locked from here to the commit: a concurrent store into this account waits, then sees these rows.
        account = _locked(session, account)
        still_new = {t.id for t in new} - stored_ids(session, account.id, [t.id for t in new])
        new, vectors = _only(new, vectors, still_new)
    renamed = _apply(account, data)
    rows = [
        dict(
            id=t.id,
            account_id=account.id,
            text=t.text,
            created_at=_naive_utc(t.created_at),
            embedding=to_bytes(v),
            embedding_model=embedder.model_name,
            embedding_dim=len(v),
        )
        for t, v in zip(new, vectors)
    ]
    for chunk in iter_chunks(rows, 1000):
        session.execute(insert(Tweet), chunk)
    if rows or renamed:
        _count(session, account, len(rows))
    progress("storing", len(new), len(new))
    result.username = account.username
    result.added = len(new)
    result.skipped_duplicates = len(originals) - len(new)
    return result


def _locked(session: DbSession, account: Account) -> Account:
    """The account's row, read again under a row lock (PostgreSQL; SQLite serialises writers anyway)."""
    found = session.get(Account, account.id, with_for_update=True, populate_existing=True)
    if found is None:
        raise AccountDeleted(f"@{account.username} was deleted while its posts were being stored; nothing was stored.")
    return found


def _only(new: list[NewTweet], vectors, keep: set[str]) -> tuple[list[NewTweet], list]:
    pairs = [(t, v) for t, v in zip(new, vectors) if t.id in keep]
    return [t for t, _ in pairs], [v for _, v in pairs]


def _count(session: DbSession, account: Account, added: int) -> None:
    """Add ``added`` to the stored count and bump the content version, in SQL: concurrent stores add up."""
    session.execute(
        update(Account)
        .where(Account.id == account.id)
        .values(tweet_count=Account.tweet_count + added, content_version=Account.content_version + 1)
        .execution_options(synchronize_session=False)
    )
    session.expire(account, ["tweet_count", "content_version"])


def _apply(account: Account, data: AccountData) -> bool:
    """Copy what the source knows onto the account; True when its handle changed. Only a fetch renames an
    account (an import keeps the stored handle, whatever its file says)."""
    renamed = data.source in FETCH_SOURCES.values() and account.username != data.username
    if renamed:
        account.username = data.username
    for name in (
        "name",
        "description",
        "profile_image_url",
        "followers_count",
        "following_count",
        "profile_tweet_count",
    ):
        value = getattr(data, name)
        if value is not None:
            setattr(account, name, value)
    if data.newest_tweet_id and (
        not account.newest_tweet_id or post_order(data.newest_tweet_id) > post_order(account.newest_tweet_id)
    ):
        account.newest_tweet_id = data.newest_tweet_id
    account.fetched_at = utcnow()
    return renamed


def _account_data(user: FetchedProfile, fetched: Sequence[FetchedPost], source: str, platform: str) -> AccountData:
    newest = max((t.id for t in fetched), key=post_order, default=None)
    return AccountData(
        id=user.id,
        username=user.username,
        source=source,
        platform=platform,
        name=user.name,
        description=user.description,
        profile_image_url=user.profile_image_url,
        followers_count=user.followers_count,
        following_count=user.following_count,
        profile_tweet_count=user.tweet_count,
        newest_tweet_id=newest,
    )


def stored_ids(session: DbSession, account_id: str, ids: list[str]) -> set[str]:
    """Which of ``ids`` the account already holds (post ids are keys within an account, not across)."""
    known: set[str] = set()
    for chunk in iter_chunks(ids, ID_CHUNK):
        query = select(Tweet.id).where(Tweet.account_id == account_id, Tweet.id.in_(chunk))
        known.update(session.scalars(query))
    return known


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
