"""Parse an X archive data file (``window.YTD.<kind>.partN = [ {...}, ... ]``) entry by entry from a
text stream, so a 200 MB tweets.js never sits in memory whole.

The prefix is checked and skipped; the list's entries are decoded one at a time with
``json.JSONDecoder.raw_decode`` over a sliding buffer: JSON, never evaluated. One entry may hold at most
``MAX_ENTRY_CHARS`` characters, and an entry nested deeper than Python's JSON decoder goes is refused
(ImportFailed), not a RecursionError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, TextIO

from ..exceptions import ImportFailed
from .jsonstream import MAX_ENTRY_CHARS, JsonBuffer

__all__ = ["MAX_ENTRY_CHARS", "iter_entries"]
_PREFIX = re.compile(r"\s*window\.YTD\.(\w+)\.part\d+\s*")


def iter_entries(text: TextIO, name: str, expected: set[str], as_given: str) -> Iterator[Any]:
    """Yield the entries of the archive file ``name`` read from ``text``; raise ImportFailed if it is not
    such a file, is of another ``kind`` than ``expected``, or is damaged."""
    buffer = JsonBuffer(text, name, "a tweet", "X")
    head = buffer.head(200)
    if not head.strip():
        raise ImportFailed(f"{name} is empty.")
    equals = head.find("=")
    prefix = _PREFIX.fullmatch(head[:equals].lstrip("\ufeff")) if equals >= 0 else None
    if prefix is None:
        raise ImportFailed(
            f"{name} does not start like a file from an X archive (window.YTD.… =); it may have been edited. "
            f"{as_given.capitalize()}"
        )
    if prefix.group(1) not in expected:
        raise ImportFailed(f"{name} holds the archive's “{prefix.group(1)}” data, not tweets; {as_given}")
    buffer.skip(equals + 1)
    if buffer.next_char() != "[":
        raise ImportFailed(f"{name} is damaged: its content is not valid JSON (it should hold a list of entries).")
    buffer.skip(1)
    yield from buffer.items(lambda number: f"Entry {number} of {name}")
    buffer.expect_end()
