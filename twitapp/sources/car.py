"""Read a CAR v1 file (the Content Addressable aRchive a Bluesky repository is exported as) block by block,
with its DAG-CBOR decoded by ``libipld`` (the library the atproto SDK uses), never evaluated.

The framing (varint lengths, CIDs) is read here first, so that every way a file can be damaged gets its
own message before anything is decoded: a truncated block, a bad varint, a block claiming more bytes than
MAX_BLOCK_BYTES or than the file holds, more than MAX_BLOCKS blocks, a block whose bytes do not hash to its
CID. Blocks are then decoded one at a time, on demand; a value nested too deeply is refused, not a crash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import libipld

from ..exceptions import ImportFailed

#: The most blocks read: a repository holds one per record (posts, likes, follows...) and its tree's nodes.
MAX_BLOCKS = 500_000
#: The largest block: an atproto record is at most 1 MiB; the tree's nodes are far smaller.
MAX_BLOCK_BYTES = 2 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
_SHA256 = 0x12
_DAG_CBOR = 0x71


class _Damaged(Exception):
    """Raised by the framing readers; turned into an ImportFailed naming the file and where."""


@dataclass
class Car:
    """A CAR file's roots and the place of each of its blocks in ``data``."""

    name: str
    data: bytes
    roots: list[bytes]
    blocks: dict[bytes, tuple[int, int]]

    def decode(self, cid: Any, what: str) -> Any:
        """The DAG-CBOR value of the block ``cid`` (a link as libipld decodes it: the CID's bytes)."""
        if not isinstance(cid, bytes) or cid not in self.blocks:
            raise ImportFailed(
                f"{self.name} is incomplete: {what} is not in it (a partial export?); export the whole repository."
            )
        start, end = self.blocks[cid]
        try:
            return libipld.decode_dag_cbor(self.data[start:end])
        except RecursionError:
            raise ImportFailed(
                f"{what.capitalize()} in {self.name} is nested too deeply; the file is damaged."
            ) from None
        except (ValueError, TypeError, OverflowError):
            raise ImportFailed(
                f"{what.capitalize()} in {self.name} is not valid DAG-CBOR; the file is damaged."
            ) from None


def looks_like_car(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a CAR v1 file: a varint, then a DAG-CBOR map naming its
    ``roots`` and ``version`` (what decides an upload's kind before its name does)."""
    try:
        length, at = _varint(head, 0)
    except _Damaged:
        return False
    return 0 < length <= MAX_HEADER_BYTES and head[at : at + 1] in (b"\xa2", b"\xa1") and b"version" in head[:120]


def read_car(data: bytes, name: str, max_blocks: int = MAX_BLOCKS) -> Car:
    """The CAR file ``data`` framed into its blocks (each checked against its CID's SHA-256), or ImportFailed
    saying what is wrong with it."""
    if not looks_like_car(data[:128]):
        raise ImportFailed(
            f"{name} is not a CAR file (a Bluesky repository export); it may be damaged or of another kind."
        )
    try:
        length, at = _varint(data, 0)
        header = _header(data[at : at + length], name)
        at += length
        blocks: dict[bytes, tuple[int, int]] = {}
        number = 0
        while at < len(data):
            number += 1
            if number > max_blocks:
                raise ImportFailed(
                    f"{name} holds more than {max_blocks:,} blocks, more than this app reads of a repository; "
                    "it was refused."
                )
            size, at = _varint(data, at, f"block {number}")
            if size > MAX_BLOCK_BYTES:
                raise ImportFailed(
                    f"Block {number} of {name} claims {size:,} bytes, more than a repository's block may hold "
                    f"({MAX_BLOCK_BYTES:,}); the file is damaged."
                )
            end = at + size
            if end > len(data):
                raise ImportFailed(
                    f"{name} is cut short: block {number} claims {size:,} bytes and {len(data) - at:,} are left; "
                    "the download was probably incomplete."
                )
            cid_end = _check_block(data, at, end, f"block {number}")
            blocks[data[at:cid_end]] = (cid_end, end)
            at = end
    except _Damaged as exc:
        raise ImportFailed(f"{name} is damaged: {exc}.") from None
    return Car(name, data, header, blocks)


def _header(raw: bytes, name: str) -> list[bytes]:
    try:
        header = libipld.decode_dag_cbor(raw)
    except (ValueError, TypeError, OverflowError, RecursionError):
        header = None
    roots = header.get("roots") if isinstance(header, dict) else None
    if not isinstance(header, dict) or header.get("version") != 1 or not isinstance(roots, list):
        raise ImportFailed(f"{name} does not start like a CAR v1 file (its header is damaged or of another version).")
    if not roots or not all(isinstance(root, bytes) for root in roots):
        raise ImportFailed(f"{name} names no root block; it is not a repository export.")
    return roots


def _check_block(data: bytes, start: int, end: int, where: str) -> int:
    """Where the block's data starts, after its CID; the block's bytes must hash to the CID's digest."""
    if data[start : start + 2] == b"\x12\x20":  # a CIDv0: a bare SHA-256 multihash
        code, digest_at, size = _SHA256, start + 2, 32
    else:
        version, at = _varint(data, start, where)
        if version != 1:
            raise _Damaged(f"{where} has a CID of unknown version {version}")
        _codec, at = _varint(data, at, where)
        code, at = _varint(data, at, where)
        size, digest_at = _varint(data, at, where)
    cid_end = digest_at + size
    if cid_end > end:
        raise _Damaged(f"{where} is shorter than its own CID")
    if code == _SHA256 and hashlib.sha256(data[cid_end:end]).digest() != data[digest_at:cid_end]:
        raise _Damaged(f"the bytes of {where} do not match its CID (it was altered or cut)")
    return cid_end


def _varint(data: bytes, at: int, where: str = "its header") -> tuple[int, int]:
    """An unsigned LEB128 varint at ``at`` (at most 9 bytes, as multiformats allows) and where it ends."""
    value = shift = 0
    for index in range(at, min(at + 9, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index + 1
        shift += 7
    if at + 9 > len(data):
        raise _Damaged(f"the length of {where} is cut short")
    raise _Damaged(f"the length of {where} is not a valid varint")
