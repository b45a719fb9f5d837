"""What every reader returns, and how they accept their input."""

from __future__ import annotations

import hashlib
import html
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, BinaryIO

from ..exceptions import ImportFailed, UploadTooLarge
from .handles import validate_handle  # noqa: F401  (re-exported for the readers)

RETWEET_PREFIX = "RT @"
#: The longest post X allows (a Premium long post), in characters: a longer one is refused.
MAX_TEXT_CHARS = 25_000
#: The longest id (of a post or an account) and display name the database holds.
MAX_ID_CHARS = 40
MAX_X_USER_ID_DIGITS = 20  # an X user id is a 64-bit integer
MAX_NAME_CHARS = 100
#: The most rows one CSV file may hold, whatever the accounts.
MAX_ROWS = 1_000_000
#: How many posts a reader hands over at a time: an import's memory grows with this, not with the file.
BATCH_SIZE = 1_000
#: The most posts one account of one file may hold (the MAX_POSTS_PER_ACCOUNT setting's default).
DEFAULT_MAX_POSTS_PER_ACCOUNT = 10_000


@dataclass(frozen=True)
class ImportedTweet:
    id: str  # X id where known, else stable_tweet_id(...)
    text: str  # HTML entities decoded, original newlines kept
    created_at: datetime  # timezone-aware UTC
    is_retweet: bool = False
    is_reply: bool = False


@dataclass(frozen=True)
class FetchedProfile:
    """A profile as a platform's client reads it: what the ingest stores of any platform's account
    (``id`` is the account's key here, ``username`` its handle as the platform writes it)."""

    id: str
    username: str
    name: str
    description: str = ""
    profile_image_url: str | None = None
    followers_count: int | None = None
    following_count: int | None = None
    tweet_count: int | None = None


@dataclass(frozen=True)
class FetchedPost:
    """An original post as a platform's client reads it: its id there, the text a reader sees, its time."""

    id: str
    text: str
    created_at: datetime


@dataclass
class ImportedAccount:
    username: str  # passed through validate_handle (X) or parse_handle (its platform)
    source: str  # "archive" | "csv" | "demo"
    tweets: list[ImportedTweet] = field(default_factory=list)
    x_user_id: str | None = None
    name: str | None = None
    skipped_empty: int = 0  # CSV rows of this account whose text was empty, so not in ``tweets``
    platform: str = "x"
    key: str | None = None  # the stored account's key when the file names its owner (``archive_key``)


#: How a file that does not say whose posts it holds is told to whom they belong, on the page and the CLI.
NAME_THE_ACCOUNT = "give the account name (the import form's Account field, or --account with flask import)"


def archive_key(identity: str) -> str:
    """The key of an account imported from its own archive, from the identity the archive carries (an X
    id, a Mastodon actor's URL, a Bluesky DID): ``archive:<identity>``, or a stable digest of it where that
    is longer than the key column. No fetch uses such a key, so an upload never takes a fetched account's."""
    key = "archive:" + identity
    if len(key) <= MAX_ID_CHARS:
        return key
    return "archive:sha1:" + hashlib.sha1(identity.encode()).hexdigest()[: MAX_ID_CHARS - 13]


