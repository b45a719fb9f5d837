"""Read the official X account archive: the .zip as downloaded, or its tweets.js file alone.

Archive files are JavaScript assignments (``window.YTD.tweets.part0 = [...]``); the prefix is checked
and stripped and the list parsed entry by entry as JSON, never evaluated (``ytd.py``), and the posts handed
over in batches (``stream_archive``), so an import holds one batch at a time. Only ``tweets.js`` / ``tweet.js`` /
``tweets-partN.js``, ``account.js`` (username, id, display name; never the email) and ``note-tweet.js``
are read, as streams: nothing is extracted to disk. The archive may sit under one top folder (a re-zipped
unpacked archive).

Safety: paths that are absolute or contain ``..`` refuse the whole archive; the declared uncompressed
size of the members read is checked before reading, and the bytes actually read are counted while
reading, against ``max_uncompressed``. Posts are capped at ``max_posts``, a text at MAX_TEXT_CHARS
characters, ids at MAX_ID_CHARS, the display name at MAX_NAME_CHARS; an entry nested too deep is refused.

Long posts ("note tweets") get their full text from note-tweet.js: ``notes.py`` matches them.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Any, BinaryIO

from ..config import DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB
from ..exceptions import ImportFailed
from .notes import NoteMatcher, read_notes
from .records import (
    DEFAULT_MAX_POSTS_PER_ACCOUNT,
    MAX_NAME_CHARS,
    MAX_X_USER_ID_DIGITS,
    NAME_THE_ACCOUNT,
    ImportedAccount,
    ImportedTweet,
    as_seekable,
    batches,
    checked_id,
    checked_text,
    decode_post_text,
    is_retweet_text,
    merged,
    peek,
    to_utc,
    validate_handle,
)
from .ytd import iter_entries
from .zipsafe import Budget, open_zip, too_large

DEFAULT_MAX_UNCOMPRESSED = DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB * 1024 * 1024
_CHUNK = 1 << 16
_TWEETS_MEMBER = re.compile(r"(?P<root>(?:[^/]+/)?)data/tweets?(?:-part(?P<part>\d+))?\.js")
_ARCHIVE_TIME = re.compile(r"\w{3} (\w{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})")
_MONTHS = {
    m: i
    for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)
}
_AS_GIVEN = "upload the .zip exactly as X gave it to you."


def read_archive(
    data: bytes | BinaryIO,
    filename: str,
    username: str | None = None,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    max_posts: int = DEFAULT_MAX_POSTS_PER_ACCOUNT,
) -> ImportedAccount:
    """Return the account and tweets of an X archive (source "archive"): ``stream_archive``'s batches
    put together."""
    [account] = merged(stream_archive(data, filename, username, max_uncompressed, max_posts))
    return account


def stream_archive(
    data: bytes | BinaryIO,
    filename: str,
    username: str | None = None,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    max_posts: int = DEFAULT_MAX_POSTS_PER_ACCOUNT,
) -> Iterator[ImportedAccount]:
    """Yield the account of an X archive (source "archive") in batches of at most BATCH_SIZE tweets.

    ``username`` is required for a lone tweets.js (it does not name its account); with a .zip it is
    optional and, if given, must match data/account.js. Raises (possibly after some batches) ImportFailed
    for unreadable, malformed or unsafe input, UploadTooLarge past ``max_uncompressed`` bytes or
    ``max_posts`` posts, InvalidHandle for a bad username.
    """
    stream = as_seekable(data)
    head = peek(stream, 4)
    if not head:
        raise ImportFailed(f"{filename} is empty.")
    if head.startswith(b"PK"):
        yield from _read_zip(stream, filename, username, max_uncompressed, max_posts)
        return
    if filename.lower().endswith(".zip"):
        raise ImportFailed(f"{filename} is not a zip file (it may be damaged or incomplete); {_AS_GIVEN}")
    if username is None:
        raise ImportFailed(
            f"{filename} alone does not say whose tweets these are; {NAME_THE_ACCOUNT}, "
            "or upload the whole archive .zip."
        )
    handle = validate_handle(username)
    budget = Budget(filename, max_uncompressed)
    entries = _entries(budget.wrap(stream), filename, {"tweets", "tweet"}, filename)
    yield from _batches(ImportedAccount(handle, "archive"), [(filename, entries)], NoteMatcher([]), max_posts, filename)


def _read_zip(
    stream: BinaryIO, filename: str, username: str | None, limit: int, max_posts: int
) -> Iterator[ImportedAccount]:
    with open_zip(stream, filename, _AS_GIVEN) as archive:
        members = {info.filename.replace("\\", "/"): info for info in archive.infolist()}
        root, parts = _tweet_parts(members, filename)
        account_js, note_js = f"{root}data/account.js", f"{root}data/note-tweet.js"
        wanted = parts + [name for name in (account_js, note_js) if name in members]
        if sum(members[name].file_size for name in wanted) > limit:
            raise too_large(filename, limit)
        budget = Budget(filename, limit)

        def entries(name: str, expected: set[str]) -> Iterator[Any]:
            info = members[name]
            if info.flag_bits & 0x1:
                raise ImportFailed(f"{filename} is password-protected; {_AS_GIVEN}")
            try:
                with archive.open(info) as member:
                    yield from _entries(budget.wrap(member), name, expected, filename)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
                raise ImportFailed(
                    f"{name} in {filename} cannot be read: the archive is damaged or uses an "
                    f"unsupported compression; {_AS_GIVEN}"
                ) from None

        handle, user_id, display = (
            _account_fields(list(islice(entries(account_js, {"account"}), 1)), account_js)
            if account_js in members
            else (None, None, None)
        )
        handle = _pick_handle(handle, username, filename)
        notes = read_notes(entries(note_js, {"note_tweet"}), note_js, max_posts) if note_js in members else []
        account = ImportedAccount(handle, "archive", x_user_id=user_id, name=display)
        sources = [(name, entries(name, {"tweets", "tweet"})) for name in parts]
        yield from _batches(account, sources, NoteMatcher(notes), max_posts, filename)


def _entries(raw: io.RawIOBase, name: str, expected: set[str], filename: str) -> Iterator[Any]:
    text = io.TextIOWrapper(io.BufferedReader(raw, _CHUNK), encoding="utf-8-sig")
    try:
        yield from iter_entries(text, name, expected, _AS_GIVEN)
    except UnicodeDecodeError:
        raise ImportFailed(f"{name} is not UTF-8 text; {_AS_GIVEN}") from None
    finally:
        text.detach()  # (closing the wrapper would close the member; its owner does)


def _batches(
    account: ImportedAccount,
    sources: list[tuple[str, Iterator[Any]]],
    notes: NoteMatcher,
    max_posts: int,
    filename: str,
) -> Iterator[ImportedAccount]:
    tweets = (
        notes.attach(_tweet(entry, name, number))
        for name, entries in sources
        for number, entry in enumerate(entries, start=1)
    )
    return batches(account, tweets, max_posts, filename)


def _tweet_parts(members: dict[str, zipfile.ZipInfo], filename: str) -> tuple[str, list[str]]:
    """Return the archive's root folder ("" or "name/") and its tweet files in part order."""
    found = [(m["root"], int(m["part"] or 0), name) for name in members if (m := _TWEETS_MEMBER.fullmatch(name))]
    if not found:
        raise ImportFailed(f"{filename} has no data/tweets.js file; {_AS_GIVEN}")
    roots = {root for root, _, _ in found}
    if len(roots) > 1:
        raise ImportFailed(f"{filename} contains more than one archive; upload one account's archive at a time.")
    return roots.pop(), [name for _, _, name in sorted(found)]


