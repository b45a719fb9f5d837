"""How long a guessed post may be: the longest post the chosen accounts' platforms allow (X 280 characters,
Bluesky 300 graphemes), so a post written for any of them fits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..exceptions import InvalidHandle, InvalidInput
from ..sources.handles import PLATFORM_NAMES, TEXT_LIMITS, graphemes, parse_handle

#: Bluesky's lexicon bounds a post's text at 300 graphemes and 3,000 UTF-8 bytes, so at most 3,000 characters.
BLUESKY_MAX_BYTES = 3000


@dataclass(frozen=True)
class TextLimit:
    """The limit of one guess: ``length`` in ``unit`` ("characters" or "graphemes"), that of ``platform``."""

    platform: str
    length: int
    unit: str

    @property
    def max_chars(self) -> int:
        """The most characters (code points) a post within the limit can hold: the bound the question
        readers check (``services.questions``); graphemes are then checked by :meth:`check`."""
        return BLUESKY_MAX_BYTES if self.unit == "graphemes" else self.length

    def check(self, texts: Sequence[str]) -> None:
        """InvalidInput when a text is longer than the limit as its platform counts it."""
        if self.unit != "graphemes":
            return
        for number, text in enumerate(texts, 1):
            size = graphemes(text)
            if size > self.length or len(text.encode("utf-8")) > BLUESKY_MAX_BYTES:
                where = f"Post {number}: " if len(texts) > 1 else ""
                raise InvalidInput(
                    f"{where}a {PLATFORM_NAMES[self.platform]} post has at most {self.length} characters "
                    f"(graphemes) and {BLUESKY_MAX_BYTES:,} bytes; this one has {size:,} characters."
                )


def guess_limit(handles: Iterable[object], x_limit: int) -> TextLimit:
    """The longest post among the platforms of ``handles`` (their form says which; a malformed one is left
    to the prediction, which refuses it); X's is ``x_limit`` (the MAX_TWEET_LENGTH setting)."""
    platforms = set()
    for raw in handles if isinstance(handles, (list, tuple)) else ():
        try:
            platforms.add(parse_handle(raw).platform)
        except InvalidHandle:
            continue
    limits = [TextLimit("x", x_limit, "characters")] + [
        TextLimit(p, *TEXT_LIMITS[p]) for p in sorted(platforms - {"x"}) if p in TEXT_LIMITS
    ]
    return max(limits, key=lambda limit: limit.length) if platforms else limits[0]
