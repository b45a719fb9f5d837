"""Who wrote this tweet? A multinomial logistic regression over the candidate accounts' stored tweets.

Features (engineered for speed as much as accuracy, since a model is fitted on a request's cache miss):

* four sparse TF-IDF blocks (sublinear tf, l2 rows) over hashed n-grams, computed with numpy rather than
  scikit-learn's pure-Python analyzers (several times faster): lower-cased word-bounded character
  2-5-grams (like ``char_wb``), case-sensitive raw character 2-4-grams that keep whitespace and
  punctuation habits (double spaces, blank lines, curly quotes), lower-cased word uni/bigrams with
  start/end markers, and raw character 2-5-grams of the text with all but its 50 most frequent words
  masked (text distortion, for new topics: see :class:`_MaskedBlock`); links become one marker;
* the stored 96-d spaCy embedding, standardized, and a dozen style counts (length, links, mentions,
  capitals...).

Each sparse block is summarised, per account, by a complement naive Bayes score (a linear function of
the block): how unlike the *other* accounts' tweets the text is. Complement naive Bayes (Rennie et al.,
2003) estimates each account's weights from all the other accounts' tweets, so with 3 or 4 accounts
every weight rests on more data and on the contrast with the rivals. The embedding is summarised the
same way, per account, by its dot product with the account's mean embedding (centered over the
accounts): the 96 raw dimensions as features of the final regression overfit the stored tweets' topics
(-0.4 points among 4 accounts on the benchmark's tuning authors) where this score helped (+0.6); since the
masked block it adds little (-0.1 and +0.2 points on the tuning and checking authors, 60 trials each).

The final classifier is a multinomial ``LogisticRegression`` over those few scores, the style counts and
the word n-grams' TF-IDF themselves (those in at least two tweets, scaled up so that the regularisation
lets them count): the scores carry most of the evidence, the word features let the regression correct
naive Bayes's independence assumption where words overlap (+1.1 points among 4 accounts on the tuning
authors; the raw character block as direct features too added 0.1-0.2 more for twice the fit time). It is
trained on *out-of-fold* scores (stacking), so it learns how far to trust each block and is not fooled by
naive Bayes having seen the tweet. Given the tweets' times, the folds are stretches of each account's
timeline, so that both the stacking and the accuracy shown as "how far to trust it" are measured on
tweets from other weeks than the training ones, as a typed tweet is; the cross-validation's out-of-fold
scores also set the temperature of the probabilities (see :func:`calibrated_temperature`). Everything is
linear in the n-gram features, which makes :meth:`AuthorshipModel.explain` an exact decomposition of the
model's score.

Cross-validation reuses the blocks and the per-fold naive Bayes counts (counts of the other folds are
sums of the folds'), so :func:`fit_with_cv` refits only the regression per fold: 5 more SAGA fits, which
with the model's own are more than half of its CPU time, run in 2 threads (``FIT_THREADS``). For 4 x 3,200
tweets in ``bench/latency.py``, with the map: 2.2-2.5 s before the masked block and the threads; with the
block, on a day the whole machine ran about twice as slow, 4.5-5.2 s in one thread and 3.3-4.1 s in two.

Memory (the app fits on a request, in a web worker): a block's matrix is built from one 32-bit key per
n-gram occurrence (bucket, row) sorted in place, without dense 2^22-sized tables or COO copies; blocks
are built one at a time with rows in fold order, turned into small stacking-score matrices and dropped
before the next (the words block's frequent columns are kept, about 10 MB); norms and idf weights are
applied in place. A cold fit on 4 x 3,200 tweets peaks at about 150 MiB above the process's RSS, and
the app gives the freed memory back with ``malloc_trim`` (see ``prediction.fit_set``). Settings were
chosen on half of the benchmark's authors (a seeded split) and checked on the other half; see
``bench/accuracy.py``.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar
from scipy.special import expit, log_softmax, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import ThreadpoolController, threadpool_limits

MIN_TWEETS_PER_ACCOUNT = 10
STACK_FOLDS = 5
NB_ALPHA = 0.1  # naive Bayes smoothing, chosen on the tuning split of the benchmark's authors
STACK_C = 1.0  # inverse regularisation of the final logistic regression
# fit_with_cv fits its 6 regressions (the model's and one per cross-validation fold; independent, most of
# the cold fit's time) in this many threads: scikit-learn's SAGA releases the GIL, so 2 threads fit them
# 1.9 times faster on this 2-core machine, with the same results; on one core they take turns, at no cost.
FIT_THREADS = 2
# The word n-grams' TF-IDF rows (unit length) enter the final regression multiplied by this, and only
# n-grams found in at least DIRECT_MIN_DF tweets (a third of the columns: 3x faster, -0.3 points).
DIRECT_SCALE = 12.0
DIRECT_MIN_DF = 2
# Temperature of the final probabilities (the logits are divided by it). A new tweet is harder than a
# stored one (topics drift), so probabilities fitted on stored tweets are overconfident on new ones.
# :func:`fit_with_cv` (the app's fit) fits it per set of accounts on the out-of-fold scores of its
# cross-validation, whose folds are stretches of time, times DRIFT_MARGIN, and keeps it within
# TEMPERATURE_BOUNDS; a plain ``fit`` has no out-of-fold scores and uses TEMPERATURE. On the benchmark's
# authors (60 trials per half and number of accounts) the per-set temperature left the mean probability of
# the chosen account 0.1 / 0.4 / 0.5 points from the accuracy on their newest tweets (2 / 3 / 4 accounts,
# tuning half) and 0.4 / 0.3 / 0.6 (checking half), where the one temperature 1.3 left it 0.0 / 0.3 / 1.0
# and 0.5 / 0.6 / 2.4 points away; per set of accounts the gap fell from 1.4-2.6 to 1.4-1.7 points.
TEMPERATURE = 1.3
DRIFT_MARGIN = 1.1  # chosen on the tuning half: 1.0 left the probabilities 0.5-1.7 points too confident
# Never sharper than the regression itself (new tweets are harder than stored ones; a few stored tweets
# right by small margins would otherwise sharpen it), never flatter than 4 (with 1,000 tweets per account
# the unbounded fit gave 0.93-1.6).
TEMPERATURE_BOUNDS = (1.0, 4.0)

URL_MARK = "\ue000"  # private-use character standing for any link
_URL = re.compile(r"(?:https?://|www\.)\S+")
_WORD = re.compile(r"[#@]?\w+(?:['’]\w+)*|\ue000")
_HASH_BITS = 22
_HASH_MASK = (1 << _HASH_BITS) - 1
_P = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class Evidence:
    """A word of the text and how much it pushed towards the target account (> 0)."""

    term: str
    weight: float
    spans: tuple[tuple[int, int], ...]


@dataclass
class _Occurrences:
    """Sparse n-gram occurrences of a batch of documents: row, feature key, and word (chunk) index."""

    rows: np.ndarray
    keys: np.ndarray
    chunks: np.ndarray


def normalize(text: str) -> str:
    """Replace links (random t.co ids) by one marker, and NUL (the batch separator) and the word block's
    markers (U+0001-U+0003) by U+FFFD; both keep whitespace as it is, so the text's word chunks are
    unchanged."""
    text = text or ""
    for mark in "\x00\x01\x02\x03":  # (str.replace is much faster than str.translate)
        text = text.replace(mark, "\ufffd")
    return _URL.sub(URL_MARK, text)


# --------------------------------------------------------------------------------------------------
# n-gram extraction


def _codes(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the strings joined by NUL, and the string index of every position."""
    joined = "\x00".join(strings)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return codes, np.cumsum(codes == 0, dtype=np.int32 if codes.size < 2**31 else np.int64)


