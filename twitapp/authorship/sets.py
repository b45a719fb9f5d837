"""Several posts of one author at once: their per-post probabilities combined into one verdict.

The posts' log-probabilities are summed and tempered, ``softmax(n ** -exponent * sum log p)``: with
exponent 0 the posts count as independent (a product, naive Bayes over posts), with 1 as one post (a
geometric mean). Posts of one author are correlated, so the exponent is fitted per set of accounts on the
out-of-fold probabilities of sets of stored posts of one account from one stretch of time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax

SET_SIZES = (3, 5, 10, 25)  # sizes of the stored post sets the exponent is fitted on
SETS_PER_GROUP = 20  # sets drawn per fold, account and size
EXPONENTS = np.round(np.arange(0.0, 1.001, 0.05), 2)  # 0: independent posts; 1: a geometric mean
EPS = 1e-12


@dataclass(frozen=True)
class SetEvidence:
    """A word of the posts and how much it pushed the combined verdict towards the winner (> 0), summed
    over the posts it is in (``posts``: their indices)."""

    term: str
    weight: float
    posts: tuple[int, ...]


@dataclass
class SetPrediction:
    """The verdict of several posts of one author: the combined ``probabilities`` over the classes, each
    post's own (``per_post``, rows), each post's ``weights`` (its share of the winner's score against the
    others in the combined verdict: the posts that weighed most have the largest), each post's support
    and words, and the words that weighed most over all posts."""

    probabilities: np.ndarray
    per_post: np.ndarray
    weights: np.ndarray
    support: np.ndarray
    words: np.ndarray
    evidence: list[SetEvidence]
    exponent: float

    @property
    def winner(self) -> int:
        return int(np.argmax(self.probabilities))


def set_factor(n: int, exponent: float) -> float:
    """What each post's log-probabilities are multiplied by in a set of ``n``."""
    return float(max(n, 1) ** -exponent)


def combine(log_probabilities: np.ndarray, exponent: float) -> np.ndarray:
    """(..., n, k) per-post log-probabilities -> (..., k) combined probabilities."""
    n = log_probabilities.shape[-2]
    return np.exp(log_softmax(set_factor(n, exponent) * log_probabilities.sum(axis=-2), axis=-1))


def others_mix(log_probabilities: np.ndarray, exponent: float) -> np.ndarray:
    """The combined probabilities with the others' (all but the winner's) replaced by their shares among
    the others, computed from the logits (no underflow however sure the verdict is): what
    :func:`explain.contrasts` weighs the others by."""
    scores = set_factor(len(log_probabilities), exponent) * log_probabilities.sum(axis=0)
    winner = int(np.argmax(scores))
    others = np.delete(np.arange(scores.size), winner)
    mix = np.exp(log_softmax(scores))
    mix[others] = np.exp(log_softmax(scores[others]))
    return mix


def post_weights(log_probabilities: np.ndarray, exponent: float) -> np.ndarray:
    """Each post's share of the combined winner's log-probability against the others' (weighted by their
    combined probabilities); the shares add up to it exactly."""
    mix = others_mix(log_probabilities, exponent)
    winner = int(np.argmax(log_probabilities.sum(axis=0)))
    others = np.delete(np.arange(mix.size), winner)
    factor = set_factor(len(log_probabilities), exponent)
    return factor * (log_probabilities[:, winner] - log_probabilities[:, others] @ mix[others])


def fit_exponent(probabilities: np.ndarray, y: np.ndarray, folds: list[np.ndarray], random_state: int = 0) -> float:
    """The exponent that makes sets of one account's posts from one fold (a stretch of time), drawn from
    ``probabilities`` (out-of-fold, rows as ``y``), most likely to be the account's, among ``EXPONENTS``."""
    rng = np.random.default_rng(random_state)
    logs = np.log(np.clip(probabilities, EPS, 1))
    by_size: dict[int, tuple[list[np.ndarray], list[int]]] = {}  # (sets stacked per size: one combine each)
    for rows in folds:
        for label in np.unique(y[rows]):
            own = rows[y[rows] == label]
            for n in SET_SIZES:
                if n <= own.size:
                    picks = np.stack([rng.choice(own, n, replace=False) for _ in range(SETS_PER_GROUP)])
                    drawn, labels = by_size.setdefault(n, ([], []))
                    drawn.append(logs[picks])
                    labels += [int(label)] * SETS_PER_GROUP
    if not by_size:
        return 0.0
    stacked = [(np.concatenate(drawn), np.array(labels)) for drawn, labels in by_size.values()]
    losses = []
    for exponent in EXPONENTS:
        total = 0.0
        for set_logs, accounts in stacked:
            total -= np.log(np.clip(combine(set_logs, exponent)[np.arange(accounts.size), accounts], EPS, 1)).sum()
        losses.append(total)
    return float(EXPONENTS[int(np.argmin(losses))])


def set_evidence(per_post: list[tuple[str, list[tuple[int, int]], np.ndarray]], top: int) -> list[SetEvidence]:
    """Words' shares over all posts (each post's text, chunk spans and shares of the combined verdict),
    grouped case-insensitively, the positive ones, strongest first."""
    grouped: dict[str, tuple[str, float, set[int]]] = {}
    for index, (text, spans, shares) in enumerate(per_post):
        for (start, end), weight in zip(spans, shares):
            term = text[start:end]
            first, total, posts = grouped.get(term.lower(), (term, 0.0, set()))
            grouped[term.lower()] = (first, total + float(weight), posts | {index})
    ranked = sorted((e for e in grouped.values() if e[1] > 0), key=lambda e: -e[1])
    return [SetEvidence(term, weight, tuple(sorted(posts))) for term, weight, posts in ranked[:top]]
