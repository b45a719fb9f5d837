"""Open-set attribution: is a text (one post, or several posts of one author) by none of the candidates?

Each post is compared with every account's profile (the mean of its posts' unit TF-IDF rows of hashed
word-bounded character n-grams, of character n-grams with topic words masked, of words, and the mean of
its embeddings): how close it comes to the nearest candidate, how close to the nearest impostor (stored
accounts that are not candidates), with its length and the model's own confidence. A logistic regression
learns from the candidates' posts, each against profiles that did not see it (their other stretches of
time), against impostors' posts, each against profiles without its own account. With no impostors, each
candidate's posts stand in as outsiders to the other candidates. A threshold from the cross-validated
scores aims to flag at most ``FALSE_FLAG_TARGET`` of the candidates' own new posts; a set of posts is
scored by its posts' mean, calibrated per set size on sets drawn from the cross-validated scores. How and
how well it works: ``docs/model.md`` ("None of these").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression

from .blocks import BlockRow, TfidfBlock
from .counts import CountsOf, PostCounts
from .hashed import HashedTfidf, positions
from .ngrams import normalize

ReadText = Sequence[tuple[TfidfBlock, BlockRow]]  # a model's blocks, each with its row of one text

FALSE_FLAG_TARGET = 0.05  # share of the candidates' own posts that may be flagged as by none of them
# the threshold is chosen on the cross-validation's scores at this share: newer posts are a little farther
# from their account's profile than the stored ones (topics drift)
FIT_TARGET = 0.035
FOLDS = 5  # stretches of each candidate's timeline, and groups of the outsiders, for out-of-fold scores
MASK_KEEP = 50  # words the masked view keeps (the candidates' most frequent)
SET_DRAWS = 20  # sets drawn per group (a stretch of a candidate's time, an outsider) and size, to calibrate sets
# the views: (name, analyzer, n-gram range); "masked" reads the raw text with topic words masked
VIEWS = (("chars", "chars", (2, 4)), ("masked", "raw", (2, 4)), ("words", "words", (1, 1)))


@dataclass
class Profiles:
    """Each account's summed unit rows per view (TF-IDF views and the embedding), over the columns any of
    them uses (dense: a text's other n-grams add nothing to its dot products), and their squared norms."""

    columns: list[np.ndarray | None]  # [view] the sorted columns kept (None: every column, the embedding)
    sums: list[np.ndarray]  # [view] (columns, accounts) float32
    squares: list[np.ndarray]  # [view] (accounts,) squared norms of the sums

    @classmethod
    def of(cls, sums: list, spaces: list[np.ndarray | None]) -> Profiles:
        """From per-view (accounts, columns of ``spaces``) sums, sparse, or dense where the space is None."""
        columns: list[np.ndarray | None] = []
        dense, squares = [], []
        for s, space in zip(sums, spaces):
            if space is not None:
                kept = _used(s)
                columns.append(space[kept])
                dense.append(np.ascontiguousarray(s[:, kept].toarray().T, dtype=np.float32))
            else:
                columns.append(None)
                dense.append(np.ascontiguousarray(np.asarray(s).T, dtype=np.float32))
            squares.append((dense[-1].astype(np.float64) ** 2).sum(axis=0))
        return cls(columns, dense, squares)

    def similarity(self, rows: list, exclude: list | None = None) -> np.ndarray:
        """(views, n, accounts) cosines of each row with each account's mean row; ``exclude`` (per view,
        (n, accounts) arrays: the sum to take out, its squared norm and its dot product with the whole)
        leaves a post's own fold out of its account's profile."""
        out = []
        for v, (x, columns, s) in enumerate(zip(rows, self.columns, self.sums)):
            dots = _dots(x, columns, s) if columns is not None else _dense(np.asarray(x) @ s)
            sq = np.broadcast_to(self.squares[v], dots.shape)
            if exclude is not None:
                own, own_sq, cross = exclude[v]
                dots, sq = dots - own, sq - 2 * cross + own_sq
            out.append(dots / np.sqrt(np.maximum(sq, 1e-12)))
        return np.stack(out)


def _dots(x: sparse.csr_matrix, columns: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """(rows, accounts) dot products of rows with profile sums over ``columns`` (one row: from its values)."""
    if x.shape[0] == 1:
        at, known = positions(columns, x.indices)
        return (x.data[known].astype(np.float64) @ sums[at[known]])[None, :]
    return _dense(_restrict(x, columns) @ sums)


def _restrict(x: sparse.csr_matrix, columns: np.ndarray) -> sparse.csr_matrix:
    """The rows ``x`` over ``columns`` only (renumbered 0..len - 1), by lookup; rows as wide as the columns
    are over them already."""
    if x.shape[1] == columns.size:
        return x
    at, known = positions(columns, x.indices)
    indptr = np.concatenate(([0], np.cumsum(known)))[x.indptr]
    return sparse.csr_matrix((x.data[known], at[known], indptr), shape=(x.shape[0], columns.size))


@dataclass
class OpenSetChecker:
    """How likely a text is by none of the candidates (see the module's docstring). ``fit`` from the
    candidates' posts (and, optionally, impostors' posts); ``score`` and ``none_of_these`` answer."""

    fit_target: float = FIT_TARGET
    random_state: int = 0
    one_class: bool = False  # without impostors: a fixed calibrated-distance score instead of a learnt one
    set_drift: float = 1.5  # times the between-stretches variance of a set's mean score (chosen on the tuning half)
    views_: list[HashedTfidf] = field(default_factory=list)
    candidates_: Profiles | None = None
    impostors_: Profiles | None = None
    mean_: np.ndarray | None = None
    scale_: np.ndarray | None = None
    coef_: np.ndarray | None = None
    intercept_: float = 0.0
    # out-of-fold per-post scores, for the calibration of sets: (scores, group, inside)
    oof_: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    sets_: dict[int, tuple[float, float, float]] = field(default_factory=dict)  # n -> (threshold, a, b)
    # (3, views, candidates): intercept, slope on the log length, residual spread of the similarity of a
    # candidate's own posts to its profile (out of fold)
    sim_fit_: np.ndarray | None = None

    def fit(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        labels: Sequence,
        oof_probabilities: np.ndarray,
        impostor_texts: Sequence[str] = (),
        impostor_vectors: np.ndarray | None = None,
        impostor_labels: Sequence = (),
        impostor_probabilities: np.ndarray | None = None,
        counts: PostCounts | None = None,
    ) -> OpenSetChecker:
        """Learn from the candidates' posts (in time order within each account), their labels and the
        model's out-of-fold probabilities of them; impostors' posts, labels (their accounts) and the model's
        probabilities of them when there are any. ``counts`` (:func:`post_counts` of ``texts``) hold the
        views' counts where the model's fit counted them."""
        classes, y = np.unique(np.asarray(labels), return_inverse=True)
        posts = counts if counts is not None else post_counts(texts)
        if len(posts.docs) != len(texts):
            raise ValueError("the counts must be of the texts")
        docs, kept = posts.docs, posts.kept(MASK_KEEP)
        self.views_ = [HashedTfidf(a, r, kept if name == "masked" else None) for name, a, r in VIEWS]
        matrices = [view.fit_transform_counts(posts.take(*of)) for view, of in zip(self.views_, _counted())]
        rows = self._rows(docs, vectors, matrices)
        # (the views' rows over the columns the candidates use, their buckets_: restricted once for the
        # profiles and the posts' similarities to them)
        spaces = [view.buckets_ for view in self.views_]
        used = [_restrict(x, space) for x, space in zip(rows, spaces)] + rows[len(spaces) :]
        fold = np.zeros(len(y), int)
        for c in range(len(classes)):
            at = np.flatnonzero(y == c)
            fold[at] = np.arange(at.size) * FOLDS // at.size
        self.candidates_, exclude = _profiles(used, y, len(classes), fold, [*spaces, None])
        inside = self.candidates_.similarity(used, exclude)
        del used
        own = inside[:, np.arange(len(y)), y]  # (views, n): each post against its own account's profile
        self.sim_fit_ = _length_fits(own, _log_length(rows), y, len(classes))
        oof = np.asarray(oof_probabilities, float)
        self.impostors_ = None
        if len(impostor_texts):
            imp_y = np.unique(np.asarray(impostor_labels), return_inverse=True)[1]
            imp_rows = self._rows([normalize(t) for t in impostor_texts], impostor_vectors)
            self.impostors_ = _profiles(imp_rows, imp_y, int(imp_y.max()) + 1, None)[0]
        parts = [(self._features(inside, rows, None, oof), np.zeros(len(y)), fold)]
        groups = [y]
        if self.impostors_ is not None:
            own = np.zeros((len(imp_y), int(imp_y.max()) + 1), bool)
            own[np.arange(len(imp_y)), imp_y] = True
            cand = self.candidates_.similarity(imp_rows)
            imp_probabilities = np.asarray(impostor_probabilities, float)
            parts.append((self._features(cand, imp_rows, own, imp_probabilities), np.ones(len(imp_y)), imp_y % FOLDS))
            groups.append(len(classes) + imp_y)
        else:  # each candidate's posts as an outsider's, against the other candidates
            others = inside.copy()
            others[:, np.arange(len(y)), y] = -np.inf
            left = oof.copy()
            left[np.arange(len(y)), y] = 0
            left /= np.maximum(left.sum(axis=1, keepdims=True), 1e-12)
            parts.append((self._features(others, rows, None, left), np.ones(len(y)), y % FOLDS))
            groups.append(len(classes) + y)
        features = np.vstack([p[0] for p in parts])
        outside = np.concatenate([p[1] for p in parts])
        folds = np.concatenate([p[2] for p in parts])
        self.mean_, self.scale_ = features.mean(axis=0), features.std(axis=0) + 1e-6
        standard = (features - self.mean_) / self.scale_
        if self.impostors_ is None and self.one_class:
            # no impostors: minus the mean over views of how far the nearest candidate is, in its own posts'
            # spread (nothing learnt from the stand-in outsiders but the probability's calibration)
            views = len(self.views_) + 1
            self.coef_ = np.zeros(features.shape[1])
            self.coef_[views : 2 * views] = -self.scale_[views : 2 * views] / views
            self.intercept_ = -float(self.mean_[views : 2 * views].sum()) / views
            scores = standard @ self.coef_ + self.intercept_
        else:
            scores = np.zeros(len(outside))
            for f in range(FOLDS):
                test = folds == f
                if test.any() and (outside[~test] == 0).any() and (outside[~test] == 1).any():
                    lr = self._regression(standard[~test], outside[~test])
                    scores[test] = lr.decision_function(standard[test])
            final = self._regression(standard, outside)
            self.coef_, self.intercept_ = final.coef_[0], float(final.intercept_[0])
        # sets are drawn within one stretch of a candidate's time (posts of a set share its weeks' topics)
        group = np.concatenate(groups) * FOLDS + np.where(outside == 0, folds, 0)
        self.oof_ = (scores, group, outside == 0)
        self.sets_ = {}
        self.set_calibration(1)  # (single texts, the common question, answered without a fit)
        return self

    def score(
        self, texts: Sequence[str], vectors: np.ndarray, probabilities: np.ndarray, read: ReadText | None = None
    ) -> np.ndarray:
        """Each text's outsider score (higher: less like any candidate); ``read``, for one text, the model's
        blocks with their rows of it, whose n-grams the views that read the text alike reuse."""
        if self.candidates_ is None or self.coef_ is None:
            raise RuntimeError("fit the checker first")
        docs = [normalize(t) for t in texts]
        rows = self._rows(docs, vectors, self._view_rows(docs, read) if read is not None and len(docs) == 1 else None)
        features = self._features(self.candidates_.similarity(rows), rows, None, np.asarray(probabilities, float))
        return ((features - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def none_of_these(
        self, texts: Sequence[str], vectors: np.ndarray, probabilities: np.ndarray, read: ReadText | None = None
    ) -> tuple[bool, float, float]:
        """For a text or a set of posts of one author: (likely by none of the candidates, the probability
        of that against an even prior, the set's mean score); ``read`` as in :meth:`score`."""
        value = float(np.mean(self.score(texts, vectors, probabilities, read)))
        threshold, a, b = self.set_calibration(len(texts))
        probability = float(1 / (1 + np.exp(-(a * value + b))))
        return value >= threshold, probability, value

    def set_calibration(self, n: int) -> tuple[float, float, float]:
        """For sets of ``n`` posts: the threshold on the mean score (the candidates' own sets flagged at
        most ``fit_target`` of the time in the cross-validation) and the logistic map (a, b) from the mean
        score to a probability, both from sets drawn from the out-of-fold scores (cached per ``n``)."""
        if n not in self.sets_:
            if self.oof_ is None:
                raise RuntimeError("fit the checker first")
            scores, group, inside = self.oof_
            rng = np.random.default_rng([self.random_state, n])
            means, outside = [], []
            for g in np.unique(group):
                members = np.flatnonzero(group == g)
                draws = SET_DRAWS
                if n == 1:
                    means.append(scores[members])
                else:
                    picks = np.stack([rng.choice(members, min(n, members.size), replace=False) for _ in range(draws)])
                    means.append(scores[picks].mean(axis=1))
                outside.append(np.full(means[-1].size, not inside[members[0]]))
            value, out = np.concatenate(means), np.concatenate(outside)
            threshold = float(np.quantile(value[~out], 1 - self.fit_target))
            if n > 1:  # never under a random-effects bound: a new stretch of time may drift as a whole
                threshold = max(
                    threshold, _set_bound(scores[inside], group[inside], n, self.fit_target, self.set_drift)
                )
            platt = LogisticRegression(class_weight="balanced").fit(value[:, None], out)
            a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
            # "likely" never comes with a probability under one half
            threshold = max(threshold, -b / a if a > 0 else threshold)
            self.sets_[n] = (threshold, a, b)
        return self.sets_[n]

    def _view_rows(self, docs: list[str], read: ReadText) -> list:
        """Each view's row of one text, from a model block's n-grams of it where one reads it alike."""
        rows = []
        for view in self.views_:
            same = [row for block, row in read if block.reads_like(view.analyzer, view.kept, view.ngram_range)]
            rows.append(
                view.transform_buckets(same[0].buckets_of_lengths(view.ngram_range)) if same else view.transform(docs)
            )
        return rows

    def _rows(self, docs: list[str], vectors, matrices: list | None = None) -> list:
        rows: list = matrices if matrices is not None else [view.transform(docs) for view in self.views_]
        v = np.asarray(vectors, np.float64).reshape(len(docs), -1)
        rows.append(v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12))
        return rows

    def _features(self, cand: np.ndarray, rows, own_impostor, probabilities: np.ndarray) -> np.ndarray:
        """Per post: per view its nearest candidate's similarity, and with impostors the nearest impostor's
        (leaving out ``own_impostor``) and the difference; its length; the model's top probability."""
        top = cand.max(axis=2)  # (views, n)
        # how far the nearest candidate is in units of the spread of its own posts' similarities
        length = _log_length(rows)
        assert self.sim_fit_ is not None
        a, b, spread = self.sim_fit_[:, :, None, :]
        standard = (cand - a - b * length[None, :, None]) / spread
        columns = [top, standard.max(axis=2)]
        if self.impostors_ is not None:
            imp = self.impostors_.similarity(rows)
            if own_impostor is not None:
                imp[:, own_impostor] = -np.inf
            nearest = imp.max(axis=2)
            nearest[np.isneginf(nearest)] = 0.0  # a sole impostor's own posts: no other impostor to be near
            columns += [nearest, top - nearest]
        length = length[None, :]
        columns += [length, top[:-1] * length]
        if self.impostors_ is not None:  # (without impostors the stand-in outsiders' would be skewed)
            columns.append(probabilities.max(axis=1)[None, :])
        return np.nan_to_num(np.vstack(columns).T, nan=0.0, posinf=0.0, neginf=0.0)  # (a profile with no spread)

    def _regression(self, x: np.ndarray, y: np.ndarray) -> LogisticRegression:
        """Newton steps on the Cholesky factor of the Hessian: a dozen dense features, so 3 steps solve it
        (L-BFGS took 60-80 iterations, 4 times the time, and stopped further from the optimum)."""
        return LogisticRegression(C=1.0, class_weight="balanced", solver="newton-cholesky", max_iter=100).fit(x, y)


def post_counts(texts: Sequence[str]) -> PostCounts:
    """The n-gram counts of a fit's posts that keep the check's views for its fit, for the model's fit to
    count first (its blocks read longer ranges of the same analyzers) and this check's to take."""
    return PostCounts([normalize(t) for t in texts], _counted())


def _counted() -> list[CountsOf]:
    """What each view counts, as :class:`PostCounts` names it."""
    return [(analyzer, span, MASK_KEEP if name == "masked" else None) for name, analyzer, span in VIEWS]


def _log_length(rows: list) -> np.ndarray:
    """Each text's log number of distinct character n-grams (the first view's)."""
    return np.log1p(np.asarray(rows[0].getnnz(axis=1), float))


def _length_fits(own: np.ndarray, length: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Per view and candidate, the least-squares line of its posts' similarity to its own profile on their
    log length, and the spread around it: (intercept, slope, spread), each (views, k)."""
    out = np.zeros((3, own.shape[0], k))
    for c in range(k):
        x = length[y == c]
        design = np.column_stack([np.ones(x.size), x])
        coef, *_ = np.linalg.lstsq(design, own[:, y == c].T, rcond=None)
        residual = own[:, y == c] - (design @ coef).T
        out[0, :, c], out[1, :, c] = coef
        out[2, :, c] = residual.std(axis=1) + 1e-6
    return out


def _set_bound(scores: np.ndarray, group: np.ndarray, n: int, target: float, drift: float) -> float:
    """The ``1 - target`` quantile of the mean score of ``n`` posts from a new stretch of a candidate's time
    under a normal random-effects model fitted on the groups (candidate, stretch): their means vary by
    the between-group variance, a set's posts around its group's mean by the within-group variance."""
    ids, index = np.unique(group, return_inverse=True)
    sizes = np.bincount(index)
    means = np.bincount(index, scores) / sizes
    within = float(np.sum((scores - means[index]) ** 2) / max(len(scores) - len(ids), 1))
    between = max(float(np.var(means, ddof=1)) - within * float(np.mean(1 / sizes)), 0.0) if len(ids) > 1 else 0.0
    return float(np.mean(means) + norm.ppf(1 - target) * np.sqrt(drift * between + within / n))


def _profiles(rows: list, y: np.ndarray, k: int, fold: np.ndarray | None, spaces: list | None = None):
    """Profiles of accounts ``y`` from ``rows``; with ``fold``, the (own fold's sum, its squared norm, its
    dot product with the whole profile) of each row, to leave that fold out of the row's own profile.
    ``spaces``: the sorted buckets the sparse rows are over already, where the caller restricted them."""
    # (sparse rows over the columns they use: products over all 2^22 buckets cost more than the sums)
    if spaces is None:
        spaces = [_used(x).astype(np.int32) if sparse.issparse(x) else None for x in rows]
        rows = [x if space is None else _restrict(x, space) for x, space in zip(rows, spaces)]
    indicator = sparse.csr_matrix((np.ones(len(y)), (y, np.arange(len(y)))), shape=(k, len(y)))
    sums = [_as(indicator @ x) for x in rows]
    profiles = Profiles.of(sums, spaces)
    if fold is None:
        return profiles, None
    group = y * FOLDS + fold
    per_fold = sparse.csr_matrix((np.ones(len(y)), (group, np.arange(len(y)))), shape=(k * FOLDS, len(y)))
    exclude = []
    for x, s in zip(rows, sums):
        fs = _as(per_fold @ x)  # (k * FOLDS, dim)
        # (against the dense fold sums: a sparse-by-sparse product costs several times more)
        own_dot = _dense(x @ _dense(fs).T)[np.arange(len(y)), group]
        fold_sq = _sq_norms(fs)[0][group]
        whole = s[np.repeat(np.arange(k), FOLDS)]  # each fold's account's profile
        cross = fs.multiply(whole).sum(axis=1) if sparse.issparse(fs) else (fs * whole).sum(axis=1)
        own, own_sq, cr = (np.zeros((len(y), k)) for _ in range(3))
        at = (np.arange(len(y)), y)
        own[at], own_sq[at], cr[at] = own_dot, fold_sq, np.ravel(cross)[group]
        exclude.append((own, own_sq, cr))
    return profiles, exclude


def _used(x: sparse.csr_matrix) -> np.ndarray:
    """The sorted columns ``x`` has a value in (``np.unique`` of its indices, by counting: far faster)."""
    return np.flatnonzero(np.bincount(x.indices, minlength=x.shape[1]))


def _as(matrix):
    return sparse.csr_matrix(matrix) if sparse.issparse(matrix) else np.asarray(matrix)


def _dense(matrix) -> np.ndarray:
    return np.asarray(matrix.toarray() if sparse.issparse(matrix) else matrix, float)


def _sq_norms(s) -> np.ndarray:
    """(1, accounts) squared norms of the rows of ``s``."""
    squares = s.multiply(s).sum(axis=1) if sparse.issparse(s) else (s * s).sum(axis=1)
    return np.asarray(squares, float).reshape(1, -1)
