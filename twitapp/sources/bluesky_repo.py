"""Read a Bluesky repository export: the ``.car`` file of Settings › Account › Export my data (or
``com.atproto.sync.getRepo``), a CAR v1 file (``car.py``) whose root is the repository's signed commit
(its ``did``, and ``data``: the root of the Merkle search tree that maps ``collection/rkey`` to records).

The tree is walked without recursion, each node once; the records of ``app.bsky.feed.post`` become posts as
the fetch reads them (``bluesky.py``): the record key is the post's id, link facets are written out as
links, replies are left out and a quote keeps its own text; reposts (``app.bsky.feed.repost``) are counted,
never stored. The repository does not hold its handle: the person gives it, or the account is named by its DID.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from ..config import DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB
from ..exceptions import ImportFailed, InvalidHandle
from .bluesky import POST, with_links
from .car import Car, read_car
from .handles import parse_handle
from .records import (
    DEFAULT_MAX_POSTS_PER_ACCOUNT,
    MAX_NAME_CHARS,
    NAME_THE_ACCOUNT,
    REPOST_TIME,
    ImportedAccount,
    ImportedTweet,
    archive_key,
    as_seekable,
    batches,
    checked_id,
    checked_text,
    checked_time,
)
from .zipsafe import too_large

REPOST = "app.bsky.feed.repost"
PROFILE = "app.bsky.actor.profile/self"
MAX_DID_CHARS = 2048  # the AT Protocol's limit of a DID


def stream_bluesky_repo(
    data: bytes | BinaryIO,
    filename: str,
    username: str | None = None,
    max_uncompressed: int = DEFAULT_MAX_IMPORT_UNCOMPRESSED_MB * 1024 * 1024,
    max_posts: int = DEFAULT_MAX_POSTS_PER_ACCOUNT,
) -> Iterator[ImportedAccount]:
    """Yield the account of a Bluesky repository (platform "bluesky", source "archive", keyed by its DID)
    in batches, under the handle ``username`` (the repository does not say it), else its DID. Raises
    ImportFailed for a damaged, incomplete or odd file, UploadTooLarge past ``max_uncompressed`` bytes or
    ``max_posts`` posts."""
    stream = as_seekable(data)
    raw = stream.read(max_uncompressed + 1)
    if len(raw) > max_uncompressed:
        raise too_large(filename, max_uncompressed, "The posts")
    if not raw:
        raise ImportFailed(f"{filename} is empty.")
    car = read_car(raw, filename)
    commit = car.decode(car.roots[0], "the repository's commit (its root block)")
    did = commit.get("did") if isinstance(commit, dict) else None
    if not isinstance(did, str) or not did.startswith("did:") or len(did) > MAX_DID_CHARS or not did.isprintable():
        raise ImportFailed(f"{filename} is not a Bluesky repository: its root block is not a commit naming a DID.")
    handle = _handle(username, did, filename)
    records = list(_walk(car, commit.get("data")))
    profile = next((cid for key, cid in records if key == PROFILE), None)
    account = ImportedAccount(
        handle, "archive", platform="bluesky", name=_display_name(car, profile), key=archive_key(did)
    )
    posts = (post for key, cid in records if (post := _post(car, key, cid)) is not None)
    yield from batches(account, posts, max_posts, filename, "posts", "reposts", "no posts at all")


def _handle(given: str | None, did: str, filename: str) -> str:
    """The handle given, or else the DID itself (a Bluesky handle here too: a later fetch of that DID meets
    the account)."""
    if given is not None:
        return parse_handle(given, "bluesky").name
    try:
        return parse_handle(did, "bluesky").name
    except InvalidHandle:
        raise ImportFailed(
            f"{filename} is the repository of {did[:80]}, which does not hold its handle; {NAME_THE_ACCOUNT} "
            "(like name.bsky.social)."
        ) from None


def _walk(car: Car, root: Any) -> Iterator[tuple[str, bytes]]:
    """The (``collection/rkey``, record CID) of every entry of the tree under ``root``, in key order:
    a node's left subtree, then each entry followed by its right subtree (``t``); keys are stored as the
    previous key's first ``p`` bytes plus ``k``."""
    stack: list[tuple[bytes, None] | tuple[None, tuple[str, bytes]]] = [(root, None)]
    seen: set[bytes] = set()
    while stack:
        node_cid, leaf = stack.pop()
        if leaf is not None:
            yield leaf
            continue
        if not isinstance(node_cid, bytes) or node_cid in seen:
            raise ImportFailed(f"{car.name} is damaged: its tree of records is not a tree (a node is reached twice).")
        seen.add(node_cid)
        node = car.decode(node_cid, "a node of the repository's tree")
        entries = node.get("e") if isinstance(node, dict) else None
        if not isinstance(entries, list):
            raise ImportFailed(f"{car.name} is damaged: a node of its tree of records is not one.")
        work: list[tuple[bytes, None] | tuple[None, tuple[str, bytes]]] = []
        if node.get("l") is not None:
            work.append((node["l"], None))
        previous = b""
        for entry in entries:
            prefix, suffix = (entry.get("p"), entry.get("k")) if isinstance(entry, dict) else (None, None)
            value = entry.get("v") if isinstance(entry, dict) else None
            if not (isinstance(prefix, int) and 0 <= prefix <= len(previous) and isinstance(suffix, bytes)):
                raise ImportFailed(f"{car.name} is damaged: an entry of its tree of records has no valid key.")
            if not isinstance(value, bytes):
                raise ImportFailed(f"{car.name} is damaged: an entry of its tree of records points to no record.")
            previous = previous[:prefix] + suffix
            try:
                key = previous.decode("ascii")
            except UnicodeDecodeError:
                raise ImportFailed(f"{car.name} is damaged: a record key of its tree is not text.") from None
            work.append((None, (key, value)))
            if entry.get("t") is not None:
                work.append((entry["t"], None))
        stack.extend(reversed(work))


def _post(car: Car, key: str, cid: bytes) -> ImportedTweet | None:
    """The record at ``key`` as a post (a repost as one to be counted), or None for any other record."""
    collection, _, rkey = key.partition("/")
    if collection == REPOST:
        return ImportedTweet(
            id=checked_id(rkey, f"The repost {key[:80]}"), text="", created_at=REPOST_TIME, is_retweet=True
        )
    if collection != POST:
        return None
    where = f"The post {key[:80]}"
    record = car.decode(cid, f"the record of {key[:80]}")
    if not isinstance(record, dict) or record.get("$type", POST) != POST:
        raise ImportFailed(f"{where} in {car.name} is not a post record; the file is damaged.")
    if record.get("reply"):
        return None
    text = record.get("text", "")
    if not isinstance(text, str):
        raise ImportFailed(f"{where} in {car.name} has a text that is not text; the file is damaged.")
    text = checked_text(with_links(text, record.get("facets")), f"The text of {where[4:]}")
    return ImportedTweet(
        id=checked_id(rkey, where), text=text, created_at=checked_time(record.get("createdAt"), where, "createdAt")
    )


def _display_name(car: Car, profile: bytes | None) -> str | None:
    record = car.decode(profile, "the profile record") if profile is not None else None
    name = record.get("displayName") if isinstance(record, dict) else None
    if not isinstance(name, str) or not name.strip():
        return None
    return checked_text(name.strip()[:MAX_NAME_CHARS], f"The displayName of the profile in {car.name}")
