"""Parse an X archive data file (``window.YTD.<kind>.partN = [ {...}, ... ]``) entry by entry from a
text stream, so a 200 MB tweets.js never sits in memory whole.

The prefix is checked and skipped; the list's entries are decoded one at a time with
``json.JSONDecoder.raw_decode`` over a sliding buffer: JSON, never evaluated. One entry may hold at most
``MAX_ENTRY_CHARS`` characters, and an entry nested deeper than Python's JSON decoder goes is refused
(ImportFailed), not a RecursionError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

from ..exceptions import ImportFailed

#: The most characters one entry of a data file may span: a post is at most 25,000 characters, and
#: its entities (links, mentions, media) add a few kilobytes.
MAX_ENTRY_CHARS = 1 << 20
_CHUNK = 1 << 16
_PREFIX = re.compile(r"\s*window\.YTD\.(\w+)\.part\d+\s*")
_SPACE = re.compile(r"\s*")
_DECODER = json.JSONDecoder()


def iter_entries(text: TextIO, name: str, expected: set[str], as_given: str) -> Iterator[Any]:
    """Yield the entries of the archive file ``name`` read from ``text``; raise ImportFailed if it is not
    such a file, is of another ``kind`` than ``expected``, or is damaged."""
    buffer = _Buffer(text, name)
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
    if buffer.next_char() == "]":
        buffer.skip(1)
        buffer.expect_end()
        return
    number = 0
    while True:
        number += 1
        yield buffer.value(number)
        separator = buffer.next_char()
        if separator == "]":
            buffer.skip(1)
            buffer.expect_end()
            return
        if separator != ",":
            raise ImportFailed(f"{name} is damaged: its content is not valid JSON (after entry {number}).")
        buffer.skip(1)


class _Buffer:
    """The unread part of a text stream, refilled on demand."""

    def __init__(self, text: TextIO, name: str):
        self._text, self._name, self._data, self._pos, self._eof = text, name, "", 0, False

    def _fill(self) -> bool:
        """Read one more chunk; False at the end of the stream."""
        if self._eof:
            return False
        chunk = self._text.read(_CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._data = self._data[self._pos :] + chunk
        self._pos = 0
        return True

    def head(self, size: int) -> str:
        while len(self._data) - self._pos < size and self._fill():
            pass
        return self._data[self._pos : self._pos + size]

    def skip(self, count: int) -> None:
        self._pos += count

    def next_char(self) -> str:
        """Skip white space; return the next character ("" at the end)."""
        while True:
            self._pos = _SPACE.match(self._data, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._data) or not self._fill():
                return self._data[self._pos : self._pos + 1]

    def expect_end(self) -> None:
        tail = self.next_char()
        if tail == ";":
            self.skip(1)
            tail = self.next_char()
        if tail:
            raise ImportFailed(f"{self._name} is damaged: there is more after its list of entries.")

    def value(self, number: int) -> Any:
        """Decode the JSON value at the current position: retried with more text while it may be cut off by
        the end of the buffer, up to MAX_ENTRY_CHARS."""
        self.next_char()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._data, self._pos)
            except json.JSONDecodeError:
                end = None
            except RecursionError:
                raise ImportFailed(
                    f"Entry {number} of {self._name} is nested too deeply to be a tweet; the file is damaged."
                ) from None
            # A value ending at the buffer's end may be cut short (a number, a truncated object): read on.
            if end is not None and (end < len(self._data) or self._eof):
                self._pos = end
                return value
            if len(self._data) - self._pos > MAX_ENTRY_CHARS:
                raise ImportFailed(
                    f"Entry {number} of {self._name} is longer than {MAX_ENTRY_CHARS:,} characters; "
                    "the file is damaged or was not made by X."
                )
            if not self._fill():
                raise ImportFailed(f"{self._name} is damaged: its content is not valid JSON (entry {number}).")