def _windows(codes: np.ndarray, nmin: int, nmax: int, interior_ok: np.ndarray):
    """Rolling hashes of all windows of length nmin..nmax (nmin >= 2) that contain no NUL and whose
    inner characters (all but the first and last) satisfy ``interior_ok``. Yields (n, starts, hashes),
    one n at a time (so a caller can reduce each before the next is computed)."""
    h = np.zeros(codes.size, np.uint64)
    bad = np.zeros(codes.size, bool)
    sep = codes == 0
    for n in range(1, nmax + 1):
        length = codes.size - n + 1
        if length <= 0:
            break
        h = h[:length]  # (in place: views of the previous arrays, no copies)
        h *= _P
        h += codes[n - 1 :]
        bad = bad[:length]
        bad |= sep[n - 1 :]
        if n >= 3:
            bad |= ~interior_ok[n - 2 : n - 2 + length]
        if n >= nmin:
            starts = np.flatnonzero(~bad)
            hashes = h[starts]
            hashes += np.uint64(n)
            hashes *= _MIX
            hashes >>= np.uint64(64 - _HASH_BITS)
            yield n, starts, hashes
            del starts, hashes


def _word_index(codes: np.ndarray, is_space: np.ndarray) -> np.ndarray:
    """For every position, the index of the whitespace-separated chunk it belongs to (or follows),
    counted within its document."""
    starts = ~is_space & np.concatenate(([True], is_space[:-1]))
    starts &= codes != 0
    total = np.cumsum(starts) - 1
    doc_start = np.concatenate(([0], np.flatnonzero(codes == 0) + 1))
    before = np.concatenate(([0], np.cumsum(starts)[doc_start[1:] - 1]))
    doc = np.cumsum(codes == 0)
    return np.maximum(total - before[doc], 0)


_SPACE_CODES = np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint64)  # as str.split()


