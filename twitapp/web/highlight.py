"""The typed text cut into plain and marked pieces at the evidence's spans, for ``result.html``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Piece:
    text: str
    term: str | None = None  # the evidence term this piece belongs to, or None for plain text
    rank: int | None = None  # 1 for the strongest evidence


def highlight(text: str, evidence: Sequence) -> list[Piece]:
    """``text`` cut into plain and marked pieces at the evidence's ``spans`` (character offsets).

    Overlapping spans go to the stronger evidence (earlier in the list); spans outside the text are
    ignored, so a stale explanation never breaks the page.
    """
    owner: list[int | None] = [None] * len(text)
    for rank, item in enumerate(evidence):
        for start, end in getattr(item, "spans", ()) or ():
            start, end = max(0, int(start)), min(len(text), int(end))
            for i in range(start, end):
                if owner[i] is None:
                    owner[i] = rank
    pieces: list[Piece] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and owner[j] == owner[i]:
            j += 1
        owned_by = owner[i]
        pieces.append(Piece(text[i:j]) if owned_by is None else Piece(text[i:j], evidence[owned_by].term, owned_by + 1))
        i = j
    return pieces
