"""The sparse TF-IDF blocks: sublinear tf, idf and l2-normalised rows over one kind of hashed n-grams.

A block's n-grams come from :func:`ngrams.extract` alone, whether it fits, transforms or explains; fitting
counts them memory-lean (one sorted 32-bit key per occurrence), transforming looks them up in the fitted
vocabulary. Both give the same rows for the same texts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .counts import PostCounts
from .ngrams import Ngrams, extract, mask_words, word_runs

MASK_KEEP = 50  # the training texts' most frequent words, which the masked block keeps (chosen on the tuning half)


@dataclass(frozen=True)
class BlockRow:
    """One text's n-grams in one block, as a prediction and its explanation read them: the occurrences
    (columns or -1, with their chunks), the distinct known columns (ascending) and their TF-IDF values, and
    for each known occurrence the index of its column and for each column its number of occurrences."""

    occurrences: Ngrams
    columns: np.ndarray
    values: np.ndarray  # float32, a unit row
    which: np.ndarray
    times: np.ndarray
    width: int  # the block's columns
    buckets: np.ndarray  # each occurrence's hash bucket, in the order of ``occurrences``
    lengths: np.ndarray  # and its n-gram length

    def buckets_of_lengths(self, ngram_range: tuple[int, int]) -> np.ndarray:
        """The hash buckets of the text's n-grams of these lengths (another reader's, see ``reads_like``)."""
        return self.buckets[(self.lengths >= ngram_range[0]) & (self.lengths <= ngram_range[1])]

    def matrix(self) -> sparse.csr_matrix:
        """The row as a (1, width) sparse matrix, as :meth:`TfidfBlock.transform` gives it."""
        return sparse.csr_matrix((self.values, self.columns, [0, self.columns.size]), shape=(1, self.width))


class TfidfBlock:
    """TF-IDF of one analyzer's n-grams (see :func:`ngrams.extract`) over the hash buckets seen in fit."""

    def __init__(self, analyzer: str, ngram_range: tuple[int, int]):
        self.analyzer = analyzer
        self.ngram_range = ngram_range

    def fit(self, docs: list[str]) -> TfidfBlock:
        self.fit_transform(docs)
        return self

    def fit_transform(self, docs: list[str]) -> sparse.csr_matrix:
        """Learn the vocabulary (``buckets_``, sorted) and ``idf_`` of normalized texts; their rows."""
        return self.fit_counts(PostCounts(docs))

    def fit_counts(self, posts: PostCounts) -> sparse.csr_matrix:
        """:meth:`fit_transform` of ``posts.docs``, their n-grams counted by ``posts`` (which a fit shares
        with the none-of-these check). The buckets seen become the columns, in increasing order, through
        one 4 MiB mark table and one 16 MiB lookup, freed at once."""
        counts = self._counts_of(posts)
        n_docs = counts.shape[0]
        seen = np.zeros(counts.shape[1], bool)
        seen[counts.indices] = True
        self.buckets_ = np.flatnonzero(seen)
        column = np.cumsum(seen, dtype=np.int32)
        del seen
        column -= 1
        shape = (n_docs, self.buckets_.size)
        counts = sparse.csr_matrix((counts.data, column[counts.indices], counts.indptr), shape=shape)
        del column
        counts.has_sorted_indices = True  # (each row's buckets are sorted, and numbered in order)
        df = np.bincount(counts.indices, minlength=self.buckets_.size)
        self.idf_ = (np.log((1 + n_docs) / (1 + df)) + 1).astype(np.float32)
        return self._tfidf(counts)

    def transform(self, docs: list[str]) -> sparse.csr_matrix:
        return self.tfidf(self.lookup(docs), len(docs))

    def lookup(self, docs: list[str], chunks: bool = False) -> Ngrams:
        """The n-gram occurrences of normalized texts, their buckets replaced by the block's columns (-1
        where not in the vocabulary); with ``chunks``, the chunk each is credited to."""
        occ, _ = self._occurrences(docs, chunks)
        return occ

    def text_row(self, doc: str) -> BlockRow:
        """One normalized text's :class:`BlockRow`: its row of :meth:`transform`, with the occurrences
        behind it (one sort of its known columns gives both, without a sparse matrix)."""
        occ, (buckets, lengths) = self._occurrences([doc], chunks=True)
        columns, which, times = np.unique(occ.keys[occ.keys >= 0], return_inverse=True, return_counts=True)
        values = self._unit_rows(times.astype(np.float32), columns, np.array([0, columns.size]))
        return BlockRow(occ, columns, values, which, times, self.buckets_.size, buckets, lengths)

    def reads_like(self, analyzer: str, kept: frozenset[str] | None, ngram_range: tuple[int, int]) -> bool:
        """Whether this block's n-grams of a text include those of lengths ``ngram_range`` of ``analyzer``
        with the words outside ``kept`` masked (None: none masked), so another reader can reuse them."""
        low, high = self.ngram_range
        return analyzer == self.analyzer and kept == self._kept() and low <= ngram_range[0] <= ngram_range[1] <= high

    def _kept(self) -> frozenset[str] | None:
        return None

    def _occurrences(self, docs: list[str], chunks: bool) -> tuple[Ngrams, tuple[np.ndarray, np.ndarray]]:
        """:meth:`lookup`'s occurrences, and each one's hash bucket and n-gram length."""
        parts = list(extract(self.analyzer, self._texts(docs), self.ngram_range, chunks))
        rows = np.concatenate([np.zeros(0, np.int64), *(p.rows for p in parts)]).astype(np.int64, copy=False)
        keys = np.concatenate([np.zeros(0, np.int64), *(p.keys.astype(np.int64) for p in parts)])
        where = np.concatenate([np.zeros(0, np.int64), *(p.chunks for p in parts if p.chunks is not None)])
        lengths = np.repeat(
            np.arange(self.ngram_range[0], self.ngram_range[0] + len(parts)), [p.keys.size for p in parts]
        )
        size = self.buckets_.size
        cols = np.minimum(np.searchsorted(self.buckets_, keys), max(size - 1, 0))
        known = self.buckets_[cols] == keys if size else np.zeros(cols.size, bool)
        return Ngrams(rows, np.where(known, cols, -1), where if chunks else None), (keys, lengths)

    def tfidf(self, occ: Ngrams, n_docs: int) -> sparse.csr_matrix:
        """TF-IDF rows of occurrences from :meth:`lookup`."""
        known = occ.keys >= 0
        # one sort of (row, column) keys gives the CSR arrays directly (a COO matrix and its conversion
        # cost several times more)
        width = max(self.buckets_.size, 1)
        cells, counts = np.unique(occ.rows[known] * width + occ.keys[known], return_counts=True)
        rows, columns = np.divmod(cells, width)
        indptr = np.searchsorted(rows, np.arange(n_docs + 1))
        matrix = sparse.csr_matrix((counts.astype(np.float32), columns, indptr), shape=(n_docs, self.buckets_.size))
        matrix.has_sorted_indices = True
        return self._tfidf(matrix)

    def _counts_of(self, posts: PostCounts) -> sparse.csr_matrix:
        """Learn what reading the texts takes (nothing here) and count their n-grams."""
        return posts.counts(self.analyzer, self.ngram_range)

    def _texts(self, docs: list[str]) -> list[str]:
        """The texts as the analyzer reads them."""
        return docs

    def _tfidf(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """Sublinear tf times idf, l2-normalised rows, in place (float32: no full-size temporaries but one)."""
        counts.data = self._unit_rows(counts.data, counts.indices, counts.indptr)
        return counts

    def _unit_rows(self, weights: np.ndarray, indices: np.ndarray, indptr: np.ndarray) -> np.ndarray:
        """CSR rows' counts (float32, overwritten) made sublinear tf times idf, each row of unit length."""
        np.log(weights, out=weights)
        weights += 1
        weights *= self.idf_[indices]
        lengths = np.diff(indptr)
        squares = np.append(weights * weights, np.float32(0))  # (a last zero: reduceat's empty rows)
        norms = np.add.reduceat(squares, indptr[:-1], dtype=np.float64) if lengths.size else np.zeros(0)
        del squares
        norms = np.where(lengths > 0, np.sqrt(norms), 1).astype(np.float32)
        weights /= np.repeat(np.maximum(norms, 1e-12), lengths)
        return weights


class MaskedBlock(TfidfBlock):
    """Raw character n-grams of the texts with every word but the training texts' ``keep`` most frequent
    (``kept_``, lower-cased) replaced by one mark: text distortion (Stamatatos, 2017, "DV-SA").

    A typed tweet's topic words are often ones the accounts have never used; what is left with them masked
    is how an account writes around them ("* * of the *.", "to * * #*"), which carries over to new topics."""

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), keep: int = MASK_KEEP):
        super().__init__("raw", ngram_range)
        self.keep = keep

    def mask(self, docs: list[str]) -> list[str]:
        """The texts with every word run (``\\w+``) that is not a kept word replaced by ``MASK``."""
        return mask_words(word_runs(docs), self.kept_, len(docs))

    def _counts_of(self, posts: PostCounts) -> sparse.csr_matrix:
        self.kept_ = posts.kept(self.keep)
        return posts.counts(self.analyzer, self.ngram_range, self.keep)

    def _texts(self, docs: list[str]) -> list[str]:
        return self.mask(docs)

    def _kept(self) -> frozenset[str] | None:
        return self.kept_


def new_blocks() -> list[TfidfBlock]:
    """The model's blocks, unfitted: word-bounded characters, raw characters (spacing and punctuation
    habits: double spaces, blank lines, curly quotes), word uni/bigrams, and masked raw characters."""
    return [TfidfBlock("chars", (2, 5)), TfidfBlock("raw", (2, 4)), TfidfBlock("words", (1, 2)), MaskedBlock((2, 5))]
