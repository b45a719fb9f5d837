"""What every reader returns, and how they accept their input."""

from __future__ import annotations

import hashlib
import html
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from .handles import validate_handle  # noqa: F401  (re-exported for the readers)

RETWEET_PREFIX = "RT @"


@dataclass(frozen=True)
class ImportedTweet:
    id: str  # X id where known, else stable_tweet_id(...)
    text: str  # HTML entities decoded, original newlines kept
    created_at: datetime  # timezone-aware UTC
    is_retweet: bool = False
    is_reply: bool = False


@dataclass
class ImportedAccount:
    username: str  # passed through validate_handle
    source: str  # "archive" | "csv" | "demo"
    tweets: list[ImportedTweet] = field(default_factory=list)
    x_user_id: str | None = None
    name: str | None = None
    skipped_empty: int = 0  # CSV rows of this account whose text was empty, so not in ``tweets``


#: How a file that does not say whose posts it holds is told to whom they belong, on the page and the CLI.
NAME_THE_ACCOUNT = "give the account name (the import form's Account field, or --account with flask import)"


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
