"""Stacking: the final regression learns from *out-of-fold* per-account scores, so that it learns how far
to trust each block and is not fooled by naive Bayes having seen the tweet.

The fit and its cross-validation share one :class:`Stacking`: the blocks are fitted once (unsupervised) on
all texts, and each block's naive Bayes is trained per set of excluded folds from per-fold class sums (the
sums of the other folds are sums of the folds'), so the cross-validation refits only the regression.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from .blocks import TfidfBlock, new_blocks
from .counts import PostCounts
from .features import (
    NB_ALPHA,
    AccountScores,
    DirectFeatures,
    Standardizer,
    centroid_weights,
    complement_nb_weights,
    style_features,
)
from .folds import encode_labels, stratified_folds, time_blocked_folds
from .ngrams import normalize
from .support import informative_words, out_of_fold_support

STACK_C = 1.0  # inverse regularisation of the final logistic regression
STACK_TOL = 3e-2  # SAGA's stopping tolerance: a tighter one takes 3-4x the epochs for no accuracy (docs/model.md)
DIRECT_ANALYZER = "words"  # the block whose frequent n-grams are also direct features of the final regression
SUPPORT_UNIGRAMS = False  # a text's support counts its known word bigrams too (see docs/model.md)

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (per-class sums, per-class rows) -> weights


@dataclass
class Stacking:
    """Everything a fit and its cross-validation share: labels, folds, the fitted blocks, the per-account
    scorers trained on all folds (for the final model), the style standardizer, the direct features, and
    the stacking features of every fold for every set of excluded folds the fit and the cross-validation
    need.

    Memory matters (the app fits on a request): the blocks are built one at a time, with the rows in fold
    order so that a fold is a contiguous slice, turned into small score matrices and dropped before the
    next (but for the direct features' columns)."""

    classes: list[str]
    y: np.ndarray
    folds: list[np.ndarray]  # row indices of each fold
    bounds: np.ndarray  # fold f is rows bounds[f]:bounds[f + 1] of the fold-ordered matrices
    blocks: list[TfidfBlock]
    weights: list[np.ndarray]  # [block] its scorer trained on all folds
    embedding: AccountScores
    style: Standardizer
    direct: DirectFeatures
    direct_block: int  # index of the block the direct features come from
    direct_rows: sparse.csr_matrix  # the direct features of all rows, in fold order
    scores: dict[tuple[int, frozenset[int]], np.ndarray]  # (fold, excluded folds) -> dense features of its rows
    informative: np.ndarray  # the direct (words) block's columns that count in a text's support
    support: np.ndarray  # each row's out-of-fold support (see ``support.py``), in fold order

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        embeddings,
        labels,
        folds: int,
        random_state: int,
        times: Sequence | None = None,
        counts: PostCounts | None = None,
    ) -> Stacking:
        """The stacking of ``texts`` (``counts``: their n-grams' counts, where a caller shares them with the
        none-of-these check; ``counts.docs`` are the texts normalized, in the same order)."""
        classes, y = encode_labels(labels)
        if len(embeddings) != len(texts) or len(texts) != len(y):
            raise ValueError("texts, embeddings and labels must have the same length")
        folds = max(2, min(folds, int(np.bincount(y).min())))  # (fewer when an account has fewer tweets)
        fold_rows = stratified_folds(y, folds, random_state) if times is None else time_blocked_folds(y, times, folds)
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
        # the fit needs each fold's scores with that fold excluded; the cross-validation also needs them
        # with each other fold excluded too
        needed = [[frozenset({f}), *(frozenset({f, h}) for h in range(n_folds) if h != f)] for f in range(n_folds)]
        parts: dict[tuple[int, frozenset[int]], list[np.ndarray]] = {}

        def add_scores(matrix, scorer: Scorer) -> np.ndarray:
            """Append every needed set's scores of ``matrix`` (rows in fold order) to ``parts``; return the
            scorer trained on all folds."""
            sums = indicator @ matrix
            sums = (sums.toarray() if sparse.issparse(sums) else sums).reshape(n_folds, k, -1)
            total, count = sums.sum(axis=0), rows_per_group.sum(axis=0)
            # the scorer without folds f and h serves both f's rows and h's: trained once, kept until h's
            trained: dict[frozenset[int], np.ndarray] = {}

            def without(e: frozenset[int]) -> np.ndarray:
                if e in trained:
                    return trained.pop(e)
                weights = scorer(total - sums[sorted(e)].sum(axis=0), count - rows_per_group[sorted(e)].sum(axis=0))
                if len(e) > 1:
                    trained[e] = weights
                return weights

            for f, sets in enumerate(needed):  # one product per fold, for all its sets at once
                weights = np.hstack([without(e) for e in sets])
                scores = matrix[bounds[f] : bounds[f + 1]] @ weights
                for i, excluded in enumerate(sets):
                    parts.setdefault((f, excluded), []).append(scores[:, i * k : (i + 1) * k])
            return scorer(total, count)

        posts = counts if counts is not None else PostCounts([normalize(t) for t in texts])
        if len(posts.docs) != len(texts):
            raise ValueError("the counts must be of the texts")
        blocks = new_blocks()
        final = []
        direct_block = [block.analyzer for block in blocks].index(DIRECT_ANALYZER)
        for index, block in enumerate(blocks):
            matrix = block.fit_counts(posts)[order]  # (rows in fold order)
            final.append(add_scores(matrix, lambda sums, _rows: complement_nb_weights(sums, NB_ALPHA)))
            if index == direct_block:
                direct = DirectFeatures().fit(matrix)
                direct_rows = direct.transform(matrix)
                informative = informative_words(block, posts.docs, matrix, unigrams=SUPPORT_UNIGRAMS)
                support = out_of_fold_support(matrix, informative, bounds)
            del matrix
        vectors = np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)[order]
        standardizer = Standardizer().fit(vectors)
        embedding = AccountScores(standardizer, add_scores(standardizer.transform(vectors), centroid_weights))
        style_values = style_features([texts[i] for i in order])
        style = Standardizer().fit(style_values)
        style_values = style.transform(style_values)
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
            style,
            direct,
            direct_block,
            direct_rows,
            scores,
            informative,
            support,
        )

    def features(self, fold: int, excluded: frozenset[int]) -> sparse.csr_matrix:
        """Final-regression features of the rows of ``fold``: each block's naive Bayes scores and the
        embedding's scores, trained on the folds not in ``excluded``, the standardized style counts, and the
        direct features. The fit's out-of-fold scores are also the cross-validation's test scores."""
        return join(self.scores[fold, excluded], self.direct_rows[self.bounds[fold] : self.bounds[fold + 1]])

    def stacked(self, held_out: int | None) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Out-of-fold features and labels of all rows outside fold ``held_out``."""
        kept = [f for f in range(len(self.folds)) if f != held_out]
        parts = [self.features(f, frozenset({f} if held_out is None else {f, held_out})) for f in kept]
        return sparse.vstack(parts, format="csr"), np.concatenate([self.y[self.folds[f]] for f in kept])

    def y_in_fold_order(self) -> np.ndarray:
        return self.y[np.concatenate(self.folds)]


def join(dense: np.ndarray, direct: sparse.csr_matrix) -> sparse.csr_matrix:
    """The final regression's features: dense scores and style, then the sparse direct features."""
    return sparse.hstack([sparse.csr_matrix(dense), direct], format="csr")


