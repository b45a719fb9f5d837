"""Read the official X account archive: the .zip as downloaded, or its tweets.js file alone.

Archive files are JavaScript assignments (``window.YTD.tweets.part0 = [...]``); the prefix is checked
and stripped and the rest parsed as JSON, never evaluated. Only ``tweets.js`` / ``tweet.js`` /
``tweets-partN.js``, ``account.js`` (username, id, display name; never the email) and ``note-tweet.js``
are read, in memory: nothing is extracted to disk. The archive may sit under one top folder (a re-zipped
unpacked archive).

Safety: paths that are absolute or contain ``..`` refuse the whole archive; the declared uncompressed
size of the members read is checked before reading, and the bytes actually read are counted while
reading, against ``max_uncompressed``.

Long posts ("note tweets"): tweets.js holds only their first ~280 characters, note-tweet.js their full
text, and nothing links the two. A note replaces a tweet's text when either
  - the tweet's visible text (without the trailing "…" and t.co links X appends) is a non-empty prefix
    of the note's text and both were created within 10 minutes, or
  - both were created in the same second.
A tweet takes the note matching both ways first, then by prefix (closest in time), then by time alone;
each note is used at most once, retweets never take one, and unmatched notes are ignored.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from bisect import bisect_left, bisect_right
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import BinaryIO

from ..config import DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB
from ..exceptions import ImportFailed, UploadTooLarge
from .records import (
    NAME_THE_ACCOUNT,
    ImportedAccount,
    ImportedTweet,
    as_seekable,
    decode_post_text,
    is_retweet_text,
    peek,
    validate_handle,
)

DEFAULT_MAX_UNCOMPRESSED = DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB * 1024 * 1024
_CHUNK = 1 << 20
_PREFIX = re.compile(r"\s*window\.YTD\.(\w+)\.part\d+\s*")
_TWEETS_MEMBER = re.compile(r"(?P<root>(?:[^/]+/)?)data/tweets?(?:-part(?P<part>\d+))?\.js")
_ARCHIVE_TIME = re.compile(r"\w{3} (\w{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})")
_MONTHS = {
    m: i
    for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)
}
_NOTE_WINDOW = timedelta(minutes=10)
_AS_GIVEN = "upload the .zip exactly as X gave it to you."


def read_archive(
    data: bytes | BinaryIO, filename: str, username: str | None = None, max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED
) -> ImportedAccount:
    """Return the account and tweets of an X archive (source "archive").

    ``username`` is required for a lone tweets.js (it does not name its account); with a .zip it is
    optional and, if given, must match data/account.js. Raises ImportFailed for unreadable, malformed or
    unsafe input, UploadTooLarge past ``max_uncompressed`` bytes, InvalidHandle for a bad username.
    """
    stream = as_seekable(data)
    head = peek(stream, 4)
    if not head:
        raise ImportFailed(f"{filename} is empty.")
    if head.startswith(b"PK"):
        return _read_zip(stream, filename, username, max_uncompressed)
    if filename.lower().endswith(".zip"):
        raise ImportFailed(f"{filename} is not a zip file (it may be damaged or incomplete); {_AS_GIVEN}")
    return _read_single_js(stream, filename, username, max_uncompressed)


def _read_single_js(stream: BinaryIO, filename: str, username: str | None, limit: int) -> ImportedAccount:
    if username is None:
        raise ImportFailed(
            f"{filename} alone does not say whose tweets these are; {NAME_THE_ACCOUNT}, "
            "or upload the whole archive .zip."
        )
    handle = validate_handle(username)
    raw = stream.read(limit + 1)  # a lone file has no declared size; read at most one byte past the limit
    if len(raw) > limit:
        raise _too_large(filename, limit)
    tweets = _tweets_from(_parse_ytd(raw, filename, {"tweets", "tweet"}), filename)
    return _account(handle, tweets, filename)


def _read_zip(stream: BinaryIO, filename: str, username: str | None, limit: int) -> ImportedAccount:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise ImportFailed(f"{filename} is a damaged or incomplete zip file; {_AS_GIVEN}") from None
    with archive:
        members = {_check_safe(info).filename.replace("\\", "/"): info for info in archive.infolist()}
        root, parts = _tweet_parts(members, filename)
        account_js, note_js = f"{root}data/account.js", f"{root}data/note-tweet.js"
        wanted = parts + [name for name in (account_js, note_js) if name in members]
        if sum(members[name].file_size for name in wanted) > limit:
            raise _too_large(filename, limit)
        reader = _MemberReader(archive, members, filename, limit)
        tweets = [tweet for name in parts for tweet in _tweets_from(reader.ytd(name, {"tweets", "tweet"}), name)]
        handle, user_id, display = (
            _account_fields(reader.ytd(account_js, {"account"}), account_js)
            if account_js in members
            else (None, None, None)
        )
        if note_js in members:
            tweets = _attach_notes(tweets, _notes_from(reader.ytd(note_js, {"note_tweet"}), note_js))
    handle = _pick_handle(handle, username, filename)
    return _account(handle, tweets, filename, user_id, display)


class _MemberReader:
    """Reads archive members in memory, counting the bytes actually produced against the limit, because
    the sizes declared in a zip's headers are written by whoever made the zip."""

    def __init__(self, archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], filename: str, limit: int):
        self._archive, self._members, self._filename, self._left = archive, members, filename, limit

    def ytd(self, name: str, expected: set[str]) -> list:
        """Read member ``name`` and parse it with _parse_ytd."""
        return _parse_ytd(self._read(self._members[name]), name, expected)

    def _read(self, info: zipfile.ZipInfo) -> bytes:
        if info.flag_bits & 0x1:
            raise ImportFailed(f"{self._filename} is password-protected; {_AS_GIVEN}")
        chunks: list[bytes] = []
        try:
            with self._archive.open(info) as member:
                while chunk := member.read(min(_CHUNK, self._left + 1)):
                    self._left -= len(chunk)
                    if self._left < 0:
                        raise _too_large(self._filename, None)
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
            raise ImportFailed(
                f"{info.filename} in {self._filename} cannot be read: the archive is damaged or uses an "
                f"unsupported compression; {_AS_GIVEN}"
            ) from None
        return b"".join(chunks)