def _tweet(entry: object, name: str, number: int) -> ImportedTweet:
    # Archives wrap each tweet in {"tweet": {...}}; some 2019 archives list bare tweet objects.
    obj = entry.get("tweet", entry) if isinstance(entry, dict) else None
    tweet_id = obj.get("id_str") if isinstance(obj, dict) else None
    text = obj.get("full_text", obj.get("text")) if isinstance(obj, dict) else None
    created = obj.get("created_at") if isinstance(obj, dict) else None
    if not (
        isinstance(obj, dict)
        and isinstance(tweet_id, str)
        and tweet_id.isdigit()
        and isinstance(text, str)
        and isinstance(created, str)
    ):
        raise ImportFailed(f"Tweet {number} in {name} lacks its id_str, full_text or created_at; the file is damaged.")
    where = f"Tweet {number} in {name}"
    body = checked_text(decode_post_text(text), f"The full_text of tweet {number} in {name}")
    return ImportedTweet(
        id=checked_id(tweet_id, f"{where} (its id_str)"),
        text=body,
        created_at=_archive_time(created, name, number),
        is_retweet=is_retweet_text(body),
        is_reply=bool(obj.get("in_reply_to_status_id_str")),
    )


def _archive_time(value: str, name: str, number: int) -> datetime:
    """Parse ``Sat Jun 06 13:02:35 +0000 2020`` without strptime, whose %a/%b depend on the locale."""
    match = _ARCHIVE_TIME.fullmatch(value.strip())
    if match is None or match[1] not in _MONTHS:
        raise ImportFailed(f"Tweet {number} in {name} has an unreadable date (“{value[:40]}”).")
    month, day, hour, minute, second, sign, off_h, off_m, year = match.groups()
    offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    try:
        moment = datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=timezone(offset)
        )
    except ValueError:
        raise ImportFailed(f"Tweet {number} in {name} has an impossible date (“{value[:40]}”).") from None
    return to_utc(moment, f"Tweet {number} in {name}", value)


def _account_fields(entries: list, name: str) -> tuple[str, str | None, str | None]:
    """Return (username, accountId, accountDisplayName) and nothing else: the email stays unread."""
    account = entries[0].get("account") if entries and isinstance(entries[0], dict) else None
    username = account.get("username") if isinstance(account, dict) else None
    if not isinstance(account, dict) or not isinstance(username, str):
        raise ImportFailed(f"{name} is damaged: it does not give the account's username.")
    user_id, display = account.get("accountId"), account.get("accountDisplayName")
    if isinstance(user_id, str) and not (user_id.isdigit() and len(user_id) <= MAX_X_USER_ID_DIGITS):
        raise ImportFailed(
            f"The accountId in {name} is not an X account id (“{user_id[:40]}”…: "
            f"at most {MAX_X_USER_ID_DIGITS} digits)."
        )
    if isinstance(display, str):
        display = checked_text(display, f"The accountDisplayName in {name}", MAX_NAME_CHARS)
    return (
        validate_handle(username),
        user_id if isinstance(user_id, str) else None,
        display if isinstance(display, str) else None,
    )


def _pick_handle(from_archive: str | None, given: str | None, filename: str) -> str:
    if from_archive is None:
        if given is None:
            raise ImportFailed(
                f"{filename} has no data/account.js, so it does not say whose tweets these are; {NAME_THE_ACCOUNT}."
            )
        return validate_handle(given)
    if given is not None and validate_handle(given).lower() != from_archive.lower():
        raise ImportFailed(f"This archive belongs to @{from_archive}, not @{validate_handle(given)}.")
    return from_archive
