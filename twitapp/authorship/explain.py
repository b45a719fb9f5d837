"""Which words of a text pushed towards an account: an exact decomposition of the model's score.

Every n-gram block enters the final regression linearly (its naive Bayes scores, and the direct features),
so each n-gram occurrence's share of the target's score against the other candidates is exact; n-grams are
credited to the chunk (a word with the punctuation around it, see :func:`ngrams.chunk_cores`) they fall
in, and a word's shares are summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .blocks import BlockRow
from .features import DirectFeatures
from .ngrams import chunk_cores, normalize_with_origins

_DENSE_CELLS = 1 << 16  # a text's (chunks x distinct n-grams) of a block held densely up to this many


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


def contrasts(
    coef: np.ndarray, probabilities: np.ndarray, targets: Sequence[int], columns: np.ndarray | None = None
) -> np.ndarray:
    """(targets, columns) gradients of each target's log(p_target / (1 - p_target)) with respect to the
    regression's features (``columns`` of them; all by default): the target's coefficients minus the
    others', weighted by the others' probabilities."""
    picked = coef if columns is None else coef[:, columns]
    if picked.shape[0] == 1:  # binary: scikit-learn keeps only the second class's row
        picked = np.vstack([np.zeros_like(picked[0]), picked[0]])
    k = len(probabilities)
    mix = np.zeros((len(targets), k))
    for row, target in enumerate(targets):
        others = np.delete(np.arange(k), target)
        mix[row, others] = -probabilities[others] / max(probabilities[others].sum(), 1e-12)
        mix[row, target] = 1.0
    return mix @ picked.astype(np.float64)


@dataclass(frozen=True)
class ShareBasis:
    """One text's n-grams as a linear map from a direction over the regression's features (a row of
    :func:`contrasts`) to each chunk's share of it: built once, it explains the text towards any account."""

    columns: np.ndarray  # the regression's features the text's n-grams carry: the blocks' scores, then direct ones
    scores: np.ndarray  # (chunks, blocks' scores)
    direct: np.ndarray | sparse.csr_matrix  # (chunks, the text's direct features)

    def shares(self, directions: np.ndarray) -> np.ndarray:
        """(chunks, k) shares of ``directions``, (k, columns) over :attr:`columns`."""
        width = self.scores.shape[1]
        return self.scores @ directions[:, :width].T + self.direct @ directions[:, width:].T


@dataclass
class TextRows:
    """One text's n-grams per block (:class:`blocks.BlockRow`), the spans of its chunks (:func:`chunk_spans`)
    and, once an explanation asked for it, its :class:`ShareBasis`."""

    blocks: list[BlockRow]
    spans: list[tuple[int, int]]
    basis: ShareBasis | None = None


def share_basis(
    n_chunks: int,
    rows: list[BlockRow],
    block_weights: list[np.ndarray],
    direct_block: int,
    direct: DirectFeatures,
    n_features: int,
) -> ShareBasis:
    """The basis of one text's chunk shares from each block's row of it: each distinct
    n-gram's TF-IDF value, shared among its occurrences, carries its block's naive Bayes weights (and, in
    the direct block, its own direct feature); the shares add up to exactly what the n-grams carry."""
    score_width = sum(weights.shape[1] for weights in block_weights)
    scores = np.zeros((n_chunks, score_width))
    direct_columns: np.ndarray = np.zeros(0, np.int64)
    direct_part: np.ndarray | sparse.csr_matrix = np.zeros((n_chunks, 0))
    start = 0
    for index, (row, weights_of_block) in enumerate(zip(rows, block_weights)):
        width = weights_of_block.shape[1]
        start += width
        occ = row.occurrences
        assert occ.chunks is not None
        chunks = occ.chunks[occ.keys >= 0]
        distinct, which, times, values = row.columns, row.which, row.times, row.values
        if not distinct.size or not n_chunks:
            continue
        # (chunk, distinct n-gram) -> the sum of its occurrences' shares of the n-gram's value
        cells: np.ndarray | sparse.csr_matrix
        if n_chunks * distinct.size <= _DENSE_CELLS:
            cells = np.bincount(
                chunks * distinct.size + which, (values / times)[which], minlength=n_chunks * distinct.size
            ).reshape(n_chunks, distinct.size)
        else:  # (a long text: most of its chunks x n-grams are empty)
            cells = sparse.csr_matrix(((values / times)[which], (chunks, which)), shape=(n_chunks, distinct.size))
        scores[:, start - width : start] += cells @ weights_of_block[distinct]
        if index == direct_block:  # and as direct features of the regression
            own = direct.column_[distinct]
            direct_columns = n_features - direct.n_features_ + own[own >= 0].astype(np.int64)
            direct_part = cells[:, own >= 0] * direct.scale
    return ShareBasis(np.concatenate([np.arange(score_width), direct_columns]), scores, direct_part)


def top_evidence(text: str, spans: list[tuple[int, int]], shares: np.ndarray, top: int) -> list[Evidence]:
    """Group chunk shares by word (case-insensitive), keep the positive ones, strongest first."""
    grouped: dict[str, tuple[str, float, list[tuple[int, int]]]] = {}
    for (start, end), weight in zip(spans, shares):
        term = text[start:end]
        first, total, where = grouped.get(term.lower(), (term, 0.0, []))
        grouped[term.lower()] = (first, total + float(weight), [*where, (start, end)])
    ranked = sorted((e for e in grouped.values() if e[1] > 0), key=lambda e: -e[1])
    return [Evidence(term, weight, tuple(where)) for term, weight, where in ranked[:top]]