def _check_safe(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in name.split("/"):
        raise ImportFailed(
            f"The archive contains a file path that points outside it (“{name[:80]}”), which is unsafe; "
            f"it was refused. {_AS_GIVEN.capitalize()}"
        )
    return info


def _tweet_parts(members: dict[str, zipfile.ZipInfo], filename: str) -> tuple[str, list[str]]:
    """Return the archive's root folder ("" or "name/") and its tweet files in part order."""
    found = [(m["root"], int(m["part"] or 0), name) for name in members if (m := _TWEETS_MEMBER.fullmatch(name))]
    if not found:
        raise ImportFailed(f"{filename} has no data/tweets.js file; {_AS_GIVEN}")
    roots = {root for root, _, _ in found}
    if len(roots) > 1:
        raise ImportFailed(f"{filename} contains more than one archive; upload one account's archive at a time.")
    return roots.pop(), [name for _, _, name in sorted(found)]


def _too_large(filename: str, limit: int | None) -> UploadTooLarge:
    size = f" of {limit // (1024 * 1024)} MB" if limit is not None else ""
    return UploadTooLarge(f"The tweets in {filename} are larger than the limit{size} once unpacked; it was refused.")


def _parse_ytd(raw: bytes, name: str, expected: set[str]) -> list:
    """Strip ``window.YTD.<kind>.partN =`` and parse the rest as a JSON list."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed(f"{name} is not UTF-8 text; {_AS_GIVEN}") from None
    if not text.strip():
        raise ImportFailed(f"{name} is empty.")
    equals = text.find("=", 0, 200)
    prefix = _PREFIX.fullmatch(text[:equals]) if equals >= 0 else None
    if prefix is None:
        raise ImportFailed(
            f"{name} does not start like a file from an X archive (window.YTD.… =); it may have been edited. "
            f"{_AS_GIVEN.capitalize()}"
        )
    if prefix.group(1) not in expected:
        raise ImportFailed(f"{name} holds the archive's “{prefix.group(1)}” data, not tweets; {_AS_GIVEN}")
    try:
        value = json.loads(text[equals + 1 :])
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"{name} is damaged: its content is not valid JSON (line {exc.lineno}).") from None
    if not isinstance(value, list):
        raise ImportFailed(f"{name} is damaged: it should hold a list of entries.")
    return value


def _tweets_from(entries: list, name: str) -> list[ImportedTweet]:
    return [_tweet(entry, name, number) for number, entry in enumerate(entries, start=1)]


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
    body = decode_post_text(text)
    return ImportedTweet(
        id=tweet_id,
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
    return moment.astimezone(UTC)


def _account_fields(entries: list, name: str) -> tuple[str, str | None, str | None]:
    """Return (username, accountId, accountDisplayName) and nothing else: the email stays unread."""
    account = entries[0].get("account") if entries and isinstance(entries[0], dict) else None
    username = account.get("username") if isinstance(account, dict) else None
    if not isinstance(account, dict) or not isinstance(username, str):
        raise ImportFailed(f"{name} is damaged: it does not give the account's username.")
    user_id, display = account.get("accountId"), account.get("accountDisplayName")
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


def _notes_from(entries: list, name: str) -> list[tuple[datetime, str]]:
    """Return (createdAt in UTC, full text) of each long post in note-tweet.js."""
    notes = []
    for number, entry in enumerate(entries, start=1):
        note = entry.get("noteTweet") if isinstance(entry, dict) else None
        core = note.get("core") if isinstance(note, dict) else None
        text = core.get("text") if isinstance(core, dict) else None
        moment = _iso_time(note.get("createdAt")) if isinstance(note, dict) else None
        if not isinstance(text, str) or moment is None:
            raise ImportFailed(
                f"Long post {number} in {name} lacks its text or a readable createdAt; the file is damaged."
            )
        notes.append((moment, decode_post_text(text)))
    return notes


def _iso_time(value: object) -> datetime | None:
    """Parse an ISO 8601 time such as ``2023-06-06T13:02:35.000Z`` to UTC; None if it is not one."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _attach_notes(tweets: list[ImportedTweet], notes: list[tuple[datetime, str]]) -> list[ImportedTweet]:
    """Give truncated long posts their full text; the matching rule is in the module docstring.

    Both ways of matching need the two within _NOTE_WINDOW, so each tweet only looks at the notes of
    that window (found by bisection): archives can hold tens of thousands of tweets and many notes."""
    notes = sorted(notes)
    times = [moment for moment, _ in notes]
    used: set[int] = set()
    result = []
    for tweet in tweets:
        if not tweet.is_retweet:
            low = bisect_left(times, tweet.created_at - _NOTE_WINDOW)
            high = bisect_right(times, tweet.created_at + _NOTE_WINDOW)
            best = _best_note(tweet, [(i, notes[i]) for i in range(low, high) if i not in used])
            if best is not None:
                used.add(best)
                tweet = replace(tweet, text=notes[best][1])
        result.append(tweet)
    return result


def _best_note(tweet: ImportedTweet, candidates: list[tuple[int, tuple[datetime, str]]]) -> int | None:
    """Return the index of the note that fits ``tweet`` best, or None."""
    visible = _visible_text(tweet.text)
    ranked = []
    for index, (moment, text) in candidates:
        same_second = moment.replace(microsecond=0) == tweet.created_at
        prefix = bool(visible) and text.startswith(visible)
        if same_second or prefix:
            ranked.append(((not (same_second and prefix), not prefix, abs(moment - tweet.created_at)), index))
    return min(ranked)[1] if ranked else None


def _visible_text(text: str) -> str:
    """``text`` without the trailing "…" and t.co links X appends when it truncates a long post."""
    while True:
        text = text.rstrip().rstrip("…").rstrip()
        words = text.rsplit(None, 1)
        if not words or not words[-1].startswith("https://t.co/"):
            return text
        text = words[0] if len(words) == 2 else ""


def _account(
    handle: str, tweets: list[ImportedTweet], filename: str, user_id: str | None = None, display: str | None = None
) -> ImportedAccount:
    if not any(not tweet.is_retweet for tweet in tweets):
        what = "only retweets" if tweets else "no tweets at all"
        raise ImportFailed(f"{filename} has no original tweets ({what}); there is nothing to learn from.")
    return ImportedAccount(username=handle, source="archive", tweets=tweets, x_user_id=user_id, name=display)
