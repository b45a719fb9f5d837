"""Decode a large JSON document value by value from a text stream, so a file of hundreds of MB never sits
in memory whole: X's archive data files (``ytd.py``) and Mastodon's ``outbox.json``.

Values are decoded with ``json.JSONDecoder.raw_decode`` over a sliding buffer: JSON, never evaluated. One
value may hold at most ``MAX_ENTRY_CHARS`` characters, and a value nested deeper than Python's JSON
decoder goes is refused (ImportFailed), not a RecursionError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from ..exceptions import ImportFailed

#: The most characters one entry of a data file may span: a post is at most 25,000 characters, and
#: its entities (links, mentions, media) add a few kilobytes.
MAX_ENTRY_CHARS = 1 << 20
_CHUNK = 1 << 16
_SPACE = re.compile(r"\s*")
_DECODER = json.JSONDecoder()


class JsonBuffer:
    """The unread part of a text stream, refilled on demand; ``thing`` is what one value should be ("a
    tweet") and ``maker`` who writes such files ("X"), for the messages."""

    def __init__(self, text: TextIO, name: str, thing: str, maker: str):
        self._text, self._name, self._data, self._pos, self._eof = text, name, "", 0, False
        self._thing, self._maker = thing, maker

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

    def items(self, where: Callable[[int], str]) -> Iterator[Any]:
        """Yield the values of the list whose ``[`` was just skipped, up to its ``]``; ``where(number)``
        names a value in the messages ("Entry 3 of tweets.js")."""
        if self.next_char() == "]":
            self.skip(1)
            return
        number = 0
        while True:
            number += 1
            yield self.value(where(number))
            separator = self.next_char()
            if separator == "]":
                self.skip(1)
                return
            if separator != ",":
                raise ImportFailed(f"{self._name} is damaged: its content is not valid JSON (after entry {number}).")
            self.skip(1)

    def value(self, where: str) -> Any:
        """Decode the JSON value at the current position: retried with more text while it may be cut off by
        the end of the buffer, up to MAX_ENTRY_CHARS. ``where`` names it in the messages."""
        self.next_char()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._data, self._pos)
            except json.JSONDecodeError:
                end = None
            except RecursionError:
                raise ImportFailed(f"{where} is nested too deeply to be {self._thing}; the file is damaged.") from None
            # A value ending at the buffer's end may be cut short (a number, a truncated object): read on.
            if end is not None and (end < len(self._data) or self._eof):
                self._pos = end
                return value
            if len(self._data) - self._pos > MAX_ENTRY_CHARS:
                raise ImportFailed(
                    f"{where} is longer than {MAX_ENTRY_CHARS:,} characters; "
                    f"the file is damaged or was not made by {self._maker}."
                )
            if not self._fill():
                if end is not None:  # it ended exactly at the end of the stream
                    self._pos = end
                    return value
                raise ImportFailed(
                    f"{self._name} is damaged: its content is not valid JSON ({where[:1].lower()}{where[1:]})."
                )