def _char_text(kind: str, docs: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code points and document index of the texts as a character block reads them, and which positions
    may be inside an n-gram: "chars" reads lower-cased, space-padded words and keeps n-grams inside
    them (like scikit-learn's ``char_wb``); "raw" reads the text as written, whitespace included."""
    if kind == "chars":
        codes, doc = _codes([" " + " ".join(d.lower().split()) + " " for d in docs])
        return codes, doc, codes != 32
    codes, doc = _codes(docs)
    return codes, doc, np.ones(codes.size, bool)


def _chars(kind: str):
    """The occurrence extractor of a character block."""

    def extract(docs: list[str], nmin: int, nmax: int, chunks: bool) -> _Occurrences:
        codes, doc, interior_ok = _char_text(kind, docs)
        word = _word_index(codes, np.isin(codes, _SPACE_CODES)) if chunks else None
        return _collect(_windows(codes, nmin, nmax, interior_ok), doc, word)

    return extract


def _collect(windows, doc: np.ndarray, word: np.ndarray | None) -> _Occurrences:
    """Occurrences from windows, each attributed to the word its last character belongs to
    (only for explanations: ``word`` is None otherwise, and chunks are left empty)."""
    rows, keys, chunks = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for n, starts, hashes in windows:
        rows.append(doc[starts])
        keys.append(hashes.astype(np.int64))
        chunks.append(word[starts + n - 1] if word is not None else starts[:0])
    return _Occurrences(np.concatenate(rows), np.concatenate(keys), np.concatenate(chunks))


_START, _END = "\x02", "\x03"  # word block's start and end of text markers (normalize removes them)
_WORD_OR_MARK = re.compile(_WORD.pattern + "|[\x02\x03]")


def _word_hashes(tokens: list[str]) -> np.ndarray:
    """Stable 64-bit hashes of tokens (Python's own str hash changes between processes); each
    distinct token is hashed once."""
    code = {token: zlib.crc32(token.encode("utf-8")) for token in dict.fromkeys(tokens)}
    return np.fromiter(map(code.__getitem__, tokens), np.uint64, len(tokens))


def _word_grams(tokens: list[str], nmin: int, nmax: int):
    """Hash buckets of the word n-grams (nmin..nmax) of a token sequence made of whole texts, each
    between start and end markers. Yields (first token position, buckets) per n; n-grams from an end
    marker into the next text are left out."""
    hashes = _word_hashes(tokens)
    if nmin == 1:
        yield np.arange(hashes.size), hashes & np.uint64(_HASH_MASK)
    is_end = np.asarray(tokens, dtype=object) == _END
    mixed, bad = hashes, is_end
    for n in range(2, nmax + 1):  # n-grams that do not run from an end marker into the next text
        if hashes.size < n:
            break
        mixed = mixed[:-1] * _P + hashes[n - 1 :]
        bad = bad[:-1] | is_end[n - 2 : -1]
        if n >= nmin:
            first = np.flatnonzero(~bad)
            yield first, (mixed[first] + np.uint64(n)) * _MIX >> np.uint64(64 - _HASH_BITS)


def _words(docs: list[str], nmin: int, nmax: int, chunks: bool) -> _Occurrences:
    """Lower-cased word unigrams (nmin 1) and/or bigrams (nmax 2) with start and end markers, each
    attributed to the chunk of its (first) word when ``chunks``."""
    tokens, where = [], []
    for d in docs:
        if chunks:
            pairs = [(tok, i) for i, chunk in enumerate(d.lower().split()) for tok in _WORD.findall(chunk)]
            tokens += [_START, *(tok for tok, _ in pairs), _END]
            where += [0, *(i for _, i in pairs), pairs[-1][1] if pairs else 0]
        else:
            tokens += [_START, *_WORD.findall(d.lower()), _END]
    rows = np.cumsum(np.asarray(tokens, dtype=object) == _START) - 1
    where = np.asarray(where, np.int64)
    parts = [(first, keys) for first, keys in _word_grams(tokens, nmin, nmax)]
    return _Occurrences(
        np.concatenate([rows[first] for first, _ in parts]),
        np.concatenate([keys.astype(np.int64) for _, keys in parts]),
        np.concatenate([where[first] for first, _ in parts]) if chunks else np.zeros(0, np.int64),
    )


def _word_parts(docs: list[str], nmin: int, nmax: int):
    """(rows, buckets) of the word n-grams of many texts, one n at a time; the texts are tokenized in
    one pass (the markers separate them)."""
    tokens = _WORD_OR_MARK.findall(f" {_END} {_START} ".join(d.lower() for d in docs))
    tokens = [_START, *tokens, _END]
    rows = np.cumsum(np.asarray(tokens, dtype=object) == _START) - 1
    for first, keys in _word_grams(tokens, nmin, nmax):
        yield rows[first], keys


def _char_parts(kind: str, docs: list[str], nmin: int, nmax: int):
    """(rows, buckets) of the character n-grams of many texts, one n at a time."""
    codes, doc, interior_ok = _char_text(kind, docs)
    for _, starts, hashes in _windows(codes, nmin, nmax, interior_ok):
        yield doc[starts], hashes


# Texts whose n-gram occurrences are counted together: 2^10, so that a key (row in the chunk, bucket)
# fits 32 bits, which sort 1.5 times faster than 64 (and it bounds the fit's memory).
_ROW_BITS = 32 - _HASH_BITS
_FIT_CHUNK = 1 << _ROW_BITS


def _count_matrix(kind: str, docs: list[str], nmin: int, nmax: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Counts of every n-gram bucket seen in the texts, as a CSR matrix over the seen buckets (in
    increasing order, with sorted indices), and those buckets.

    Memory-lean: texts are taken ``_FIT_CHUNK`` at a time; each occurrence of a chunk becomes one 32-bit
    key (row, bucket), and one in-place sort groups equal keys, giving the chunk's rows as sorted
    (bucket, count) pairs; only those (4 + 4 bytes each) are kept. The buckets are then numbered through
    one 4 MiB mark table and one 16 MiB lookup, freed at once."""
    n_docs = len(docs)
    extract = _word_parts if kind == "words" else (lambda d, a, b: _char_parts(kind, d, a, b))
    shift = np.uint32(_HASH_BITS)
    buckets, counts, row_nnz = [], [], np.zeros(n_docs, np.int64)
    for lo in range(0, n_docs, _FIT_CHUNK):
        chunk = docs[lo : lo + _FIT_CHUNK]
        keys = []
        for rows, hashes in extract(chunk, nmin, nmax):
            if rows.size and int(rows[-1]) >= len(chunk):  # (rows ascend; a larger one would wrap the key)
                raise ValueError("texts must be normalized: they contain NUL or the word block's markers")
            key = rows.astype(np.uint32)
            key <<= shift
            key |= hashes.astype(np.uint32)
            keys.append(key)
            del rows, hashes
        keys = np.concatenate(keys) if keys else np.zeros(0, np.uint32)
        keys.sort()
        change = np.empty(keys.size, bool)
        change[:1] = True
        np.not_equal(keys[1:], keys[:-1], out=change[1:])
        first = np.flatnonzero(change)
        del change
        pairs, size = keys[first], keys.size
        del keys
        counts.append(np.diff(first, append=size).astype(np.float32))  # lengths of the runs of equal keys
        del first
        rows = pairs >> shift
        row_nnz[lo : lo + len(chunk)] = np.bincount(rows.astype(np.int64), minlength=len(chunk))
        buckets.append(pairs & np.uint32(_HASH_MASK))
        del pairs, rows
    buckets = np.concatenate(buckets)
    counts = np.concatenate(counts)
    seen = np.zeros(1 << _HASH_BITS, bool)
    seen[buckets] = True
    vocab = np.flatnonzero(seen)
    column = np.cumsum(seen, dtype=np.int32)
    del seen
    column -= 1
    indices = column[buckets]
    del column, buckets
    indptr = np.concatenate(([0], np.cumsum(row_nnz))).astype(np.int32)
    matrix = sparse.csr_matrix((counts, indices, indptr), shape=(n_docs, vocab.size))
    matrix.has_sorted_indices = True  # (each row's buckets are sorted, and numbered in order)
    return matrix, vocab


# --------------------------------------------------------------------------------------------------
# sparse TF-IDF blocks


class _Block:
    """One TF-IDF block: fits its vocabulary and idf on training docs, transforms any docs."""

    def __init__(self, kind: str, nmin: int, nmax: int, alpha: float = NB_ALPHA):
        self.kind, self.nmin, self.nmax, self.alpha = kind, nmin, nmax, alpha
        self.vocab = np.zeros(0, np.int64)  # sorted hash buckets seen in training
        self.idf = np.zeros(0, np.float32)

    def occurrences(self, docs: list[str], chunks: bool = False) -> _Occurrences:
        """Feature columns (-1 when unknown) of every n-gram occurrence, with row (and chunk) index."""
        occ = _EXTRACTORS[self.kind](docs, self.nmin, self.nmax, chunks)
        cols = np.minimum(np.searchsorted(self.vocab, occ.keys), max(self.size - 1, 0))
        known = self.vocab[cols] == occ.keys if self.size else np.zeros(cols.size, bool)
        return _Occurrences(occ.rows, np.where(known, cols, -1), occ.chunks)

    @property
    def size(self) -> int:
        return self.vocab.size

    def matrix(self, occ: _Occurrences, n_docs: int) -> sparse.csr_matrix:
        """TF-IDF rows of occurrences from :meth:`occurrences`."""
        known = occ.keys >= 0
        # one sort of (row, column) keys gives the CSR arrays directly (a COO matrix and its conversion
        # cost several times more, which matters for a prediction's single text)
        width = max(self.size, 1)
        cells, counts = np.unique(occ.rows[known] * width + occ.keys[known], return_counts=True)
        rows, columns = np.divmod(cells, width)
        indptr = np.searchsorted(rows, np.arange(n_docs + 1))
        matrix = sparse.csr_matrix((counts.astype(np.float32), columns, indptr), shape=(n_docs, self.size))
        matrix.has_sorted_indices = True
        return self._tfidf(matrix, fit=False)

    def _tfidf(self, counts: sparse.csr_matrix, fit: bool) -> sparse.csr_matrix:
        """Sublinear tf times idf (fitted here when ``fit``), l2-normalised rows, in place."""
        n_docs = counts.shape[0]
        if fit:
            df = np.bincount(counts.indices, minlength=self.size)
            self.idf = (np.log((1 + n_docs) / (1 + df)) + 1).astype(np.float32)
        weights = counts.data  # (in place, float32: no full-size temporaries beyond one)
        np.log(weights, out=weights)
        weights += 1
        weights *= self.idf[counts.indices]
        lengths = np.diff(counts.indptr)
        squares = np.append(weights * weights, np.float32(0))  # (a last zero: reduceat's empty rows)
        norms = np.add.reduceat(squares, counts.indptr[:-1], dtype=np.float64) if n_docs else np.zeros(0)
        del squares
        norms = np.where(lengths > 0, np.sqrt(norms), 1).astype(np.float32)
        weights /= np.repeat(np.maximum(norms, 1e-12), lengths)
        counts.data = weights
        return counts

    def fit_transform(self, docs: list[str]) -> sparse.csr_matrix:
        counts, self.vocab = _count_matrix(self.kind, docs, self.nmin, self.nmax)
        return self._tfidf(counts, fit=True)

    def transform(self, docs: list[str]) -> sparse.csr_matrix:
        return self.matrix(self.occurrences(docs), len(docs))


MASK = "\ue001"  # private-use character standing for a masked word
MASK_KEEP = 50  # the masked block keeps the training texts' 50 most frequent words (chosen on the tuning half)
_WORD_RUN = re.compile(r"(\w+)")


class _MaskedBlock(_Block):
    """Raw character n-grams of the texts with every word but the training texts' ``MASK_KEEP`` most
    frequent replaced by one mark: text distortion (Stamatatos, 2017, "DV-SA"), made for attributing
    texts on other topics than the training ones.

    Why: a typed tweet is new, and its topic words are often ones the accounts have never used; with
    the topic words masked, what is left is how an account writes around them ("* * of the *.",
    "to * * #*", "* @* * :"), which carries over to new topics. As a fourth naive Bayes block: +0.7 and
    +0.5 points among 4 accounts on the tuning and checking authors (60 trials each; keeping 25-100
    words, n-grams up to 4-7 long and a mark per letter instead of per word all measured within 0.2 of
    it). Masking keeps every whitespace-separated chunk non-empty and in place, so explanations credit
    the chunks of the original text."""

    def __init__(self, kind: str, nmin: int, nmax: int, alpha: float = NB_ALPHA):
        super().__init__(kind, nmin, nmax, alpha)
        self.kept: frozenset[str] = frozenset()  # lower-cased; fitted by fit_transform

    def mask(self, docs: list[str]) -> list[str]:
        """The texts with every word run (``\\w+``) that is not a kept word replaced by ``MASK``."""
        return self._masked(_word_runs(docs), len(docs))

    def _masked(self, pieces: list[str], n_docs: int) -> list[str]:
        if not n_docs:
            return []
        kept = self.kept
        pieces[1::2] = [word if word.lower() in kept else MASK for word in pieces[1::2]]
        masked = "".join(pieces).split("\x00")
        if len(masked) != n_docs:
            raise ValueError("texts must be normalized: they contain NUL")
        return masked

    def fit_transform(self, docs: list[str]) -> sparse.csr_matrix:
        pieces = _word_runs(docs)
        counts = Counter(map(str.lower, pieces[1::2]))
        self.kept = frozenset(word for word, _ in counts.most_common(MASK_KEEP))
        return super().fit_transform(self._masked(pieces, len(docs)))

    def occurrences(self, docs: list[str], chunks: bool = False) -> _Occurrences:
        return super().occurrences(self.mask(docs), chunks)


def _word_runs(docs: list[str]) -> list[str]:
    """The texts joined by NUL and split into alternating non-word and word (``\\w+``) pieces, words at
    odd positions (one C-level split for all texts: several times faster than a substitution per word)."""
    return _WORD_RUN.split("\x00".join(docs))


_EXTRACTORS = {"chars": _chars("chars"), "raw": _chars("raw"), "words": _words, "masked": _chars("raw")}
# (kind, shortest, longest n-gram)
BLOCKS = (("chars", 2, 5), ("raw", 2, 4), ("words", 1, 2), ("masked", 2, 5))


def _new_block(kind: str, nmin: int, nmax: int) -> _Block:
    return (_MaskedBlock if kind == "masked" else _Block)(kind, nmin, nmax)


def _block_weights(counts: np.ndarray, alpha: float) -> np.ndarray:
    """A block's scorer, (n_features, n_classes), from its per-class summed features (n_classes,
    n_features): complement naive Bayes, -log P(feature | any other class), centered over the classes
    (only differences between classes matter), so a text's scores are its block row times these
    weights. (Chosen over multinomial naive Bayes, log P(feature | class), on the tuning split: +0.6
    points of accuracy among 4 accounts; between 2 accounts the two are the same.)"""
    complement = counts.sum(axis=0, keepdims=True) - counts + alpha
    weights = -np.log(complement / complement.sum(axis=1, keepdims=True)).T.astype(np.float32)
    return np.ascontiguousarray(weights - weights.mean(axis=1, keepdims=True))


_STYLE_CHARS = [re.compile(p) for p in (r"\n", r"[A-Z]", r"\d", r"[^\w\s]", r"[^\x00-\x7f]", r"[!?]", r"&")]
_STYLE = [_URL, re.compile(r"@\w"), re.compile(r"#\w"), *_STYLE_CHARS]
_WORD_CHAR = re.compile(r"\w")


def _style(texts: Sequence[str]) -> np.ndarray:
    """Per text: length, words, links, mentions, hashtags, newlines, capitals, digits, punctuation,
    non-ASCII characters, exclamations, ampersands: what ``len(p.findall(text))`` counts for each ``p``
    in ``_STYLE``, computed over all texts at once on their code points (texts must not contain NUL)."""
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


def _style_features(texts: Sequence[str]) -> np.ndarray:
    """Log counts of a few style markers: length, words, links, mentions, hashtags, newlines, capitals,
    digits, punctuation, non-ASCII characters, exclamations, ampersands."""
    return np.log1p(_style([(t or "").replace("\x00", "\ufffd") for t in texts]))


def _centroid_weights(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The embedding's scorer, (dimensions, n_classes), from per-class sums and row counts: each
    class's mean standardized embedding, centered over the classes."""
    means = (sums / np.maximum(counts, 1)[:, None]).T.astype(np.float32)
    return np.ascontiguousarray(means - means.mean(axis=1, keepdims=True))


class _Standardizer:
    """Mean and standard deviation of the training rows' columns."""

    def __init__(self, values: np.ndarray):
        self.mean = values.mean(axis=0)
        self.scale = values.std(axis=0) + 1e-6

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.scale


class _DirectFeatures:
    """The n-grams of a block that enter the final regression themselves: those in at least
    ``DIRECT_MIN_DF`` training tweets, their TF-IDF values times ``DIRECT_SCALE``."""

    def __init__(self, matrix: sparse.csr_matrix):
        kept = np.bincount(matrix.indices, minlength=matrix.shape[1]) >= DIRECT_MIN_DF
        self.column = np.where(kept, np.cumsum(kept) - 1, -1).astype(np.int32)  # block column -> own, or -1
        self.width = int(kept.sum())

    def select(self, matrix: sparse.csr_matrix) -> sparse.csr_matrix:
        """The kept columns of a block's rows (a column lookup: cheaper than scipy's fancy indexing)."""
        columns = self.column[matrix.indices]
        kept = columns >= 0
        indptr = np.concatenate(([0], np.cumsum(kept)))[matrix.indptr]
        data = matrix.data[kept] * np.float32(DIRECT_SCALE)
        return sparse.csr_matrix((data, columns[kept], indptr), shape=(matrix.shape[0], self.width))


DIRECT_BLOCK = "words"  # the block whose n-grams are also direct features of the final regression


# --------------------------------------------------------------------------------------------------
# fitting


@dataclass
class _Prepared:
    """Everything a fit and its cross-validation share: labels, folds, the sparse blocks (fitted once,
    unsupervised, on all texts), the standardizers, the direct word features, and the stacking scores
    of every fold for every set of excluded folds that the fit and the cross-validation need.

    Memory matters (the app fits on a request): the blocks are built one at a time, with the rows in
    fold order so that a fold is a contiguous slice; each block's naive Bayes is trained per set of
    excluded folds from per-fold class sums, applied to the folds concerned, and the block's matrix
    is dropped before the next block is built (but for the direct words' columns). Only small score
    matrices are kept."""

    classes: list[str]
    y: np.ndarray
    folds: list[np.ndarray]  # row indices of each fold
    bounds: np.ndarray  # fold f is rows bounds[f]:bounds[f + 1] of the fold-ordered matrices
    blocks: list[_Block]
    weights: list[np.ndarray]  # [block] its scorers trained on all folds, for the final model
    embedding: _Standardizer
    embedding_weights: np.ndarray  # the embedding's scorer trained on all folds
    style: _Standardizer
    direct: _DirectFeatures
    direct_rows: sparse.csr_matrix  # the direct features of all rows, in fold order
    _scores: dict  # (fold, excluded folds) -> dense stacking features of the fold's rows

    @classmethod
    def build(cls, texts, embeddings, labels, folds: int, random_state: int, times=None) -> _Prepared:
        classes, y = _encode_labels(labels)
        if len(embeddings) != len(texts) or len(texts) != len(y):
            raise ValueError("texts, embeddings and labels must have the same length")
        folds = max(2, min(folds, int(np.bincount(y).min())))  # (fewer when an account has fewer tweets)
        fold_rows = _stratified_folds(y, folds, random_state) if times is None else _time_blocked_folds(y, times, folds)
        order = np.concatenate(fold_rows)
        bounds = np.cumsum([0, *(len(rows) for rows in fold_rows)])
        n_folds, k = len(fold_rows), len(classes)
        # (fold, class) indicator of the rows in fold order: its product with a block gives per-fold,
        # per-class feature sums
        group = np.repeat(np.arange(n_folds), np.diff(bounds)) * k + y[order]
        indicator = sparse.csr_matrix(
            (np.ones(len(order), np.float32), (group, np.arange(len(order)))), shape=(n_folds * k, len(order))
        )
        rows_per_group = np.bincount(group, minlength=n_folds * k).reshape(n_folds, k)
        # the fit needs each fold's scores with that fold excluded; the cross-validation also needs
        # them with each other fold excluded too
        needed = [[frozenset({f}), *(frozenset({f, h}) for h in range(n_folds) if h != f)] for f in range(n_folds)]
        parts: dict[tuple[int, frozenset], list[np.ndarray]] = {}

        def add_scores(matrix, scorer) -> np.ndarray:
            """Append every needed set's scores of ``matrix`` (rows in fold order) to ``parts``; return
            the scorer trained on all folds."""
            sums = indicator @ matrix
            sums = (sums.toarray() if sparse.issparse(sums) else sums).reshape(n_folds, k, -1)
            total, count = sums.sum(axis=0), rows_per_group.sum(axis=0)
            for f, sets in enumerate(needed):  # one product per fold, for all its sets at once
                weights = np.hstack(
                    [
                        scorer(total - sums[sorted(e)].sum(axis=0), count - rows_per_group[sorted(e)].sum(axis=0))
                        for e in sets
                    ]
                )
                scores = matrix[bounds[f] : bounds[f + 1]] @ weights
                for i, excluded in enumerate(sets):
                    parts.setdefault((f, excluded), []).append(scores[:, i * k : (i + 1) * k])
            return scorer(total, count)

        docs = [normalize(texts[i]) for i in order]
        blocks = [_new_block(*spec) for spec in BLOCKS]
        final = []
        for block in blocks:
            matrix = block.fit_transform(docs)
            final.append(add_scores(matrix, lambda sums, _rows, alpha=block.alpha: _block_weights(sums, alpha)))
            if block.kind == DIRECT_BLOCK:
                direct = _DirectFeatures(matrix)
                direct_rows = direct.select(matrix)
            del matrix
        vectors = np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)[order]
        embedding = _Standardizer(vectors)
        embedding_weights = add_scores(embedding(vectors), _centroid_weights)
        style_values = _style_features([texts[i] for i in order])
        style = _Standardizer(style_values)
        style_values = style(style_values)
        scores = {
            (f, excluded): np.hstack([*fold_scores, style_values[bounds[f] : bounds[f + 1]]])
            for (f, excluded), fold_scores in parts.items()
        }
        return cls(
            classes,
            y,
            fold_rows,
            bounds,
            blocks,
            final,
            embedding,
            embedding_weights,
            style,
            direct,
            direct_rows,
            scores,
        )

    def features(self, fold: int, excluded: frozenset[int]) -> sparse.csr_matrix:
        """Final-regression features of the rows of ``fold``: each block's naive Bayes scores and the
        embedding's scores, trained on the folds not in ``excluded``, the standardized style counts, and
        the direct word features. The fit's out-of-fold scores are also the cross-validation's test
        scores."""
        return _join(self._scores[fold, excluded], self.direct_rows[self.bounds[fold] : self.bounds[fold + 1]])

    def stacked(self, held_out: int | None) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Out-of-fold features and labels of all rows outside fold ``held_out``."""
        kept = [f for f in range(len(self.folds)) if f != held_out]
        parts = [self.features(f, frozenset({f, held_out}) - {None}) for f in kept]
        return sparse.vstack(parts, format="csr"), np.concatenate([self.y[self.folds[f]] for f in kept])


def _join(dense: np.ndarray, direct: sparse.csr_matrix) -> sparse.csr_matrix:
    return sparse.hstack([sparse.csr_matrix(dense), direct], format="csr")


def _encode_labels(labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
    classes, y = np.unique(np.asarray([str(label) for label in labels]), return_inverse=True)
    if len(classes) < 2:
        raise ValueError("need tweets of at least 2 accounts")
    counts = np.bincount(y)
    if counts.min() < MIN_TWEETS_PER_ACCOUNT:
        short = classes[counts.argmin()]
        raise ValueError(f"account {short!r} has {counts.min()} tweets; at least {MIN_TWEETS_PER_ACCOUNT} are needed")
    return [str(c) for c in classes], y


def _stratified_folds(y: np.ndarray, folds: int, random_state: int) -> list[np.ndarray]:
    """Stratified, shuffled fold row indices."""
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    return [test for _, test in splitter.split(np.zeros(len(y)), y)]


def _time_blocked_folds(y: np.ndarray, times, folds: int) -> list[np.ndarray]:
    """Stratified folds that are stretches of time: fold f holds the f-th fifth (for 5 folds) of every
    account's tweets in time order (ties in the order given).

    Why: a typed tweet is new, and what an account tweets about drifts; shuffled folds test on tweets
    from the same weeks as the training tweets, so their accuracy ran 2-4 points above the accuracy on
    the accounts' newest tweets in the benchmark (0.904 against 0.861 among 4 accounts, 30 tuning
    trials), and the stacking learnt its trust in each block on such easy folds. Folds in time measured
    0.868 against 0.860 (and 0.881 against 0.893 on the checking authors), for the same accuracy."""
    if len(times) != len(y):
        raise ValueError("times must give one time per text")
    order = sorted(range(len(y)), key=times.__getitem__)  # (stable: ties keep the given order)
    ranked = np.asarray(order, dtype=np.int64)
    parts: list[list[np.ndarray]] = [[] for _ in range(folds)]
    for label in range(int(y.max()) + 1):
        for fold, rows in enumerate(np.array_split(ranked[y[ranked] == label], folds)):
            parts[fold].append(rows)
    return [np.sort(np.concatenate(rows)) for rows in parts]


def _logistic_regression(features: sparse.csr_matrix, y: np.ndarray, random_state: int) -> LogisticRegression:
    """The final classifier. SAGA (one pass over the non-zeros per epoch) with a loose tolerance fits the
    ~50,000 sparse columns of 4 x 3,200 tweets in about a third of L-BFGS's time, with the same held-out
    accuracy on the benchmark. Always from a cold start: a fold's model must not start from one that
    saw the fold (with thousands of word weights that would inflate the cross-validated accuracy)."""
    lr = LogisticRegression(C=STACK_C, solver="saga", tol=1e-2, max_iter=300, random_state=random_state)
    return lr.fit(features, y)


def _final_regression(prep: _Prepared, random_state: int) -> LogisticRegression:
    """The model's regression, on every fold's out-of-fold features."""
    return _logistic_regression(*prep.stacked(held_out=None), random_state)


class AuthorshipModel:
    """Multinomial logistic regression over candidate accounts' tweets; see the module docstring."""

    def __init__(self, random_state: int = 0):
        self.random_state = random_state
        self.classes_: list[str] = []
        self.temperature = TEMPERATURE

    def fit(
        self,
        texts: Sequence[str],
        embeddings: np.ndarray,
        labels: Sequence[str],
        times: Sequence | None = None,
        temperature: float = TEMPERATURE,
    ) -> AuthorshipModel:
        """Fit on the accounts' tweets; ``times`` (any comparable values, one per text: the tweets'
        creation times) make the stacking folds stretches of time (see ``_time_blocked_folds``); the
        probabilities are those of the regression's scores divided by ``temperature``."""
        with threadpool_limits(1):
            prep = _Prepared.build(texts, embeddings, labels, STACK_FOLDS, self.random_state, times)
            self._fit_prepared(prep, temperature)
        return self

    def _fit_prepared(self, prep: _Prepared, temperature: float, regression: LogisticRegression | None = None) -> None:
        """The model from ``prep`` and its final ``regression`` (fitted here when not given)."""
        self._lr = regression if regression is not None else _final_regression(prep, self.random_state)
        self._lr.coef_ /= temperature
        self._lr.intercept_ /= temperature
        self.temperature = temperature
        self.classes_ = prep.classes
        self._blocks = prep.blocks
        self._weights = prep.weights
        self._embedding, self._embedding_weights = prep.embedding, prep.embedding_weights
        self._style = prep.style
        self._direct = prep.direct
        self._direct_block = [block.kind for block in prep.blocks].index(DIRECT_BLOCK)

    def _stack(
        self, matrices: list[sparse.csr_matrix], texts: Sequence[str], embeddings: np.ndarray
    ) -> sparse.csr_matrix:
        """The final regression's features from the blocks' TF-IDF rows, the embeddings and the texts."""
        vectors = np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)
        scores = [matrix @ weights for matrix, weights in zip(matrices, self._weights)]
        scores.append(self._embedding(vectors) @ self._embedding_weights)
        scores.append(self._style(_style_features(texts)))
        return _join(np.hstack(scores), self._direct.select(matrices[self._direct_block]))

    def _features(self, texts: Sequence[str], embeddings: np.ndarray) -> sparse.csr_matrix:
        docs = [normalize(t) for t in texts]
        return self._stack([block.transform(docs) for block in self._blocks], texts, embeddings)

    def _block_rows(self, text: str) -> list[tuple[_Occurrences, sparse.csr_matrix]]:
        """Each block's n-gram occurrences (with their words) and TF-IDF row of one text."""
        doc = [normalize(text)]
        rows = []
        for block in self._blocks:
            occ = block.occurrences(doc, chunks=True)
            rows.append((occ, block.matrix(occ, 1)))
        return rows

    def _require_fitted(self) -> None:
        if not self.classes_:
            raise RuntimeError("fit the model first")

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        self._require_fitted()
        if not len(texts):
            return np.zeros((0, len(self.classes_)))
        with _one_thread():
            return self._probabilities(self._features(texts, embeddings))

    def _probabilities(self, features: sparse.csr_matrix) -> np.ndarray:
        """``predict_proba`` of the final regression, computed here the way scikit-learn does (softmax of
        the scores; the logistic function of the one score between 2 accounts): its input checks cost more
        than the product itself on one text (about 0.2 ms of the model's 1.2-1.3 ms per prediction)."""
        scores = np.asarray(features @ self._lr.coef_.T) + self._lr.intercept_
        if scores.shape[1] == 1:
            second = expit(scores[:, 0])
            return np.column_stack([1 - second, second])
        return softmax(scores, axis=1)

    def predict_and_explain(self, text: str, embedding: np.ndarray, top: int = 8) -> tuple[np.ndarray, list[Evidence]]:
        """``predict_proba`` of one text and ``explain`` for its most probable account, in one pass over
        its n-grams (the app's warm prediction: extracting them is most of the model's share of it)."""
        self._require_fitted()
        rows = self._block_rows(text)
        features = self._stack([matrix for _, matrix in rows], [text], np.asarray(embedding).reshape(1, -1))
        with _one_thread():
            probabilities = self._probabilities(features)[0]
        target = int(np.argmax(probabilities))
        return probabilities, self._explain(text, _chunk_spans(text), probabilities, target, rows, top)

    def explain(
        self, text: str, embedding: np.ndarray, target: str, top: int = 8, probabilities: np.ndarray | None = None
    ) -> list[Evidence]:
        """The words of ``text`` that pushed most towards ``target`` against the other candidates.

        ``probabilities`` are ``predict_proba`` of this text, where the caller has them already. The
        score of every n-gram block is linear in its TF-IDF features, so each n-gram's share of the
        target's log-odds against the others (weighted by their probabilities) is exact; n-grams are
        credited to the word their last character falls in, and a word's shares are summed over its
        n-grams and occurrences."""
        if target not in self.classes_:
            raise ValueError(f"{target!r} is not one of the model's accounts")
        spans = _chunk_spans(text)
        if not spans:
            return []
        if probabilities is None:
            probabilities = self.predict_proba([text], np.asarray(embedding).reshape(1, -1))[0]
        return self._explain(text, spans, probabilities, self.classes_.index(target), self._block_rows(text), top)

    def _explain(
        self,
        text: str,
        spans: list[tuple[int, int]],
        probabilities: np.ndarray,
        target: int,
        rows: list[tuple[_Occurrences, sparse.csr_matrix]],
        top: int,
    ) -> list[Evidence]:
        if not spans:
            return []
        return _evidence(text, spans, self._chunk_shares(len(spans), probabilities, target, rows), top)

    def _chunk_shares(
        self, n_chunks: int, probabilities: np.ndarray, target: int, rows: list[tuple[_Occurrences, sparse.csr_matrix]]
    ) -> np.ndarray:
        """Each chunk's share of the target's log-odds against the others that the n-gram features
        carry; the shares add up to exactly the n-gram features' part of it."""
        direction = self._contrast(probabilities, target)
        direct_start = direction.size - self._direct.width
        per_chunk = np.zeros(n_chunks)
        start = 0
        for index, ((occ, matrix), block_weights) in enumerate(zip(rows, self._weights)):
            width = block_weights.shape[1]
            block_direction = direction[start : start + width]
            start += width
            known = occ.keys >= 0
            cols, chunks = occ.keys[known], occ.chunks[known]
            if not cols.size:
                continue
            # each distinct n-gram's TF-IDF value times its weight, shared among its occurrences
            distinct, which, times = np.unique(cols, return_inverse=True, return_counts=True)
            values = matrix.data[np.searchsorted(matrix.indices, distinct)]
            weights = block_weights[distinct] @ block_direction
            if index == self._direct_block:  # and as direct features of the regression
                own = self._direct.column[distinct]
                weights[own >= 0] += DIRECT_SCALE * direction[direct_start + own[own >= 0]]
            np.add.at(per_chunk, chunks, (values * weights / times)[which])
        return per_chunk

    def _contrast(self, probs: np.ndarray, target: int) -> np.ndarray:
        """Gradient of log(p_target / (1 - p_target)) with respect to the stacking features: the
        target's coefficients minus the others', weighted by the others' probabilities."""
        coef = self._lr.coef_
        if coef.shape[0] == 1:  # binary: scikit-learn keeps only the second class's row
            coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        others = np.delete(np.arange(len(probs)), target)
        mix = probs[others] / max(probs[others].sum(), 1e-12)
        return coef[target] - mix @ coef[others]


