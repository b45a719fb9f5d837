"""Storing tweets: the one path by which tweets enter the database, whatever their source.

Fetch (or parse) first, embed second, write last, in one transaction: an account is either stored as it
was or fully updated, never half. Callers pass a ``progress(phase, done, total)`` callback to show where
the work is; the CLI draws a bar with it and a background job saves it in the job's meta.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ..exceptions import NoOriginalTweets
from ..extensions import DbSession
from ..formatting import is_blank
from ..models import Account, Tweet, utcnow
from ..sources.handles import validate_handle
from ..sources.x import XClient, XUser
from .accounts import find_account
from .embedding import Embedder, to_bytes
from .progress import Progress, iter_chunks, no_progress, step_counter

ID_CHUNK = 500


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
    description: str | None = None
    profile_image_url: str | None = None
    followers_count: int | None = None
    following_count: int | None = None
    profile_tweet_count: int | None = None
    newest_tweet_id: str | None = None


def local_account_id(username: str) -> str:
    """The key of an imported account whose X user id is unknown (CSV and demo files)."""
    return "local:" + validate_handle(username).lower()


@dataclass
class IngestResult:
    username: str
    created: bool
    added: int = 0
    skipped_duplicates: int = 0
    skipped_retweets: int = 0
    skipped_empty: int = 0
    fetched: int = 0

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
        count = {0: "no new tweets", 1: "1 new tweet"}.get(self.added, f"{self.added:,} new tweets")
        return f"{verb} @{self.username}: {count}{tail}."


def ingest_from_x(
    session: DbSession, x: XClient, embedder: Embedder, handle: str, limit: int, progress: Progress = no_progress
) -> IngestResult:
    """Add an account from the X API, or fetch its tweets newer than the ones stored."""
    handle = validate_handle(handle)
    progress("fetching", 0, None)
    user = x.get_user(handle)
    stored = session.get(Account, user.id) or find_account(session, user.username)
    since_id = stored.newest_tweet_id if stored is not None else None
    fetched = x.get_tweets(user, limit, since_id=since_id, progress=step_counter(progress, "fetching", limit))
    if stored is None and not fetched:
        raise NoOriginalTweets(f"@{user.username} has no original tweets to learn from (retweets are not counted).")
    tweets = [NewTweet(t.id, t.text, t.created_at) for t in fetched]
    data = _account_data_from_x(user, stored, fetched)
    result = store(session, data, tweets, embedder, progress)
    result.fetched = len(fetched)
    return result


def store(
    session: DbSession,
    data: AccountData,
    tweets: Sequence[NewTweet],
    embedder: Embedder,
    progress: Progress = no_progress,
    commit: bool = True,
) -> IngestResult:
    """Upsert the account and insert its new tweets with their embeddings, in one transaction.

    Where another request stored the same account meanwhile (a unique-key conflict), the transaction is
    rolled back and tried once more, now as an update: the account ends up stored once. With
    ``commit=False`` the caller owns the transaction, and with it the retry.
    """
    if not commit:
        return _store_once(session, data, tweets, embedder, progress)
    try:
        result = _store_once(session, data, tweets, embedder, progress)
        session.commit()
    except IntegrityError:
        session.rollback()
        result = _store_once(session, data, tweets, embedder, progress)
        session.commit()
    return result


def _store_once(session, data, tweets, embedder, progress) -> IngestResult:
    account = session.get(Account, data.id) or find_account(session, data.username)
    result = IngestResult(username=data.username, created=account is None)
    originals = []
    for tweet in tweets:
        if tweet.is_retweet:
            result.skipped_retweets += 1
        elif is_blank(tweet.text):
            result.skipped_empty += 1
        else:
            originals.append(tweet)
    unique = list({t.id: t for t in originals}.values())
    known = _stored_ids(session, [t.id for t in unique])
    new = [t for t in unique if t.id not in known]
    result.skipped_duplicates = len(originals) - len(new)

    progress("embedding", 0, len(new))
    vectors = embedder.embed([t.text for t in new], progress=step_counter(progress, "embedding", len(new)))

    progress("storing", 0, len(new))
    if account is None:
        account = Account(id=data.id, username=data.username, source=data.source, name=data.name or data.username)
        session.add(account)
    _apply(account, data)
    session.flush()
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
    account.tweet_count = (account.tweet_count or 0) + len(rows)
    progress("storing", len(new), len(new))
    result.username = account.username
    result.added = len(new)
    return result


def _apply(account: Account, data: AccountData) -> None:
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
        not account.newest_tweet_id or int(data.newest_tweet_id) > int(account.newest_tweet_id)
    ):
        account.newest_tweet_id = data.newest_tweet_id
    if data.source == "api" or account.source is None:
        account.source = data.source
    account.fetched_at = utcnow()


def _account_data_from_x(user: XUser, stored: Account | None, fetched) -> AccountData:
    newest = max((t.id for t in fetched), key=int, default=None)
    return AccountData(
        id=stored.id if stored is not None else user.id,
        username=user.username,
        source="api",
        name=user.name,
        description=user.description,
        profile_image_url=user.profile_image_url,
        followers_count=user.followers_count,
        following_count=user.following_count,
        profile_tweet_count=user.tweet_count,
        newest_tweet_id=newest,
    )


def _stored_ids(session: DbSession, ids: list[str]) -> set[str]:
    known: set[str] = set()
    for chunk in iter_chunks(ids, ID_CHUNK):
        known.update(session.scalars(select(Tweet.id).where(Tweet.id.in_(chunk))))
    return known


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
