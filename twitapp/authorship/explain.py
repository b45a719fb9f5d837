"""Which words of a text pushed towards an account: an exact decomposition of the model's score.

Every n-gram block enters the final regression linearly (its naive Bayes scores, and the direct features),
so each n-gram occurrence's share of the target's score against the other candidates is exact; n-grams are
credited to the chunk (a word with the punctuation around it, see :func:`ngrams.chunk_cores`) they fall
in, and a word's shares are summed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .features import DirectFeatures
from .ngrams import Ngrams, chunk_cores, normalize_with_origins


@dataclass(frozen=True)
class Evidence:
    """A word of the text and how much it pushed towards the target account (> 0)."""

    term: str
    weight: float
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Decomposition:
    """The target's score against the other candidates, ``log p(target) - sum_o w_o log p(o)`` with the
    others weighted by their probabilities (w_o = p(o) / sum of the others'), split exactly: ``shares[i]``
    is the part of the n-grams credited to chunk ``spans[i]`` of the text, ``rest`` the part of everything
    else (the embedding, the style counts, the intercepts)."""

    spans: list[tuple[int, int]]
    shares: np.ndarray
    rest: float


def chunk_spans(text: str) -> list[tuple[int, int]]:
    """Offsets in ``text`` of the cores of its chunks (see :func:`ngrams.chunk_cores`): its words without
    the punctuation or markup around them, a link whole, a run of nothing but punctuation or emoji whole."""
    doc, origins = normalize_with_origins(text)
    return [(origins[start][0], origins[end - 1][1]) for start, end in chunk_cores(doc)]


def contrast(coef: np.ndarray, probabilities: np.ndarray, target: int) -> np.ndarray:
    """Gradient of log(p_target / (1 - p_target)) with respect to the regression's features: the target's
    coefficients minus the others', weighted by the others' probabilities."""
    if coef.shape[0] == 1:  # binary: scikit-learn keeps only the second class's row
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
    others = np.delete(np.arange(len(probabilities)), target)
    mix = probabilities[others] / max(probabilities[others].sum(), 1e-12)
    return coef[target] - mix @ coef[others]


def chunk_shares(
    n_chunks: int,
    direction: np.ndarray,
    rows: list[tuple[Ngrams, sparse.csr_matrix]],
    block_weights: list[np.ndarray],
    direct_block: int,
    direct: DirectFeatures,
) -> np.ndarray:
    """Each chunk's share of ``direction`` (from :func:`contrast`) times the regression's features that the
    n-grams carry, from each block's occurrences and TF-IDF row of one text; the shares add up to exactly
    that part."""
    direct_start = direction.size - direct.n_features_
    per_chunk = np.zeros(n_chunks)
    start = 0
    for index, ((occ, matrix), weights_of_block) in enumerate(zip(rows, block_weights)):
        width = weights_of_block.shape[1]
        block_direction = direction[start : start + width]
        start += width
        known = occ.keys >= 0
        assert occ.chunks is not None
        cols, chunks = occ.keys[known], occ.chunks[known]
        if not cols.size:
            continue
        # each distinct n-gram's TF-IDF value times its weight, shared among its occurrences
        distinct, which, times = np.unique(cols, return_inverse=True, return_counts=True)
        values = matrix.data[np.searchsorted(matrix.indices, distinct)]
        weights = weights_of_block[distinct] @ block_direction
        if index == direct_block:  # and as direct features of the regression
            own = direct.column_[distinct]
            weights[own >= 0] += direct.scale * direction[direct_start + own[own >= 0]]
        np.add.at(per_chunk, chunks, (values * weights / times)[which])
    return per_chunk


def top_evidence(text: str, spans: list[tuple[int, int]], shares: np.ndarray, top: int) -> list[Evidence]:
    """Group chunk shares by word (case-insensitive), keep the positive ones, strongest first."""
    grouped: dict[str, tuple[str, float, list[tuple[int, int]]]] = {}
    for (start, end), weight in zip(spans, shares):
        term = text[start:end]
        first, total, where = grouped.get(term.lower(), (term, 0.0, []))
        grouped[term.lower()] = (first, total + float(weight), [*where, (start, end)])
    ranked = sorted((e for e in grouped.values() if e[1] > 0), key=lambda e: -e[1])
    return [Evidence(term, weight, tuple(where)) for term, weight, where in ranked[:top]]
