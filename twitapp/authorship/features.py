"""What the final regression reads besides the blocks themselves: per-account scores (complement naive
Bayes of a block, the embedding's centroid score), style counts, and a block's frequent n-grams as direct
features."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

NB_ALPHA = 0.1  # naive Bayes smoothing, chosen on the tuning half of the benchmark's authors
DIRECT_SCALE = 12.0  # the direct features' unit-length TF-IDF rows are scaled so that regularisation lets them count
DIRECT_MIN_DF = 2  # rarer n-grams (most of the columns) would slow the fit for nothing: left out of the direct features


def complement_nb_weights(counts: np.ndarray, alpha: float = NB_ALPHA) -> np.ndarray:
    """A block's scorer, (n_features, n_classes), from its per-class summed features (n_classes,
    n_features): complement naive Bayes (Rennie et al., 2003), -log P(feature | any other class), centered
    over the classes (only differences between classes matter), so a text's scores are its block row times
    these weights. Each class's weights rest on all the other classes' tweets."""
    complement = counts.sum(axis=0, keepdims=True) - counts + alpha
    weights = -np.log(complement / complement.sum(axis=1, keepdims=True)).T.astype(np.float32)
    return np.ascontiguousarray(weights - weights.mean(axis=1, keepdims=True))


def centroid_weights(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The embedding's scorer, (dimensions, n_classes), from per-class sums and row counts: each class's
    mean standardized embedding, centered over the classes (the raw dimensions overfit the topics)."""
    means = (sums / np.maximum(counts, 1)[:, None]).T.astype(np.float32)
    return np.ascontiguousarray(means - means.mean(axis=1, keepdims=True))


class Standardizer:
    """Centers and scales columns by the training rows' mean and standard deviation."""

    def fit(self, values: np.ndarray) -> Standardizer:
        self.mean_ = values.mean(axis=0)
        self.scale_ = values.std(axis=0) + 1e-6
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean_) / self.scale_


@dataclass
class AccountScores:
    """One score per account of dense features: their standardized values times per-account weights."""

    standardizer: Standardizer
    weights: np.ndarray  # (features, accounts)

    def transform(self, values: np.ndarray) -> np.ndarray:
        return self.standardizer.transform(values) @ self.weights


class DirectFeatures:
    """The n-grams of a block that enter the final regression themselves, so that it can correct naive
    Bayes's independence assumption where they overlap: those in at least ``min_df`` training tweets,
    their TF-IDF values times ``scale``."""

    def __init__(self, min_df: int = DIRECT_MIN_DF, scale: float = DIRECT_SCALE):
        self.min_df = min_df
        self.scale = scale

    def fit(self, matrix: sparse.csr_matrix) -> DirectFeatures:
        kept = np.bincount(matrix.indices, minlength=matrix.shape[1]) >= self.min_df
        self.column_ = np.where(kept, np.cumsum(kept) - 1, -1).astype(np.int32)  # block column -> own, or -1
        self.n_features_ = int(kept.sum())
        return self

    def transform(self, matrix: sparse.csr_matrix) -> sparse.csr_matrix:
        """The kept columns of a block's rows (a column lookup: cheaper than scipy's fancy indexing)."""
        columns = self.column_[matrix.indices]
        kept = columns >= 0
        indptr = np.concatenate(([0], np.cumsum(kept)))[matrix.indptr]
        data = matrix.data[kept] * np.float32(self.scale)
        return sparse.csr_matrix((data, columns[kept], indptr), shape=(matrix.shape[0], self.n_features_))


# --------------------------------------------------------------------------------------------------
# style counts

_URL = re.compile(r"(?:https?://|www\.)\S+")
_STYLE_CHARS = [re.compile(p) for p in (r"\n", r"[A-Z]", r"\d", r"[^\w\s]", r"[^\x00-\x7f]", r"[!?]", r"&")]
_STYLE = [_URL, re.compile(r"@\w"), re.compile(r"#\w"), *_STYLE_CHARS]
_WORD_CHAR = re.compile(r"\w")


def style_counts(texts: Sequence[str]) -> np.ndarray:
    """Per text: length, words, links, mentions, hashtags, newlines, capitals, digits, punctuation,
    non-ASCII characters, exclamations, ampersands: what ``len(p.findall(text))`` counts for each pattern,
    computed over all texts at once on their code points (texts must not contain NUL)."""
    n = len(texts)
    if n <= 16:  # (a prediction: plain regular expressions are faster on a few texts)
        return np.array(
            [[len(t), len(t.split()), *(len(p.findall(t)) for p in _STYLE)] for t in texts], dtype=np.float32
        ).reshape(n, len(_STYLE) + 2)
    out = np.zeros((n, 2 + 3 + len(_STYLE_CHARS)), np.float32)
    out[:, 0] = [len(t) for t in texts]
    out[:, 1] = [len(t.split()) for t in texts]
    joined = "\x00".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    if not codes.size:
        return out
    starts = np.concatenate(([0], np.flatnonzero(codes == 0) + 1))  # each text and its terminator
    links = [m.start() for m in _URL.finditer(joined.replace("\x00", " "))]
    out[:, 2] = np.bincount(np.searchsorted(starts, links, side="right") - 1, minlength=n) if links else 0
    distinct = np.flatnonzero(np.bincount(codes))  # at most 0x110000 counts
    chars = [chr(c) for c in distinct]
    table = np.zeros(int(distinct[-1]) + 1, np.uint8)  # bit i: the code point matches pattern i
    for bit, pattern in enumerate([_WORD_CHAR, *_STYLE_CHARS]):
        table[distinct[[bool(pattern.match(c)) for c in chars]]] |= np.uint8(1 << bit)
    table[0] = 0
    flags = table[codes]

    def per_text(hit: np.ndarray) -> np.ndarray:
        return np.add.reduceat(np.append(hit, False).view(np.int8), starts, dtype=np.int32)

    following_word = np.append(flags[1:] & np.uint8(1), np.uint8(0))
    for column, mark in ((3, "@"), (4, "#")):
        out[:, column] = per_text((codes == ord(mark)) & (following_word != 0))
    for column, bit in enumerate(range(1, 1 + len(_STYLE_CHARS)), start=5):
        out[:, column] = per_text(flags & np.uint8(1 << bit) != 0)
    return out


def style_features(texts: Sequence[str]) -> np.ndarray:
    """Log counts of the style markers of :func:`style_counts`."""
    return np.log1p(style_counts([(t or "").replace("\x00", "\ufffd") for t in texts]))