_CONTROLLER: list[ThreadpoolController] = []


def _one_thread():
    """``threadpool_limits(1)`` for predictions, without rescanning the loaded libraries every time
    (that scan costs about 2.5 ms, most of a warm prediction)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1)


def _evidence(text: str, spans: list[tuple[int, int]], per_chunk: np.ndarray, top: int) -> list[Evidence]:
    """Group chunk contributions by word (case-insensitive), keep the positive ones, strongest first."""
    grouped: dict[str, tuple[str, float, list[tuple[int, int]]]] = {}
    for (start, end), weight in zip(spans, per_chunk):
        term = text[start:end]
        first, total, where = grouped.get(term.lower(), (term, 0.0, []))
        grouped[term.lower()] = (first, total + float(weight), [*where, (start, end)])
    ranked = sorted((e for e in grouped.values() if e[1] > 0), key=lambda e: -e[1])
    return [Evidence(term, weight, tuple(where)) for term, weight, where in ranked[:top]]


def _chunk_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of the whitespace-separated chunks of ``text``, trimmed of surrounding punctuation
    (kept whole when nothing but punctuation or emoji)."""
    spans = []
    for match in re.finditer(r"\S+", text):
        core = _CORE.search(match.group())
        start, end = (match.start() + core.start(), match.start() + core.end()) if core else match.span()
        spans.append((start, end))
    return spans


