"""Read a Mastodon account archive: the .zip an instance exports (Preferences › Import and export ›
Request your archive), with ``outbox.json`` (an ActivityStreams ``OrderedCollection`` of the account's
activities) and ``actor.json`` (the account: ``preferredUsername``, its ``id`` URL, which names the instance).

As the X archive: read as streams from the zip, never extracted nor evaluated; ``outbox.json`` decoded one
activity at a time (``jsonstream.py``), bounded by the bytes really read, the file count, a value's size and
nesting. A post is a ``Create`` of a ``Note`` (or a poll, ``Question``) addressed to the public (``to`` or,
unlisted, ``cc`` holding ``as:Public``) that answers no one, its HTML ``content`` read as the fetch reads it
(``mastodon_html.py``) and its content warning (``summary``) left out; boosts (``Announce``) are counted as
reposts and stored never; followers-only and direct posts and replies are left out, as the fetch does.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from ..config import DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB
from ..exceptions import ImportFailed, InvalidHandle
from .handles import parse_handle
from .jsonstream import JsonBuffer
from .mastodon_html import visible_text
from .records import (
    DEFAULT_MAX_POSTS_PER_ACCOUNT,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    REPOST_TIME,
    ImportedAccount,
    ImportedTweet,
    archive_key,
    as_seekable,
    batches,
    checked_id,
    checked_text,
    checked_time,
    peek,
)
from .zipsafe import Budget, open_zip

AS_GIVEN = "upload the .zip exactly as Mastodon gave it to you (Preferences › Import and export)."
PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
POST_TYPES = ("Note", "Question")
#: The longest HTML ``content`` read: the text a reader sees is at most MAX_TEXT_CHARS, and its markup
#: (paragraphs, links written twice) adds a few times that.
MAX_CONTENT_CHARS = 4 * MAX_TEXT_CHARS
_CHUNK = 1 << 16


def is_mastodon_archive(names: list[str]) -> bool:
    """Whether a zip holding these member names is a Mastodon archive (``outbox.json`` at its top, or under
    one folder), not an X one."""
    return any(name.replace("\\", "/").split("/")[-1] == "outbox.json" and name.count("/") <= 1 for name in names)


def stream_mastodon_archive(
    data: bytes | BinaryIO,
    filename: str,
    username: str | None = None,
    max_uncompressed: int = DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB * 1024 * 1024,
    max_posts: int = DEFAULT_MAX_POSTS_PER_ACCOUNT,
) -> Iterator[ImportedAccount]:
    """Yield the account of a Mastodon archive (platform "mastodon", source "archive", handle
    ``name@instance``) in batches. ``username``, if given, must be the archive's own handle. Raises
    ImportFailed for unreadable, malformed or unsafe input, UploadTooLarge past ``max_uncompressed`` bytes
    or ``max_posts`` posts."""
    stream = as_seekable(data)
    if not peek(stream, 4).startswith(b"PK"):
        raise ImportFailed(f"{filename} is not a zip file (it may be damaged or incomplete); {AS_GIVEN}")
    with open_zip(stream, filename, AS_GIVEN) as archive:
        members = {info.filename.replace("\\", "/"): info for info in archive.infolist()}
        outbox = next((name for name in members if is_mastodon_archive([name])), None)
        if outbox is None:
            raise ImportFailed(f"{filename} has no outbox.json; {AS_GIVEN}")
        actor_json = outbox.removesuffix("outbox.json") + "actor.json"
        if actor_json not in members:
            raise ImportFailed(
                f"{filename} has no actor.json beside its outbox.json, so it does not say whose "
                f"posts these are; {AS_GIVEN}"
            )
        budget = Budget(filename, max_uncompressed, "The posts")
        if members[outbox].file_size + members[actor_json].file_size > max_uncompressed:
            raise budget.too_large()

        def read(name: str, parse: Callable[[JsonBuffer], Iterator[Any]]) -> Iterator[Any]:
            info = members[name]
            if info.flag_bits & 0x1:
                raise ImportFailed(f"{filename} is password-protected; {AS_GIVEN}")
            try:
                with archive.open(info) as member:
                    text = io.TextIOWrapper(io.BufferedReader(budget.wrap(member), _CHUNK), encoding="utf-8-sig")
                    try:
                        yield from parse(JsonBuffer(text, name, "an activity", "Mastodon"))
                    finally:
                        text.detach()  # (closing the wrapper would close the member; its owner does)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
                raise ImportFailed(
                    f"{name} in {filename} cannot be read: the archive is damaged or uses an unsupported "
                    f"compression; {AS_GIVEN}"
                ) from None
            except UnicodeDecodeError:
                raise ImportFailed(f"{name} is not UTF-8 text; {AS_GIVEN}") from None

        [actor] = list(read(actor_json, lambda reader: _whole(reader, actor_json)))
        account = _account(actor, actor_json, username)
        activities = read(outbox, lambda reader: _activities(reader, outbox))
        posts = (
            post
            for number, activity in enumerate(activities, start=1)
            if (post := _post(activity, number, outbox)) is not None
        )
        yield from batches(
            account, posts, max_posts, filename, "posts", "boosts", "none public or unlisted that answers no one"
        )


def _whole(reader: JsonBuffer, name: str) -> Iterator[Any]:
    """The one JSON value of a small file (``actor.json``)."""
    if not reader.head(1).strip():
        raise ImportFailed(f"{name} is empty; {AS_GIVEN}")
    value = reader.value(f"The content of {name}")
    reader.expect_end()
    yield value


def _activities(reader: JsonBuffer, name: str) -> Iterator[Any]:
    """The ``orderedItems`` of the outbox, one at a time; its other members are read (and checked) whole."""
    if reader.next_char() != "{":
        raise ImportFailed(f"{name} is not an ActivityStreams collection (a JSON object); {AS_GIVEN}")
    reader.skip(1)
    found = False
    while (char := reader.next_char()) != "}":
        key = reader.value(f"A member's name in {name}") if char == '"' else None
        if not isinstance(key, str) or reader.next_char() != ":":
            raise ImportFailed(f"{name} is damaged: its content is not valid JSON.")
        reader.skip(1)
        if key == "orderedItems":
            if reader.next_char() != "[":
                raise ImportFailed(f"The orderedItems of {name} is not a list; the file is damaged.")
            reader.skip(1)
            yield from reader.items(lambda number: f"Activity {number} of {name}")
            found = True
        else:
            value = reader.value(f"The “{key[:40]}” of {name}")
            if key == "type" and value != "OrderedCollection":
                raise ImportFailed(f"{name} is not a Mastodon outbox (its type is not OrderedCollection); {AS_GIVEN}")
        if reader.next_char() == ",":
            reader.skip(1)
        elif reader.next_char() != "}":
            raise ImportFailed(f"{name} is damaged: its content is not valid JSON.")
    reader.skip(1)
    reader.expect_end()
    if not found:
        raise ImportFailed(f"{name} lists no activities (no orderedItems); {AS_GIVEN}")


def _account(actor: Any, name: str, given: str | None) -> ImportedAccount:
    """The account of ``actor.json``: ``preferredUsername@<host of its id>``, its display name, and a key
    made of its id (the actor's URL), so the same archive always meets the same account."""
    actor_id = actor.get("id") if isinstance(actor, dict) else None
    username = actor.get("preferredUsername") if isinstance(actor, dict) else None
    host = _host(actor_id)
    if not isinstance(actor_id, str) or not isinstance(username, str) or not host:
        raise ImportFailed(f"{name} is damaged: it does not give the account's preferredUsername and id.")
    try:
        handle = parse_handle(f"{username}@{host}", "mastodon").name
    except InvalidHandle:
        shown = f"{username[:40]}@{host[:60]}"
        raise ImportFailed(f"{name} names an account that is no Mastodon handle (“{shown}”).") from None
    if given is not None:
        handle = _given_handle(handle, given)
    display = actor.get("name")
    display = checked_text(display, f"The name in {name}", MAX_NAME_CHARS) if isinstance(display, str) else None
    return ImportedAccount(
        handle, "archive", platform="mastodon", name=display or None, key=archive_key("m:" + actor_id)
    )


def _host(url: Any) -> str | None:
    try:
        return urlsplit(url).hostname if isinstance(url, str) else None
    except ValueError:  # (an address that is not one: "http://[::1")
        return None


def _given_handle(own: str, given: str) -> str:
    """The handle the person gave, when it names this archive's account: the same name, on its instance or
    on the domain its instance serves (``name@example.com`` for an actor at ``social.example.com``)."""
    typed = parse_handle(given, "mastodon").name
    name, instance = own.split("@", 1)
    typed_name, typed_instance = typed.split("@", 1)
    if typed_name.lower() != name.lower() or not (
        instance == typed_instance or instance.endswith("." + typed_instance)
    ):
        raise ImportFailed(f"This archive belongs to @{own}, not @{typed}.")
    return f"{name}@{typed_instance}"


def _post(activity: Any, number: int, name: str) -> ImportedTweet | None:
    """The activity as a post (a boost as a repost, to be counted), or None where it is none to learn from."""
    where = f"Activity {number} of {name}"
    if not isinstance(activity, dict):
        raise ImportFailed(f"{where} is not an activity (a JSON object); the file is damaged.")
    kind = activity.get("type")
    if kind == "Announce":
        return ImportedTweet(
            id=_id(activity.get("id"), where, "announce"), text="", created_at=REPOST_TIME, is_retweet=True
        )
    if kind != "Create":
        return None
    note = activity.get("object")
    if not isinstance(note, dict):
        raise ImportFailed(f"{where} creates no post (its object is not one); the file is damaged.")
    if note.get("type") not in POST_TYPES or note.get("inReplyTo") or not _public(note, activity):
        return None
    content = note.get("content")
    content = content if isinstance(content, str) else ""
    if len(content) > MAX_CONTENT_CHARS:
        raise ImportFailed(
            f"The content of post {number} in {name} is {len(content):,} characters long; the most allowed is "
            f"{MAX_CONTENT_CHARS:,}."
        )
    text = checked_text(visible_text(content), f"The text of post {number} in {name}")
    published = note.get("published", activity.get("published"))
    return ImportedTweet(
        id=_id(note.get("id"), where, ""), text=text, created_at=checked_time(published, where, "date (published)")
    )


def _public(note: dict, activity: dict) -> bool:
    """Addressed to everyone: public (``to``) or unlisted (``cc``); followers-only and direct posts are not."""
    audience: list[Any] = []
    for holder in (note, activity):
        for field in ("to", "cc"):
            value = holder.get(field)
            audience += value if isinstance(value, list) else [value]
    return any(isinstance(who, str) and who in PUBLIC for who in audience)


def _id(value: Any, where: str, fallback: str) -> str:
    """The status id a post's URL ends with (``.../statuses/<id>``, as the fetch knows it); for a boost,
    whose activity URL ends in ``/activity``, the segment before it."""
    parts = [part for part in value.split("?")[0].split("/") if part] if isinstance(value, str) else []
    if parts and parts[-1] == "activity":
        parts.pop()
    if not parts:
        if fallback:
            return fallback
        raise ImportFailed(f"{where} is a post without an id; the file is damaged.")
    return checked_id(parts[-1], where)
