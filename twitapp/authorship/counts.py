"""The n-gram counts of one fit's posts over every hash bucket, counted once and shared by the model's
TF-IDF blocks and the none-of-these check's views, which read shorter ranges of the same analyzers (the
check's word-bounded characters 2-4 are the model's 2-5 without the 5-grams): the shorter range is
counted first and held, the model's is it plus the missing lengths."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from .ngrams import HASH_BITS, HASH_MASK, extract, mask_words, word_runs

# Texts counted together: 2^10, so that a key (row in the batch, bucket) fits 32 bits, which sort faster
# than 64 and bound the fit's memory.
_ROW_BITS = 32 - HASH_BITS
_FIT_BATCH = 1 << _ROW_BITS
_WIDTH = 1 << HASH_BITS

# (analyzer, n-gram range, words kept by the masking or None): what a fit asks counts of
CountsOf = tuple[str, tuple[int, int], int | None]


def kept_words(pieces: list[str], keep: int) -> frozenset[str]:
    """The ``keep`` most frequent words (lower-cased) of texts split by :func:`ngrams.word_runs`, ties
    broken by the word (not by the texts' order, so the fit of any order of the same posts keeps the same)."""
    counts = Counter(map(str.lower, pieces[1::2]))
    return frozenset(word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:keep])


class PostCounts:
    """The counts of one fit's normalized texts ``docs`` per analyzer, masking and n-gram range, as CSR
    matrices over the 2^22 buckets (sorted indices). The ranges in ``held`` are kept once counted, for
    :meth:`take`, and a longer range from the same start is counted as a held one plus the rest."""

    def __init__(self, docs: list[str], held: Sequence[CountsOf] = ()):
        self.docs = docs
        self.held = list(held)
        self._counted: dict[CountsOf, sparse.csr_matrix] = {}
        self._kept: dict[int, frozenset[str]] = {}
        self._masked: dict[int, list[str]] = {}
        self._pieces: list[str] | None = None  # (the texts' word_runs, split once for counting words and masking)

    def kept(self, keep: int) -> frozenset[str]:
        """The words the masking keeps (:func:`kept_words`)."""
        if keep not in self._kept:
            self._kept[keep] = kept_words(self._runs(), keep)
        return self._kept[keep]

    def texts(self, keep: int | None) -> list[str]:
        """The texts, or with every word but the ``keep`` most frequent masked."""
        if keep is None:
            return self.docs
        if keep not in self._masked:
            kept = self.kept(keep)
            pieces, self._pieces = self._runs(), None  # (masked in place, and a few tens of MB: not kept)
            self._masked[keep] = mask_words(pieces, kept, len(self.docs))
        return self._masked[keep]

    def _runs(self) -> list[str]:
        if self._pieces is None:
            self._pieces = word_runs(self.docs)
        return self._pieces

    def counts(self, analyzer: str, ngram_range: tuple[int, int], keep: int | None = None) -> sparse.csr_matrix:
        """A new matrix (the caller may change it) of the counts of ``analyzer``'s n-grams in ``ngram_range``."""
        lo, hi = ngram_range
        shorter = [r for a, r, k in self.held if (a, k) == (analyzer, keep) and r[0] == lo and r[1] <= hi]
        if not shorter:
            return bucket_counts(analyzer, self.texts(keep), ngram_range)
        held = max(shorter)
        key = (analyzer, held, keep)
        if key in self._counted:
            part = self._counted[key]
            if held[1] == hi:
                return part.copy()
            rest = bucket_counts(analyzer, self.texts(keep), (held[1] + 1, hi))
        else:
            part, *others = split_counts(analyzer, self.texts(keep), ngram_range, held[1])
            self._counted[key] = part
            if not others:
                return part.copy()
            rest = others[0]
        return part + rest  # (sorted: scipy adds rows by merging them)

    def take(self, analyzer: str, ngram_range: tuple[int, int], keep: int | None = None) -> sparse.csr_matrix:
        """The counts of a held range, no longer held (the caller may change them); counted if not yet."""
        held = self._counted.pop((analyzer, ngram_range, keep), None)
        return held if held is not None else bucket_counts(analyzer, self.texts(keep), ngram_range)


def bucket_counts(analyzer: str, docs: list[str], ngram_range: tuple[int, int]) -> sparse.csr_matrix:
    """Counts of every n-gram bucket of the texts, as a CSR matrix over the 2^22 buckets (float32, sorted
    int32 indices)."""
    return split_counts(analyzer, docs, ngram_range, ngram_range[1])[0]


def split_counts(analyzer: str, docs: list[str], ngram_range: tuple[int, int], split: int) -> list[sparse.csr_matrix]:
    """:func:`bucket_counts` of the n-grams of lengths ``ngram_range[0]`` to ``split``, and (when ``split``
    is shorter than the range) of the longer ones apart, from one extraction.

    Memory-lean: texts are taken ``_FIT_BATCH`` at a time; each occurrence becomes one 32-bit key (row,
    bucket), and one in-place sort groups equal keys, giving the batch's rows as sorted (bucket, count)
    pairs; only those (4 + 4 bytes each) are kept."""
    lo, hi = ngram_range
    n_docs, groups = len(docs), 1 if split >= hi else 2
    shift = np.uint32(HASH_BITS)
    buckets: list[list[np.ndarray]] = [[] for _ in range(groups)]
    counts: list[list[np.ndarray]] = [[] for _ in range(groups)]
    row_nnz = np.zeros((groups, n_docs), np.int64)
    for start in range(0, n_docs, _FIT_BATCH):
        batch = docs[start : start + _FIT_BATCH]
        keys: list[list[np.ndarray]] = [[] for _ in range(groups)]
        for n, part in enumerate(extract(analyzer, batch, ngram_range), start=lo):  # (one length at a time)
            key = part.rows.astype(np.uint32)
            key <<= shift
            key |= part.keys.astype(np.uint32)
            keys[int(n > split)].append(key)
            del part
        for group, group_keys in enumerate(keys):
            joined = np.concatenate(group_keys) if group_keys else np.zeros(0, np.uint32)
            del group_keys[:]
            joined.sort()
            change = np.empty(joined.size, bool)
            change[:1] = True
            np.not_equal(joined[1:], joined[:-1], out=change[1:])
            first = np.flatnonzero(change)
            del change
            pairs, size = joined[first], joined.size
            del joined
            counts[group].append(np.diff(first, append=size).astype(np.float32))  # lengths of the runs of equal keys
            del first
            rows = pairs >> shift
            row_nnz[group, start : start + len(batch)] = np.bincount(rows.astype(np.int64), minlength=len(batch))
            buckets[group].append((pairs & np.uint32(HASH_MASK)).view(np.int32))
            del pairs, rows
    out = []
    for group in range(groups):
        indices = np.concatenate(buckets[group]) if buckets[group] else np.zeros(0, np.int32)
        data = np.concatenate(counts[group]) if counts[group] else np.zeros(0, np.float32)
        indptr = np.concatenate(([0], np.cumsum(row_nnz[group]))).astype(np.int32)
        matrix = sparse.csr_matrix((data, indices, indptr), shape=(n_docs, _WIDTH))
        matrix.has_sorted_indices = True  # (each row's buckets are in increasing order)
        out.append(matrix)
        del buckets[group][:], counts[group][:]
    return out