def checked_text(value: str, what: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``value`` if it is at most ``limit`` characters of storable text; else ImportFailed naming ``what``
    (e.g. "Line 12 of posts.csv"). A lone surrogate (JSON can spell one, ``"\\ud800"``) is not storable."""
    if len(value) > limit:
        raise ImportFailed(f"{what} is {len(value):,} characters long; the most allowed is {limit:,}.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ImportFailed(
            f"{what} holds an invalid character (a lone UTF-16 surrogate); the file is damaged."
        ) from None
    return value


def checked_id(value: str, what: str) -> str:
    """An id of at most MAX_ID_CHARS characters, without NUL or other control characters."""
    if len(value) > MAX_ID_CHARS or not value.isprintable():
        raise ImportFailed(
            f"{what} has an id that is not one (“{value[:40].encode('unicode_escape').decode()}”…): "
            f"an id is at most {MAX_ID_CHARS} printable characters."
        )
    return value


def to_utc(moment: datetime, what: str, shown: str) -> datetime:
    """``moment`` in UTC (a naive one is taken as UTC); ImportFailed naming ``what`` if UTC cannot hold it
    (9999-12-31T23:59:59-01:00, 0001-01-01T00:00:00+01:00)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ImportFailed(f"{what} has a date out of range (“{shown[:40]}”).") from None


#: The time given to a repost counted but never stored (the readers do not read its date).
REPOST_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def checked_time(value: Any, what: str, field: str) -> datetime:
    """The ISO 8601 time ``value`` (the ``field`` of ``what``, e.g. "The post 3 of outbox.json") in UTC, or
    ImportFailed saying it is missing, unreadable or out of range."""
    if not isinstance(value, str):
        raise ImportFailed(f"{what} has no {field}; the file is damaged.")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ImportFailed(f"{what} has an unreadable {field} (“{value[:40]}”).") from None
    return to_utc(moment, what, value)


class PostCounter:
    """Counts the distinct posts (by id) of each account of one file and refuses the file past ``limit``;
    the ids kept are at most ``limit`` per account, so the count's memory is bounded too."""

    def __init__(self, limit: int, filename: str):
        self._limit, self._filename = limit, filename
        self._ids: dict[str, set[str]] = {}

    def add(self, handle: str, post_id: str) -> None:
        ids = self._ids.setdefault(handle.lower(), set())
        ids.add(post_id)
        if len(ids) > self._limit:
            raise UploadTooLarge(
                f"{self._filename} holds more than {self._limit:,} posts by @{handle}, the most one account may "
                "import (MAX_POSTS_PER_ACCOUNT); nothing was stored. Keep the newest ones and try again."
            )


def batches(
    account: ImportedAccount,
    posts: Iterable[ImportedTweet],
    max_posts: int,
    filename: str,
    noun: str = "tweets",
    reposts: str = "retweets",
    nothing: str = "no tweets at all",
) -> Iterator[ImportedAccount]:
    """``account`` with ``posts`` (counted against ``max_posts``) in batches of at most BATCH_SIZE, for a
    reader that streams them; ImportFailed at the end when none is original ("only ``reposts``", or
    ``nothing``), since there is nothing to learn from. ``noun`` names the posts in that message."""
    counter = PostCounter(max_posts, filename)
    batch: list[ImportedTweet] = []
    any_post = any_original = False
    for post in posts:
        counter.add(account.username, post.id)
        any_post, any_original = True, any_original or not post.is_retweet
        batch.append(post)
        if len(batch) >= BATCH_SIZE:
            yield replace(account, tweets=batch)
            batch = []
    if not any_original:
        what = f"only {reposts}" if any_post else nothing
        raise ImportFailed(f"{filename} has no original {noun} ({what}); there is nothing to learn from.")
    yield replace(account, tweets=batch)


def merged(batches: Iterable[ImportedAccount]) -> list[ImportedAccount]:
    """The accounts of a reader's batches, whole, in order of first appearance (for small files)."""
    accounts: dict[str, ImportedAccount] = {}
    for batch in batches:
        whole = accounts.setdefault(batch.username.lower(), replace(batch, tweets=[], skipped_empty=0))
        whole.tweets.extend(batch.tweets)
        whole.skipped_empty += batch.skipped_empty
    return list(accounts.values())


def stable_tweet_id(username: str, created_at: datetime | None, text: str) -> str:
    """Id for a tweet whose source gives none: the same account, time and text always give the same id,
    so importing a file twice adds nothing. ``created_at`` None (a file without dates) hashes as ""."""
    stamp = created_at.isoformat() if created_at else ""
    digest = hashlib.sha1(f"{username.lower()}|{stamp}|{text}".encode()).hexdigest()
    return "csv-" + digest[:20]


def decode_post_text(raw: str) -> str:
    """Decode HTML entities (archives and scraped CSVs escape &, < and >) and drop NUL characters,
    which PostgreSQL text columns cannot store; newlines are kept."""
    return html.unescape(raw).replace("\x00", "")


def is_retweet_text(text: str) -> bool:
    """Archives and CSV files mark no retweet flag that can be trusted; the text does."""
    return text.startswith(RETWEET_PREFIX)


def as_seekable(data: bytes | BinaryIO) -> BinaryIO:
    """The readers accept bytes or a binary file (e.g. an upload); give them one seekable stream.

    A non-seekable stream is read into memory: the web layer caps upload sizes before this point.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(data))
    if data.seekable():
        return data
    return io.BytesIO(data.read())


def peek(stream: BinaryIO, size: int) -> bytes:
    """Return the first ``size`` bytes of a seekable stream without consuming them."""
    position = stream.tell()
    head = stream.read(size)
    stream.seek(position)
    return head


def post_order(post_id: str) -> tuple[int, str]:
    """Sorts post ids oldest first: X's and Mastodon's are integers (no leading zeros), Bluesky's TIDs (13
    characters of sortable base32); by length, then as text, orders them all."""
    return len(post_id), post_id


def json_time(value: Any) -> datetime | None:
    """An ISO 8601 time of a platform's JSON answer in UTC, or None where it is missing or malformed."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def json_count(value: Any) -> int | None:
    """A count of a platform's JSON answer, or None where it is missing or not a whole number >= 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
