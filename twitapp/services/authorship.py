"""Who wrote this tweet? A multinomial logistic regression over the candidate accounts' stored tweets.

Features (engineered for speed as much as accuracy, since a model is fitted on a request's cache miss):

* three sparse TF-IDF blocks (sublinear tf, l2 rows) over hashed n-grams, computed with numpy rather than
  scikit-learn's pure-Python analyzers (several times faster): lower-cased word-bounded character
  2-5-grams (like ``char_wb``), case-sensitive raw character 2-4-grams that keep whitespace and
  punctuation habits (double spaces, blank lines, curly quotes), and lower-cased word uni/bigrams with
  start/end markers; links become one marker;
* the stored 96-d spaCy embedding and a dozen style counts (length, links, mentions, capitals...),
  standardized.

Each sparse block is summarised, per account, by a multinomial naive Bayes log-likelihood (a linear
function of the block). The final classifier is a ``LogisticRegression`` over those few scores and the
dense features. It is trained on *out-of-fold* scores (stacking), so it learns how far to trust each
block and is not fooled by naive Bayes having seen the tweet. Everything is linear in the n-gram
features, which makes :meth:`AuthorshipModel.explain` an exact decomposition of the model's score.

Cross-validation reuses the per-fold naive Bayes counts (counts of the other folds are sums of the
folds'), so :func:`fit_with_cv` costs little more than a fit. Settings were chosen on half of the
benchmark's authors (a seeded split) and checked on the other half; see ``bench/accuracy.py``.
"""
from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

MIN_TWEETS_PER_ACCOUNT = 10
STACK_FOLDS = 5
NB_ALPHA = 0.1  # naive Bayes smoothing, chosen on the tuning split of the benchmark's authors
STACK_C = 1.0  # inverse regularisation of the final logistic regression
# Temperature of the final probabilities: 1 + TEMPERATURE_PER_ACCOUNT * (number of accounts). A new tweet
# is harder than a stored one (topics drift), so probabilities calibrated on stored tweets are
# overconfident on new ones, the more so the more accounts; this made the mean probability of the chosen
# account match the accuracy on the newest tweets of the benchmark's tuning authors (k = 2 and 4).
TEMPERATURE_PER_ACCOUNT = 0.25

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
    """Replace links (random t.co ids) by one marker, and NUL (the batch separator) by U+FFFD; both
    keep whitespace as it is, so the text's word chunks are unchanged."""
    return _URL.sub(URL_MARK, (text or "").replace("\x00", "\ufffd"))


# --------------------------------------------------------------------------------------------------
# n-gram extraction