_CORE = re.compile(r"[\w#@](?:.*\w)?", re.DOTALL)


def _cross_validate(prep: _Prepared, random_state: int, pool: Executor | None = None) -> tuple[float, np.ndarray]:
    """Accuracy over the folds of ``prep`` and the out-of-fold scores (logits, one column per account)
    of every row, in fold order: for each fold, naive Bayes and the logistic regression are trained on
    the other folds only (the stacking inside uses those folds as its own). The folds' regressions run
    in ``pool`` when given (see ``FIT_THREADS``)."""

    def fold_scores(held_out: int) -> np.ndarray:
        features, y = prep.stacked(held_out)
        lr = _logistic_regression(features, y, random_state)
        scores = lr.decision_function(prep.features(held_out, frozenset({held_out})))
        if scores.ndim == 1:  # binary: the second account's logit against the first's, 0
            scores = np.column_stack([np.zeros_like(scores), scores])
        return scores

    scores = np.vstack(list((pool.map if pool else map)(fold_scores, range(len(prep.folds)))))
    y = prep.y[np.concatenate(prep.folds)]
    return float(np.mean(scores.argmax(axis=1) == y)), scores


def calibrated_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The temperature for a model whose out-of-fold logits on its training tweets are ``scores``
    (rows) with true classes ``y``: the one that makes softmax(scores / T) most likely (temperature
    scaling, Guo et al., 2017), times ``DRIFT_MARGIN``, within ``TEMPERATURE_BOUNDS``.

    Why per set of accounts: how separable the accounts are, and so how far their logits overstate it,
    varies between sets; one constant left the probabilities 2.4 points under the accuracy among 4
    accounts (see TEMPERATURE). The margin is for new tweets being a little harder than even the stored
    tweets of other stretches of time."""
    rows = np.arange(len(y))

    def loss(temperature: float) -> float:
        return -float(log_softmax(scores / temperature, axis=1)[rows, y].mean())

    low, high = TEMPERATURE_BOUNDS
    best = minimize_scalar(loss, bounds=(low / DRIFT_MARGIN, high / DRIFT_MARGIN), method="bounded")
    return float(np.clip(best.x * DRIFT_MARGIN, low, high))


def cross_validated_accuracy(
    texts, embeddings, labels, folds: int = 5, random_state: int = 0, times: Sequence | None = None
) -> float:
    """Stratified k-fold accuracy of :class:`AuthorshipModel` on these tweets: shuffled folds, or
    stretches of time when ``times`` are given.

    The n-gram vocabularies and idf weights are fitted once on all texts (they use no labels); everything
    that sees labels (naive Bayes counts, the logistic regression) is refitted per fold."""
    with threadpool_limits(1):
        prep = _Prepared.build(texts, embeddings, labels, folds, random_state, times)
        return _cross_validate(prep, random_state)[0]


def fit_with_cv(
    texts, embeddings, labels, random_state: int = 0, times: Sequence | None = None
) -> tuple[AuthorshipModel, float]:
    """Fit a model and cross-validate it in one pass, as cheaply as possible: the n-gram vocabularies and
    idf weights are fitted once on all texts (no labels involved) and the per-fold naive Bayes counts are
    shared by the fit and every fold, so only the label-using parts are cross-validated and this costs
    little more than :meth:`AuthorshipModel.fit`. The accuracy equals :func:`cross_validated_accuracy`
    with 5 folds and the same ``random_state`` and ``times``. The app passes the tweets' times, so the
    accuracy it shows is that of predicting stretches of time the model did not learn from.

    The cross-validation's out-of-fold scores also give the model its temperature
    (:func:`calibrated_temperature`), so its probabilities match how often it is right on these
    accounts; :meth:`AuthorshipModel.fit` with that ``temperature`` gives the same model."""
    model = AuthorshipModel(random_state)
    with threadpool_limits(1):
        prep = _Prepared.build(texts, embeddings, labels, STACK_FOLDS, random_state, times)
        with ThreadPoolExecutor(FIT_THREADS) as pool:
            final = pool.submit(_final_regression, prep, random_state)
            accuracy, scores = _cross_validate(prep, random_state, pool)
            regression = final.result()
        model._fit_prepared(prep, calibrated_temperature(scores, prep.y[np.concatenate(prep.folds)]), regression)
        return model, accuracy
