"""How sure one guess is, in a word and a plain sentence for the page and the API: graded on the guess's
own (calibrated) probability, apart from how good the model is on the accounts (the trust line)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# (level, least skill): the guess's probability's share of the way from chance to certainty at which each
# level starts (between 2 accounts: high from 0.90, fair from 0.75, some from 0.60; among 4: 0.85, 0.63, 0.40)
GUESS_LEVELS = (("high", 0.8), ("fair", 0.5), ("some", 0.2), ("low", float("-inf")))
MIN_SUPPORT = 1.0  # fewer known words beyond the accounts' commonest than this: nothing to go on
SHORT_TEXT = 5  # words: a single post shorter than this is "too short"
CLOSE = 0.15  # the two likeliest accounts within this probability of each other are "close"


@dataclass(frozen=True)
class GuessConfidence:
    """How sure one guess is: ``level`` "high", "fair", "some" or "low", and ``reason``, a sentence."""

    level: str
    reason: str


def guess_confidence(
    probabilities: np.ndarray,
    support: float,
    words: int,
    posts: int = 1,
    names: Sequence[str] | None = None,
) -> GuessConfidence:
    """Grade one guess from its probabilities over the candidates, the text's support (distinct known words
    beyond the accounts' commonest; summed over the posts of a set), its number of words and of posts.
    ``names`` are the candidates' handles in the order of ``probabilities``; without them the sentence
    names no account."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.size < 2:
        raise ValueError("a guess needs at least 2 candidates")
    chance = 1 / probabilities.size
    order = np.argsort(-probabilities, kind="stable")
    best, second = probabilities[order[0]], probabilities[order[1]]
    skill = (best - chance) / (1 - chance)
    level = next(level for level, floor in GUESS_LEVELS if skill >= floor)
    first = _name(names, order[0])
    what = "text" if posts == 1 else f"{posts} posts"
    if support < MIN_SUPPORT:
        return GuessConfidence(
            "low", f"This {what} shares almost no words with these accounts' posts, so the guess is close to chance."
        )
    if level in ("low", "some") and posts == 1 and words < SHORT_TEXT:
        return GuessConfidence(level, "This text is too short to tell them apart.")
    if level in ("low", "some") and best - second < CLOSE:
        if names is None:
            return GuessConfidence(level, f"The two likeliest accounts are close: the {what} fits both.")
        return GuessConfidence(level, f"{first} and {_name(names, order[1])} are close: the {what} fits both.")
    if level == "low":
        return GuessConfidence(
            level, f"The {what} has few words typical of any one account: the guess is little better than chance."
        )
    target = first or "the guessed account"
    if level == "some":
        return GuessConfidence(level, f"The {what} leans towards {target}, but not by much.")
    if level == "fair":
        return GuessConfidence(level, f"The {what} has several words typical of {target}.")
    if posts > 1:
        return GuessConfidence(level, f"Together, these {posts} posts point clearly to {target}.")
    return GuessConfidence(level, f"The text has many words typical of {target}.")


def _name(names: Sequence[str] | None, index: int) -> str:
    if names is None:
        return ""
    name = str(names[index])
    return name if name.startswith("@") else f"@{name}"
