"""Unit TF-IDF rows of hashed n-grams over every bucket (no vocabulary), for the none-of-these check's
profiles (``openset.py``), and the lookup of buckets among a profile's columns."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .ngrams import HASH_BITS, extract, mask_words, word_runs

_WIDTH = 1 << HASH_BITS


class HashedTfidf:
    """Unit TF-IDF rows of one analyzer's hashed n-grams (sublinear tf); idf from the candidates' posts,
    the largest for n-grams they never used (no vocabulary: an outsider's unseen n-grams count too)."""

    def __init__(self, analyzer: str, ngram_range: tuple[int, int], kept: frozenset[str] | None = None):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.kept = kept  # masked view: the words kept

    def fit(self, docs: list[str]) -> HashedTfidf:
        self._fit_counts(self._counts(docs), len(docs))
        return self

    def fit_transform(self, docs: list[str]) -> sparse.csr_matrix:
        """``fit(docs).transform(docs)``, counting the n-grams once."""
        return self.fit_transform_counts(self._counts(docs))

    def fit_transform_counts(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """:meth:`fit_transform` of texts from their counts over the buckets (``counts.PostCounts``: the
        model's fit counted them), which become their rows."""
        self._fit_counts(counts, counts.shape[0])
        return self._weigh(counts, counts.shape[0])

    def transform(self, docs: list[str]) -> sparse.csr_matrix:
        return self._weigh(self._counts(docs), len(docs))

    def transform_buckets(self, buckets: np.ndarray) -> sparse.csr_matrix:
        """One text's row from the hash buckets of its n-grams as this view reads them (a model block's
        that reads the text the same way: see ``TfidfBlock.reads_like``), without extracting them again."""
        return self._weigh(_one_row(buckets), 1)

    def _fit_counts(self, counts: sparse.csr_matrix, n_docs: int) -> None:
        df = np.bincount(counts.indices, minlength=_WIDTH)
        self.buckets_ = np.flatnonzero(df).astype(np.int32)
        n = max(n_docs, 1)
        self.idf_ = (np.log((1 + n) / (1 + df[self.buckets_])) + 1).astype(np.float32)
        self.unseen_idf_ = np.float32(np.log(1 + n) + 1)

    def _weigh(self, counts: sparse.csr_matrix, n_docs: int) -> sparse.csr_matrix:
        """Unit TF-IDF rows from the n-gram counts (modified in place)."""
        matrix = counts
        matrix.data = np.log(matrix.data) + 1
        at, known = positions(self.buckets_, matrix.indices)
        matrix.data *= np.where(known, self.idf_[at], self.unseen_idf_)
        lengths = np.diff(matrix.indptr)
        squares = np.append(matrix.data * matrix.data, np.float32(0))  # (a last zero: reduceat's empty rows)
        norms = np.sqrt(np.add.reduceat(squares, matrix.indptr[:-1])) if n_docs else np.zeros(0)
        matrix.data /= np.repeat(np.where(lengths > 0, np.maximum(norms, 1e-12), 1), lengths).astype(np.float32)
        return matrix

    def _counts(self, docs: list[str]) -> sparse.csr_matrix:
        texts = mask_words(word_runs(docs), self.kept, len(docs)) if self.kept is not None else docs
        rows, keys = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for part in extract(self.analyzer, texts, self.ngram_range):
            rows.append(part.rows.astype(np.int64))
            keys.append(part.keys.astype(np.int64))
        row, column = np.concatenate(rows), np.concatenate(keys)
        if len(docs) == 1:  # (a prediction's text: one sort gives its row)
            return _one_row(column)
        # (COO to CSR sums the duplicates row by row: cheaper than one sort of every occurrence)
        ones = np.ones(row.size, np.float32)
        matrix = sparse.coo_matrix((ones, (row, column)), shape=(len(docs), _WIDTH)).tocsr()
        matrix.sum_duplicates()
        matrix.indices = matrix.indices.astype(np.int32, copy=False)
        return matrix


def _one_row(buckets: np.ndarray) -> sparse.csr_matrix:
    """The n-gram counts of one text from its occurrences' buckets (one sort)."""
    distinct, counts = np.unique(buckets, return_counts=True)
    indptr = np.array([0, distinct.size])
    return sparse.csr_matrix((counts.astype(np.float32), distinct.astype(np.int32), indptr), shape=(1, _WIDTH))


def positions(columns: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``indices`` (bucket numbers) is in the sorted ``columns``, and whether it is there at
    all: by a table over the buckets when there are many indices (a binary search each costs more)."""
    if indices.size < 1 << 16 or not columns.size:
        at = np.minimum(np.searchsorted(columns, indices), max(columns.size - 1, 0))
        return at, (columns[at] == indices if columns.size else np.zeros(indices.size, bool))
    table = np.full(_WIDTH, -1, np.int32)
    table[columns] = np.arange(columns.size, dtype=np.int32)
    found = table[indices]
    known = found >= 0
    return np.where(known, found, 0), known
