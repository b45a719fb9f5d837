"""Read tweets from a CSV file, plain or gzipped, for one account or many.

Columns (names case-insensitive, any order): ``text`` (required); ``author`` (one account per row) unless
an account is given; optional ``tweet_id`` or ``id``; optional ``created_at`` (ISO 8601, e.g.
``2021-01-03T02:30:07Z`` or ``2023-01-02 22:02:43+00:00``; a time without zone is taken as UTC). The
demo files' header ``Datetime,Text`` is understood too (``datetime`` is an alias of ``created_at``).

Rules worth knowing:
- Rows with empty text are skipped and counted in ``ImportedAccount.skipped_empty``.
- A row without id gets ``stable_tweet_id``; without a date it gets the time of reading (its id does not
  depend on that time, so re-reading still gives the same id).
- If the file has an ``author`` column and ``account`` is given too, only that author's rows are read.
- The file is decoded and parsed as a stream and handed over in batches (``stream_csv``): an import holds
  one batch of posts at a time, whatever the file's size. Caps apply while parsing: the uncompressed size,
  ``MAX_ROWS`` rows, a post's text at most ``MAX_TEXT_CHARS`` characters, an id at most ``MAX_ID_CHARS``,
  and ``max_posts`` posts per author.
- Two authors whose names differ only in case are one X account written two ways: the file is refused.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

from ..config import DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB
from ..exceptions import ImportFailed, UploadTooLarge
from ..formatting import is_blank
from .records import (
    BATCH_SIZE,
    DEFAULT_MAX_POSTS_PER_ACCOUNT,
    MAX_ROWS,
    NAME_THE_ACCOUNT,
    ImportedAccount,
    ImportedTweet,
    PostCounter,
    as_seekable,
    checked_id,
    checked_text,
    decode_post_text,
    is_retweet_text,
    merged,
    peek,
    stable_tweet_id,
    to_utc,
    validate_handle,
)

GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_MAX_UNCOMPRESSED = DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB * 1024 * 1024
_ALIASES = {
    "text": "text",
    "author": "author",
    "tweet_id": "id",
    "id": "id",
    "created_at": "created_at",
    "datetime": "created_at",
}
_SAVE_AS_UTF8 = "save it as “CSV UTF-8” and try again."


class _CappedReader(io.RawIOBase):
    """Counts the (decompressed) bytes read and stops with UploadTooLarge past the limit: a small gzip
    file can expand to gigabytes."""

    def __init__(self, inner: BinaryIO | gzip.GzipFile, limit: int, filename: str):
        self._inner, self._limit, self._filename, self._total = inner, limit, filename, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._inner.read(len(buffer))
        self._total += len(chunk)
        if self._total > self._limit:
            raise UploadTooLarge(
                f"{self._filename} is larger than {self._limit // (1024 * 1024)} MB once uncompressed; "
                "split it into smaller files."
            )
        buffer[: len(chunk)] = chunk
        return len(chunk)


@dataclass(frozen=True)
class _Columns:
    text: int
    author: int | None
    id: int | None
    created_at: int | None

    @property
    def needed(self) -> int:
        """How many fields a row must have to hold every column used."""
        return 1 + max(i for i in (self.text, self.author, self.id, self.created_at) if i is not None)


def read_csv(
    data: bytes | BinaryIO,
    filename: str,
    account: str | None = None,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    max_posts: int = DEFAULT_MAX_POSTS_PER_ACCOUNT,
) -> list[ImportedAccount]:
    """Return one ImportedAccount (source "csv") per author, in order of first appearance: ``stream_csv``'s
    batches put together (for small files, such as the demo's)."""
    return merged(stream_csv(data, filename, account, max_uncompressed, max_posts))


def stream_csv(
    data: bytes | BinaryIO,
    filename: str,
    account: str | None = None,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    max_posts: int = DEFAULT_MAX_POSTS_PER_ACCOUNT,
) -> Iterator[ImportedAccount]:
    """Yield the file's posts in batches of about BATCH_SIZE: ImportedAccounts (source "csv") each holding
    a part of one author's posts; an author of only empty rows comes once, with its ``skipped_empty``.

    Raises (possibly after some batches) ImportFailed for an empty, undecodable or malformed file,
    InvalidHandle for a bad account name, UploadTooLarge when the uncompressed content exceeds
    ``max_uncompressed`` bytes, the file ``MAX_ROWS`` rows or one author ``max_posts`` posts.
    """
    only = validate_handle(account) if account is not None else None
    stream = as_seekable(data)
    head = peek(stream, 2)
    if not head:
        raise ImportFailed(f"{filename} is empty.")
    unpacked: BinaryIO | gzip.GzipFile = gzip.GzipFile(fileobj=stream, mode="rb") if head == GZIP_MAGIC else stream
    raw = io.BufferedReader(_CappedReader(unpacked, max_uncompressed, filename), buffer_size=1 << 16)
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)  # strict: an unclosed quote must not swallow the rest of the file
    try:
        yield from _read_rows(reader, filename, only, PostCounter(max_posts, filename))
    except UnicodeDecodeError:
        raise ImportFailed(f"{filename} is not UTF-8 text (near line {reader.line_num + 1}); {_SAVE_AS_UTF8}") from None
    except csv.Error as exc:
        raise ImportFailed(
            f"{filename} is not a readable CSV file (line {reader.line_num}: {exc}); check for an unclosed quote."
        ) from None
    except (gzip.BadGzipFile, EOFError, zlib.error):
        raise ImportFailed(f"{filename} is a damaged or incomplete gzip file.") from None


