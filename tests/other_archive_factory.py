"""Build Mastodon archives and Bluesky repository exports shaped like the real ones, in memory, for tests.

data = build_mastodon_archive("alice", "mastodon.example", [mastodon_note("1091", "<p>Hi</p>", WHEN)])
data = build_bluesky_repo("did:plc:abc", [bluesky_post("3kabc", "hello", WHEN)])   # bytes of a .car

The CAR writer is written here by hand (DAG-CBOR: canonical map order, CIDs as tag 42), so a test can also
write every odd file the reader must refuse: ``car_file``, ``cbor`` and ``varint`` are its parts.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


# --- Mastodon ---------------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mastodon_note(
    status_id: str,
    content: str,
    when: datetime,
    visibility: str = "public",
    reply_to: str | None = None,
    warning: str | None = None,
    actor: str = "https://mastodon.example/users/alice",
) -> dict:
    """A ``Create`` activity of a ``Note`` as Mastodon's outbox.json holds it; ``visibility`` is public,
    unlisted, private (followers only) or direct."""
    followers = f"{actor}/followers"
    to, cc = {
        "public": ([PUBLIC], [followers]),
        "unlisted": ([followers], [PUBLIC]),
        "private": ([followers], []),
        "direct": (["https://other.example/users/bob"], []),
    }[visibility]
    url = f"{actor}/statuses/{status_id}"
    note = {
        "id": url,
        "type": "Note",
        "summary": warning,
        "inReplyTo": reply_to,
        "published": _iso(when),
        "url": url.replace("/users/", "/@").replace("/statuses/", "/"),
        "attributedTo": actor,
        "to": to,
        "cc": cc,
        "sensitive": warning is not None,
        "atomUri": url,
        "conversation": f"tag:mastodon.example,2024:objectId={status_id}:objectType=Conversation",
        "content": content,
        "contentMap": {"en": content},
        "attachment": [],
        "tag": [],
        "replies": {"id": f"{url}/replies", "type": "Collection"},
    }
    return {
        "id": f"{url}/activity",
        "type": "Create",
        "actor": actor,
        "published": _iso(when),
        "to": to,
        "cc": cc,
        "object": note,
    }


def mastodon_boost(status_id: str, when: datetime, actor: str = "https://mastodon.example/users/alice") -> dict:
    """An ``Announce`` (a boost) of someone else's post: its object is that post's URL."""
    return {
        "id": f"{actor}/statuses/{status_id}/activity",
        "type": "Announce",
        "actor": actor,
        "published": _iso(when),
        "to": [PUBLIC],
        "cc": [f"{actor}/followers"],
        "object": "https://other.example/users/bob/statuses/42",
    }


def outbox_json(activities: Sequence[dict], actor: str = "https://mastodon.example/users/alice") -> bytes:
    return json.dumps(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": "outbox.json",
            "type": "OrderedCollection",
            "totalItems": len(activities),
            "orderedItems": list(activities),
        }
    ).encode()


def actor_json(username: str, instance: str, name: str = "Alice") -> bytes:
    actor = f"https://{instance}/users/{username}"
    return json.dumps(
        {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Person",
            "following": f"{actor}/following",
            "followers": f"{actor}/followers",
            "inbox": f"{actor}/inbox",
            "outbox": "outbox.json",
            "preferredUsername": username,
            "name": name,
            "summary": "<p>Writes about the farm bill.</p>",
            "url": f"https://{instance}/@{username}",
            "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": "-----BEGIN PUBLIC KEY-----"},
            "icon": {"type": "Image", "mediaType": "image/png", "url": "avatar.png"},
        }
    ).encode()


def build_mastodon_archive(
    username: str,
    instance: str,
    activities: Sequence[dict],
    outbox: bytes | None = None,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """The bytes of an archive .zip as Mastodon exports it: outbox.json, actor.json, likes.json,
    bookmarks.json, the avatar and media; ``outbox`` replaces outbox.json's bytes, ``extra`` adds files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("outbox.json", outbox if outbox is not None else outbox_json(activities))
        archive.writestr("actor.json", actor_json(username, instance))
        archive.writestr("likes.json", json.dumps({"type": "OrderedCollection", "orderedItems": []}))
        archive.writestr("bookmarks.json", json.dumps({"type": "OrderedCollection", "orderedItems": []}))
        archive.writestr("avatar.png", b"\x89PNG not really a picture")
        archive.writestr("media_attachments/files/109/original/a.jpg", b"\xff\xd8 not really a jpeg")
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- Bluesky: DAG-CBOR and CAR -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A CID link in DAG-CBOR (tag 42)."""

    cid: bytes


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for extra, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if value < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | extra]) + struct.pack(fmt, value)
    raise ValueError(value)


def cbor(value: Any) -> bytes:
    """DAG-CBOR of ``value``: maps with text keys in canonical order (shorter first), ``Link`` as tag 42."""
    if value is None:
        return b"\xf6"
    if value is True or value is False:
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return _head(3, len(raw)) + raw
    if isinstance(value, Link):
        return b"\xd8\x2a" + cbor(b"\x00" + value.cid)
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: (len(kv[0].encode()), kv[0].encode()))
        return _head(5, len(items)) + b"".join(cbor(k) + cbor(v) for k, v in items)
    raise TypeError(type(value))


def cid_of(block: bytes) -> bytes:
    """The CIDv1 (dag-cbor, sha2-256) of a block, as bytes."""
    return b"\x01\x71\x12\x20" + hashlib.sha256(block).digest()


def car_file(root: bytes, blocks: Sequence[bytes], header: bytes | None = None) -> bytes:
    """A CAR v1 file: the header naming ``root``, then each block as varint(length) CID data."""
    head = header if header is not None else cbor({"version": 1, "roots": [Link(root)]})
    body = b"".join(varint(len(cid_of(b)) + len(b)) + cid_of(b) + b for b in blocks)
    return varint(len(head)) + head + body


def bluesky_post(
    rkey: str, text: str, when: datetime, facets: list | None = None, reply: bool = False, embed: dict | None = None
) -> tuple[str, dict]:
    """(``app.bsky.feed.post/<rkey>``, its record) as the lexicon writes it."""
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": _iso(when), "langs": ["en"]}
    if facets:
        record["facets"] = facets
    if reply:
        parent = {"uri": "at://did:plc:other/app.bsky.feed.post/3kzzz", "cid": "bafyreib"}
        record["reply"] = {"root": parent, "parent": parent}
    if embed:
        record["embed"] = embed
    return f"app.bsky.feed.post/{rkey}", record


def bluesky_repost(rkey: str, when: datetime) -> tuple[str, dict]:
    subject = {"uri": "at://did:plc:other/app.bsky.feed.post/3kyyy", "cid": "bafyreic"}
    record = {"$type": "app.bsky.feed.repost", "subject": subject, "createdAt": _iso(when)}
    return f"app.bsky.feed.repost/{rkey}", record


def bluesky_profile(name: str) -> tuple[str, dict]:
    return "app.bsky.actor.profile/self", {"$type": "app.bsky.actor.profile", "displayName": name}


def link_facet(text: str, label: str, uri: str) -> dict:
    start = text.encode().index(label.encode())
    return {
        "index": {"byteStart": start, "byteEnd": start + len(label.encode())},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
    }


def build_bluesky_repo(did: str, records: Sequence[tuple[str, dict]], fanout: int = 4) -> bytes:
    """A repository export: the commit (root), a two-level search tree over the records' keys (a root node
    whose left subtree and entries' right subtrees hold the other keys, prefix-compressed), the records."""
    blocks: list[bytes] = []
    record_cids: dict[str, bytes] = {}
    for key, record in records:
        block = cbor(record)
        blocks.append(block)
        record_cids[key] = cid_of(block)
    keys = sorted(record_cids)

    def node(entries: list[str], left: bytes | None, rights: list[bytes | None]) -> bytes:
        out, previous = [], b""
        for key, right in zip(entries, rights):
            raw = key.encode()
            common = next((i for i, (a, b) in enumerate(zip(previous, raw)) if a != b), min(len(previous), len(raw)))
            out.append(
                {"p": common, "k": raw[common:], "v": Link(record_cids[key]), "t": Link(right) if right else None}
            )
            previous = raw
        block = cbor({"l": Link(left) if left else None, "e": out})
        blocks.append(block)
        return cid_of(block)

    tops = keys[fanout :: fanout + 1]
    groups: list[list[str]] = [[]]
    for key in keys:
        if key in tops:
            groups.append([])
        else:
            groups[-1].append(key)
    subtrees = [node(g, None, [None] * len(g)) if g else None for g in groups]
    root = node(tops, subtrees[0], subtrees[1:])
    commit = cbor({"did": did, "version": 3, "data": Link(root), "rev": "3kabcdefghij2", "prev": None, "sig": b"s" * 9})
    blocks.insert(0, commit)
    return car_file(cid_of(commit), blocks)