def logistic_regression(features: sparse.csr_matrix, y: np.ndarray, random_state: int) -> LogisticRegression:
    """The final classifier. SAGA (one pass over the non-zeros per epoch) with a loose tolerance fits the
    sparse columns in a fraction of L-BFGS's time. Always from a cold start: a fold's model must not start
    from one that saw the fold (that would inflate the cross-validated accuracy)."""
    lr = LogisticRegression(C=STACK_C, solver="saga", tol=STACK_TOL, max_iter=300, random_state=random_state)
    return lr.fit(features, y)


def final_regression(stacking: Stacking, random_state: int) -> LogisticRegression:
    """The model's regression, on every fold's out-of-fold features."""
    return logistic_regression(*stacking.stacked(held_out=None), random_state)


def cross_validate(stacking: Stacking, random_state: int, pool: Executor | None = None) -> tuple[float, np.ndarray]:
    """Accuracy over the folds and the out-of-fold logits (one column per account) of every row, in fold
    order: for each fold, naive Bayes and the regression are trained on the other folds only (the stacking
    inside uses those folds as its own). The folds' regressions run in ``pool`` when given."""

    def fold_scores(held_out: int) -> np.ndarray:
        features, y = stacking.stacked(held_out)
        lr = logistic_regression(features, y, random_state)
        scores = lr.decision_function(stacking.features(held_out, frozenset({held_out})))
        if scores.ndim == 1:  # binary: the second account's logit against the first's, 0
            scores = np.column_stack([np.zeros_like(scores), scores])
        return scores

    scores = np.vstack(list((pool.map if pool else map)(fold_scores, range(len(stacking.folds)))))
    return float(np.mean(scores.argmax(axis=1) == stacking.y_in_fold_order())), scores