class _Batches:
    """The posts read but not yet handed over, per author, and what the whole file held so far."""

    def __init__(self) -> None:
        self.pending: dict[str, ImportedAccount] = {}
        self.size = 0
        self.seen: dict[str, tuple[str, int]] = {}  # lower-case handle -> (as first written, its line)
        self.any_tweet = self.any_original = False

    def target(self, handle: str, line: int, filename: str) -> ImportedAccount:
        key = handle.lower()
        first, first_line = self.seen.setdefault(key, (handle, line))
        if first != handle:
            raise ImportFailed(
                f"Line {line} of {filename}: the author @{handle} differs only in case from @{first} (line "
                f"{first_line}); X names ignore case, so they are one account. Write it one way and try again."
            )
        if key not in self.pending:
            self.pending[key] = ImportedAccount(username=handle, source="csv")
        return self.pending[key]

    def take(self) -> list[ImportedAccount]:
        batches, self.pending, self.size = list(self.pending.values()), {}, 0
        return batches


def _read_rows(reader: Any, filename: str, only: str | None, counter: PostCounter) -> Iterator[ImportedAccount]:
    header = next(reader, None)
    if header is None:
        raise ImportFailed(f"{filename} is empty.")
    columns = _columns(header, filename, only)
    batches = _Batches()
    handles: dict[str, str] = {}  # raw author cell -> validated handle, validated once per author
    read_at = datetime.now(UTC)
    rows = 0
    for row in reader:
        if not row:
            continue  # blank line
        line = reader.line_num
        rows += 1
        if rows > MAX_ROWS:
            raise UploadTooLarge(f"{filename} has more than {MAX_ROWS:,} rows; split it into smaller files.")
        if len(row) < columns.needed:
            raise ImportFailed(
                f"Line {line} of {filename} has {len(row)} fields but the header names "
                f"{len(header)}; check for a missing comma or an unclosed quote."
            )
        handle = _author(row[columns.author], handles, line) if columns.author is not None else only
        if handle is None:  # (_columns refused a file without an author column and no account)
            raise ImportFailed(f"{filename} does not say whose tweets these are; {NAME_THE_ACCOUNT}.")
        if only is not None and handle.lower() != only.lower():
            continue
        target = batches.target(handle, line, filename)
        where = f"Line {line} of {filename}"
        body = checked_text(decode_post_text(row[columns.text]), f"The text on line {line} of {filename}")
        if is_blank(body):
            target.skipped_empty += 1
            continue
        created = _parse_time(row[columns.created_at], line) if columns.created_at is not None else None
        tweet_id = checked_id(row[columns.id].strip(), where) if columns.id is not None else ""
        tweet = ImportedTweet(
            id=tweet_id or stable_tweet_id(handle, created, body),
            text=body,
            created_at=created or read_at,
            is_retweet=is_retweet_text(body),
        )
        counter.add(handle, tweet.id)
        target.tweets.append(tweet)
        batches.any_tweet = True
        batches.any_original = batches.any_original or not tweet.is_retweet
        batches.size += 1
        if batches.size >= BATCH_SIZE:
            yield from batches.take()
    yield from batches.take()
    _check_has_originals(batches, filename, only)


def _columns(header: list[str], filename: str, only: str | None) -> _Columns:
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _ALIASES.get(name.strip().lower())
        if key is not None and key not in found:
            found[key] = index
    if "text" not in found:
        raise ImportFailed(
            f"{filename} has no “text” column. The first line must name the columns, e.g. "
            "author,tweet_id,created_at,text."
        )
    if "author" not in found and only is None:
        raise ImportFailed(
            f"{filename} has no “author” column, so it does not say whose tweets these are; {NAME_THE_ACCOUNT}."
        )
    return _Columns(found["text"], found.get("author"), found.get("id"), found.get("created_at"))


def _author(cell: str, handles: dict[str, str], line: int) -> str:
    handle = handles.get(cell)
    if handle is None:
        if not cell.strip():
            raise ImportFailed(f"Line {line} has an empty author.")
        handle = handles[cell] = validate_handle(cell)
    return handle


def _parse_time(value: str, line: int) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ImportFailed(
            f"Line {line}: “{value[:40]}” is not a date the importer understands; use ISO 8601 like "
            "2021-01-03T02:30:07Z or 2021-01-03 02:30:07+00:00."
        ) from None
    return to_utc(moment, f"Line {line}", value)


def _check_has_originals(batches: _Batches, filename: str, only: str | None) -> None:
    if only is not None and not batches.seen:
        raise ImportFailed(f"{filename} has no rows by @{only} in its author column.")
    if not batches.any_tweet:
        raise ImportFailed(f"{filename} holds no tweets: every row is empty or there are only column names.")
    if not batches.any_original:
        raise ImportFailed(f"{filename} has no original tweets, only retweets (rows starting with “RT @”).")