def _codes(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the strings joined by NUL, and the string index of every position."""
    joined = "\x00".join(strings)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return codes, np.cumsum(codes == 0, dtype=np.int64)


def _windows(codes: np.ndarray, nmin: int, nmax: int, interior_ok: np.ndarray) -> list[tuple]:
    """Rolling hashes of all windows of length nmin..nmax (nmin >= 2) that contain no NUL and whose
    inner characters (all but the first and last) satisfy ``interior_ok``. Returns (n, starts, hashes)."""
    out = []
    h = np.zeros(codes.size, np.uint64)
    bad = np.zeros(codes.size, bool)
    sep = codes == 0
    for n in range(1, nmax + 1):
        length = codes.size - n + 1
        if length <= 0:
            break
        h = h[:length] * _P + codes[n - 1:]
        bad = bad[:length] | sep[n - 1:]
        if n >= 3:
            bad |= ~interior_ok[n - 2:n - 2 + length]
        if n >= nmin:
            starts = np.flatnonzero(~bad)
            out.append((n, starts, (h[starts] + np.uint64(n)) * _MIX >> np.uint64(64 - _HASH_BITS)))
    return out


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


def _char_wb(docs: list[str], nmin: int, nmax: int, chunks: bool) -> _Occurrences:
    """Lower-cased character n-grams inside space-padded words (like scikit-learn's ``char_wb``)."""
    codes, doc = _codes([" " + " ".join(d.lower().split()) + " " for d in docs])
    is_space = codes == 32
    return _collect(_windows(codes, nmin, nmax, ~is_space), doc, _word_index(codes, is_space) if chunks else None)


def _char_raw(docs: list[str], nmin: int, nmax: int, chunks: bool) -> _Occurrences:
    """Case-sensitive character n-grams of the text as written, whitespace included."""
    codes, doc = _codes(docs)
    word = _word_index(codes, np.isin(codes, _SPACE_CODES)) if chunks else None
    return _collect(_windows(codes, nmin, nmax, np.ones(codes.size, bool)), doc, word)


def _collect(windows, doc: np.ndarray, word: np.ndarray | None) -> _Occurrences:
    """Occurrences from windows, each attributed to the word its last character belongs to
    (only for explanations: ``word`` is None otherwise, and chunks are left empty)."""
    rows, keys, chunks = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for n, starts, hashes in windows:
        rows.append(doc[starts])
        keys.append(hashes.astype(np.int64))
        chunks.append(word[starts + n - 1] if word is not None else starts[:0])
    return _Occurrences(np.concatenate(rows), np.concatenate(keys), np.concatenate(chunks))


def _term_keys(terms: list[str]) -> np.ndarray:
    """Stable hash buckets of word n-grams (Python's own str hash changes between processes);
    each distinct term is hashed once."""
    bucket = {term: zlib.crc32(term.encode("utf-8")) & _HASH_MASK for term in dict.fromkeys(terms)}
    return np.fromiter(map(bucket.__getitem__, terms), np.int64, len(terms))


def _words(docs: list[str], nmin: int, nmax: int, chunks: bool) -> _Occurrences:
    """Lower-cased word unigrams (nmin 1) and/or bigrams (nmax 2) with start and end markers, each
    attributed to the chunk of its (first) word when ``chunks``."""
    rows, terms, where_all = [], [], []
    for row, d in enumerate(docs):
        if chunks:
            pairs = [(tok, i) for i, chunk in enumerate(d.lower().split()) for tok in _WORD.findall(chunk)]
            toks = ["\x02", *(tok for tok, _ in pairs), "\x03"]
            where = [0, *(i for _, i in pairs), pairs[-1][1] if pairs else 0]
        else:
            toks = ["\x02", *_WORD.findall(d.lower()), "\x03"]
        doc_terms = (toks if nmin == 1 else []) + ([f"{a} {b}" for a, b in zip(toks, toks[1:])] if nmax == 2 else [])
        rows.append(len(doc_terms))
        terms += doc_terms
        if chunks:
            where_all += (where if nmin == 1 else []) + (where[:-1] if nmax == 2 else [])
    return _Occurrences(np.repeat(np.arange(len(docs)), rows), _term_keys(terms), np.array(where_all, np.int64))


# --------------------------------------------------------------------------------------------------
# sparse TF-IDF blocks


class _Block:
    """One TF-IDF block: fits its vocabulary and idf on training docs, transforms any docs."""

    def __init__(self, kind: str, nmin: int, nmax: int):
        self.kind, self.nmin, self.nmax = kind, nmin, nmax
        self.vocab = np.zeros(0, np.int64)  # sorted hash buckets seen in training
        self.idf = np.zeros(0, np.float32)

    def occurrences(self, docs: list[str], fit: bool, chunks: bool = False) -> _Occurrences:
        """Feature columns (-1 when unknown) of every n-gram occurrence, with row (and chunk) index."""
        occ = _EXTRACTORS[self.kind](docs, self.nmin, self.nmax, chunks)
        if fit:
            self.vocab = np.flatnonzero(np.bincount(occ.keys, minlength=1 << _HASH_BITS))
            lookup = np.full(1 << _HASH_BITS, -1, np.int32)
            lookup[self.vocab] = np.arange(self.size)
            return _Occurrences(occ.rows, lookup[occ.keys], occ.chunks)
        cols = np.minimum(np.searchsorted(self.vocab, occ.keys), max(self.size - 1, 0))
        known = self.vocab[cols] == occ.keys if self.size else np.zeros(cols.size, bool)
        return _Occurrences(occ.rows, np.where(known, cols, -1), occ.chunks)

    @property
    def size(self) -> int:
        return self.vocab.size

    def matrix(self, occ: _Occurrences, n_docs: int, fit: bool) -> sparse.csr_matrix:
        known = occ.keys >= 0
        counts = sparse.csr_matrix(
            (np.ones(int(known.sum()), np.float32), (occ.rows[known], occ.keys[known])), shape=(n_docs, self.size)
        )
        counts.sum_duplicates()
        if fit:
            df = np.bincount(counts.indices, minlength=self.size)
            self.idf = (np.log((1 + n_docs) / (1 + df)) + 1).astype(np.float32)
        weights = (1 + np.log(counts.data)) * self.idf[counts.indices]
        row_of = np.repeat(np.arange(n_docs), np.diff(counts.indptr))
        norms = np.sqrt(np.bincount(row_of, weights=weights * weights, minlength=n_docs))
        counts.data = (weights / np.maximum(norms, 1e-12)[row_of]).astype(np.float32)
        return counts

    def fit_transform(self, docs: list[str]) -> sparse.csr_matrix:
        return self.matrix(self.occurrences(docs, fit=True), len(docs), fit=True)

    def transform(self, docs: list[str]) -> sparse.csr_matrix:
        return self.matrix(self.occurrences(docs, fit=False), len(docs), fit=False)


_EXTRACTORS = {"chars": _char_wb, "raw": _char_raw, "words": _words}
BLOCKS = (("chars", 2, 5), ("raw", 2, 4), ("words", 1, 2))  # (kind, shortest, longest n-gram)


def _nb_log_probs(counts: np.ndarray) -> np.ndarray:
    """Naive Bayes log P(feature | class), (n_features, n_classes), from per-class summed features."""
    smoothed = counts + NB_ALPHA
    return np.log(smoothed / smoothed.sum(axis=1, keepdims=True)).T.astype(np.float32)


def _centered(scores: np.ndarray) -> np.ndarray:
    return scores - scores.mean(axis=1, keepdims=True)


_STYLE = [re.compile(p) for p in (r"(?:https?://|www\.)\S+", r"@\w", r"#\w", r"\n", r"[A-Z]", r"\d", r"[^\w\s]",
                                   r"[^\x00-\x7f]", r"[!?]", r"&")]


def _dense(texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
    """The embeddings, and (log) counts of a few style markers: length, links, mentions, hashtags,
    newlines, capitals, digits, punctuation, non-ASCII characters, exclamations, ampersands."""
    embeddings = np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)
    style = np.array(
        [[len(t), len(t.split()), *(len(p.findall(t)) for p in _STYLE)] for t in texts], dtype=np.float32
    ).reshape(len(texts), len(_STYLE) + 2)
    return np.hstack([embeddings, np.log1p(style)])


# --------------------------------------------------------------------------------------------------
# fitting


@dataclass
class _Prepared:
    """Everything a fit and its cross-validation share: labels, folds, the sparse blocks (fitted once,
    unsupervised, on all texts), the standardized embeddings, and per-fold, per-class feature sums."""

    classes: list[str]
    y: np.ndarray
    folds: list[np.ndarray]  # row indices of each fold
    blocks: list[_Block]
    fold_matrices: list[list[sparse.csr_matrix]]  # [block][fold]
    fold_sums: list[np.ndarray]  # [block] -> (n_folds, n_classes, n_features)
    dense: np.ndarray  # standardized embeddings and style features
    mean: np.ndarray
    scale: np.ndarray
    _log_probs: dict = field(default_factory=dict)  # (block, excluded folds) -> naive Bayes log probs
    _scores: dict = field(default_factory=dict)  # (fold, excluded folds) -> stacking features

    @classmethod
    def build(cls, texts, embeddings, labels, folds: int, random_state: int) -> _Prepared:
        classes, y = _encode_labels(labels)
        if len(embeddings) != len(texts) or len(texts) != len(y):
            raise ValueError("texts, embeddings and labels must have the same length")
        dense = _dense(texts, embeddings)
        fold_rows = _stratified_folds(y, folds, random_state)
        docs = [normalize(t) for t in texts]
        blocks = [_Block(*spec) for spec in BLOCKS]
        matrices = [block.fit_transform(docs) for block in blocks]
        onehot = np.eye(len(classes), dtype=np.float32)[y]
        fold_matrices = [[m[rows] for rows in fold_rows] for m in matrices]
        fold_sums = [
            np.stack([np.asarray((part.T @ onehot[rows]).T) for part, rows in zip(parts, fold_rows)])
            for parts in fold_matrices
        ]
        mean = dense.mean(axis=0)
        scale = dense.std(axis=0) + 1e-6
        return cls(classes, y, fold_rows, blocks, fold_matrices, fold_sums, (dense - mean) / scale, mean, scale)

    def scores(self, fold: int, excluded: frozenset[int]) -> np.ndarray:
        """Stacking features of the rows of ``fold``: each block's naive Bayes scores, trained on the
        folds not in ``excluded``, then the standardized dense features. Cached: the fit's out-of-fold
        scores are also the cross-validation's test scores."""
        if (fold, excluded) not in self._scores:
            parts = [
                _centered(matrices[fold] @ self.log_probs(block, excluded))
                for block, matrices in enumerate(self.fold_matrices)
            ]
            self._scores[fold, excluded] = np.hstack([*parts, self.dense[self.folds[fold]]])
        return self._scores[fold, excluded]

    def log_probs(self, block: int, excluded: frozenset[int]) -> np.ndarray:
        """Naive Bayes of ``block`` trained on the folds not in ``excluded`` (cached: in the
        cross-validation every pair of folds is excluded twice)."""
        if (block, excluded) not in self._log_probs:
            sums = self.fold_sums[block]
            self._log_probs[block, excluded] = _nb_log_probs(sums.sum(axis=0) - sums[sorted(excluded)].sum(axis=0))
        return self._log_probs[block, excluded]

    def stacked(self, held_out: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-fold stacking features and labels of all rows outside fold ``held_out``."""
        kept = [f for f in range(len(self.folds)) if f != held_out]
        features = np.vstack([self.scores(f, frozenset({f, held_out}) - {None}) for f in kept])
        return features, np.concatenate([self.y[self.folds[f]] for f in kept])


def _encode_labels(labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
    classes, y = np.unique(np.asarray([str(label) for label in labels]), return_inverse=True)
    if len(classes) < 2:
        raise ValueError("need tweets of at least 2 accounts")
    counts = np.bincount(y)
    if counts.min() < MIN_TWEETS_PER_ACCOUNT:
        short = classes[counts.argmin()]
        raise ValueError(
            f"account {short!r} has {counts.min()} tweets; at least {MIN_TWEETS_PER_ACCOUNT} are needed"
        )
    return [str(c) for c in classes], y


def _stratified_folds(y: np.ndarray, folds: int, random_state: int) -> list[np.ndarray]:
    """Stratified fold row indices; fewer folds when the smallest class has fewer tweets than folds."""
    folds = max(2, min(folds, int(np.bincount(y).min())))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    return [test for _, test in splitter.split(np.zeros(len(y)), y)]


def _logistic_regression(features: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=STACK_C, tol=1e-3, max_iter=300).fit(features, y)


class AuthorshipModel:
    """Multinomial logistic regression over candidate accounts' tweets; see the module docstring."""

    def __init__(self, random_state: int = 0):
        self.random_state = random_state
        self.classes_: list[str] = []

    def fit(self, texts: Sequence[str], embeddings: np.ndarray, labels: Sequence[str]) -> AuthorshipModel:
        with threadpool_limits(1):
            self._fit_prepared(_Prepared.build(texts, embeddings, labels, STACK_FOLDS, self.random_state))
        return self

    def _fit_prepared(self, prep: _Prepared) -> None:
        features, y = prep.stacked(held_out=None)
        self._lr = _logistic_regression(features, y)
        temperature = 1 + TEMPERATURE_PER_ACCOUNT * len(prep.classes)
        self._lr.coef_ /= temperature
        self._lr.intercept_ /= temperature
        self.classes_ = prep.classes
        self._blocks = prep.blocks
        self._log_probs = [prep.log_probs(block, frozenset()) for block in range(len(prep.blocks))]
        self._mean, self._scale = prep.mean, prep.scale

    def _features(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        docs = [normalize(t) for t in texts]
        parts = [_centered(block.transform(docs) @ lp) for block, lp in zip(self._blocks, self._log_probs)]
        parts.append((_dense(texts, embeddings) - self._mean) / self._scale)
        return np.hstack(parts)

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        if not self.classes_:
            raise RuntimeError("fit the model first")
        if not len(texts):
            return np.zeros((0, len(self.classes_)))
        with threadpool_limits(1):
            return self._lr.predict_proba(self._features(texts, embeddings))

    def explain(self, text: str, embedding: np.ndarray, target: str, top: int = 8) -> list[Evidence]:
        """The words of ``text`` that pushed most towards ``target`` against the other candidates.

        The score of every n-gram block is linear in its TF-IDF features, so each n-gram's share of the
        target's log-odds against the others (weighted by their probabilities) is exact; n-grams are
        credited to the word their last character falls in, and a word's shares are summed over its
        n-grams and occurrences."""
        if target not in self.classes_:
            raise ValueError(f"{target!r} is not one of the model's accounts")
        spans = _chunk_spans(text)
        if not spans:
            return []
        direction = self._contrast(text, embedding, self.classes_.index(target))
        per_chunk = np.zeros(len(spans))
        doc = [normalize(text)]
        k = len(self.classes_)
        for i, (block, log_probs) in enumerate(zip(self._blocks, self._log_probs)):
            weights = (log_probs - log_probs.mean(axis=1, keepdims=True)) @ direction[i * k:(i + 1) * k]
            occ = block.occurrences(doc, fit=False, chunks=True)
            known = occ.keys >= 0
            cols, chunks = occ.keys[known], occ.chunks[known]
            values = block.matrix(occ, 1, fit=False).toarray().ravel()
            share = values[cols] * weights[cols] / np.bincount(cols, minlength=block.size)[cols]
            np.add.at(per_chunk, chunks, share)
        return _evidence(text, spans, per_chunk, top)

    def _contrast(self, text: str, embedding: np.ndarray, target: int) -> np.ndarray:
        """Gradient of log(p_target / (1 - p_target)) with respect to the stacking features: the
        target's coefficients minus the others', weighted by the others' probabilities."""
        coef = self._lr.coef_
        if coef.shape[0] == 1:  # binary: scikit-learn keeps only the second class's row
            coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        probs = self.predict_proba([text], np.asarray(embedding).reshape(1, -1))[0]
        others = np.delete(np.arange(len(probs)), target)
        mix = probs[others] / max(probs[others].sum(), 1e-12)
        return coef[target] - mix @ coef[others]


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


def _cv_accuracy(prep: _Prepared) -> float:
    """Accuracy over the folds of ``prep``: for each fold, naive Bayes and the logistic regression are
    trained on the other folds only (the stacking inside uses those folds as its own)."""
    right = 0
    for held_out, rows in enumerate(prep.folds):
        features, y = prep.stacked(held_out)
        lr = _logistic_regression(features, y)
        predicted = lr.predict(prep.scores(held_out, frozenset({held_out})))
        right += int((predicted == prep.y[rows]).sum())
    return right / len(prep.y)


def cross_validated_accuracy(texts, embeddings, labels, folds: int = 5, random_state: int = 0) -> float:
    """Stratified k-fold accuracy of :class:`AuthorshipModel` on these tweets.

    The n-gram vocabularies and idf weights are fitted once on all texts (they use no labels); everything
    that sees labels (naive Bayes counts, the logistic regression) is refitted per fold."""
    with threadpool_limits(1):
        return _cv_accuracy(_Prepared.build(texts, embeddings, labels, folds, random_state))


def fit_with_cv(texts, embeddings, labels, random_state: int = 0) -> tuple[AuthorshipModel, float]:
    """Fit a model and cross-validate it in one pass, as cheaply as possible: the n-gram vocabularies and
    idf weights are fitted once on all texts (no labels involved) and the per-fold naive Bayes counts are
    shared by the fit and every fold, so only the label-using parts are cross-validated and this costs
    little more than :meth:`AuthorshipModel.fit`. The accuracy equals :func:`cross_validated_accuracy`
    with 5 folds and the same ``random_state``."""
    model = AuthorshipModel(random_state)
    with threadpool_limits(1):
        prep = _Prepared.build(texts, embeddings, labels, STACK_FOLDS, random_state)
        model._fit_prepared(prep)
        return model, _cv_accuracy(prep)
