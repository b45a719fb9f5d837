"""The authorship model: a multinomial logistic regression over per-account scores of four TF-IDF n-gram
blocks (complement naive Bayes, out of fold), the embedding's centroid score, style counts and the word
n-grams themselves. How it works and what was tried: ``docs/model.md``."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import sparse
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from threadpoolctl import ThreadpoolController, threadpool_limits

from .calibration import TEMPERATURE, calibrated_temperature
from .explain import Decomposition, Evidence, chunk_shares, chunk_spans, contrast, top_evidence
from .features import style_features
from .ngrams import Ngrams, normalize
from .stacking import Stacking, cross_validate, final_regression, join

STACK_FOLDS = 5  # folds of the stacking, and of the cross-validation shown as how far to trust a guess
# fit_with_cv's 6 regressions (the model's and one per fold; independent, most of a cold fit's time) run in
# this many threads: SAGA releases the GIL, so they run side by side on two cores, with the same results.
FIT_THREADS = 2


class AuthorshipModel(BaseEstimator):
    """Which of the candidate accounts wrote a text, from their tweets, the tweets' stored embeddings and
    (optionally) their times; probabilities are those of the regression's logits divided by
    ``temperature``."""

    def __init__(self, random_state: int = 0, temperature: float = TEMPERATURE):
        self.random_state = random_state
        self.temperature = temperature

    def fit(
        self, texts: Sequence[str], embeddings: np.ndarray, labels: Sequence[str], times: Sequence | None = None
    ) -> AuthorshipModel:
        """Fit on the accounts' tweets; ``times`` (comparable values, one per text: the tweets' creation
        times) make the stacking folds stretches of each account's timeline."""
        with threadpool_limits(1):
            stacking = Stacking.build(texts, embeddings, labels, STACK_FOLDS, self.random_state, times)
            return self._fit_stacking(stacking, final_regression(stacking, self.random_state))

    def _fit_stacking(self, stacking: Stacking, regression: LogisticRegression) -> AuthorshipModel:
        regression.coef_ /= self.temperature
        regression.intercept_ /= self.temperature
        self.regression_ = regression
        self.classes_ = stacking.classes
        self.blocks_ = stacking.blocks
        self.block_weights_ = stacking.weights
        self.embedding_ = stacking.embedding
        self.style_ = stacking.style
        self.direct_ = stacking.direct
        self.direct_block_ = stacking.direct_block
        return self

    def out_of_fold_proba(self) -> np.ndarray:
        """The probabilities of each training text (rows in the order given to :func:`fit_with_cv`) from the
        cross-validation's models, which did not see it: where the model places the stored posts honestly."""
        self._require_fitted()
        return softmax(self.out_of_fold_logits_ / self.temperature, axis=1)

    def stacking_features(self, texts: Sequence[str], embeddings: np.ndarray) -> sparse.csr_matrix:
        """The final regression's features of texts (``regression_`` reads them)."""
        self._require_fitted()
        docs = [normalize(t) for t in texts]
        return self._stack([block.transform(docs) for block in self.blocks_], texts, embeddings)

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        self._require_fitted()
        if not len(texts):
            return np.zeros((0, len(self.classes_)))
        with _one_thread():
            return self._probabilities(self.stacking_features(texts, embeddings))

    def predict_and_explain(self, text: str, embedding: np.ndarray, top: int = 8) -> tuple[np.ndarray, list[Evidence]]:
        """``predict_proba`` of one text and ``explain`` for its most probable account, in one pass over its
        n-grams (the app's warm prediction: extracting them is most of the model's share of it)."""
        self._require_fitted()
        rows = self._block_rows(text)
        features = self._stack([matrix for _, matrix in rows], [text], np.asarray(embedding).reshape(1, -1))
        with _one_thread():
            probabilities = self._probabilities(features)[0]
        spans = chunk_spans(text)
        if not spans:
            return probabilities, []
        shares = self._shares(len(spans), probabilities, int(np.argmax(probabilities)), rows)
        return probabilities, top_evidence(text, spans, shares, top)

    def explain(
        self, text: str, embedding: np.ndarray, target: str, top: int = 8, probabilities: np.ndarray | None = None
    ) -> list[Evidence]:
        """The words of ``text`` that pushed most towards ``target`` against the other candidates, strongest
        first (see :meth:`decompose`); ``probabilities`` are ``predict_proba`` of this text, where the
        caller has them already."""
        column = self._column(target)
        spans = chunk_spans(text)
        if not spans:
            return []
        if probabilities is None:
            probabilities = self.predict_proba([text], np.asarray(embedding).reshape(1, -1))[0]
        shares = self._shares(len(spans), probabilities, column, self._block_rows(text))
        return top_evidence(text, spans, shares, top)

    def explain_each(self, text: str, probabilities: np.ndarray, top: int = 8) -> list[list[Evidence]]:
        """:meth:`explain` towards every account (in ``classes_`` order) in one pass over the text's n-grams;
        ``probabilities`` are ``predict_proba`` of this text (the similar posts of every account use it)."""
        self._require_fitted()
        spans = chunk_spans(text)
        if not spans:
            return [[] for _ in self.classes_]
        rows = self._block_rows(text)
        return [
            top_evidence(text, spans, self._shares(len(spans), probabilities, column, rows), top)
            for column in range(len(self.classes_))
        ]

    def decompose(self, text: str, embedding: np.ndarray, target: str) -> Decomposition:
        """The target's score against the other candidates split exactly into each word's share of the
        n-grams and the rest (see :class:`Decomposition`)."""
        column = self._column(target)
        rows = self._block_rows(text)
        features = self._stack([matrix for _, matrix in rows], [text], np.asarray(embedding).reshape(1, -1))
        probabilities = self._probabilities(features)[0]
        direction = contrast(self.regression_.coef_, probabilities, column)
        start = sum(weights.shape[1] for weights in self.block_weights_)  # after the blocks' scores
        stop = direction.size - self.direct_.n_features_  # before the direct features
        values = features.toarray()[0]
        spans = chunk_spans(text)
        rest = np.zeros(direction.size, bool)  # the embedding's and the style counts' columns
        rest[start:stop] = True
        if spans:
            shares = self._shares(len(spans), probabilities, column, rows)
        else:  # nothing to credit the n-grams (the words block's marks) to: they are part of the rest
            shares, rest[:] = np.zeros(0), True
        intercept = contrast(self.regression_.intercept_[:, None], probabilities, column)[0]
        return Decomposition(spans, shares, float(direction[rest] @ values[rest] + intercept))

    def _stack(self, matrices: list[sparse.csr_matrix], texts: Sequence[str], embeddings: np.ndarray):
        """The final regression's features from the blocks' TF-IDF rows, the embeddings and the texts."""
        vectors = np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)
        scores = [matrix @ weights for matrix, weights in zip(matrices, self.block_weights_)]
        scores.append(self.embedding_.transform(vectors))
        scores.append(self.style_.transform(style_features(texts)))
        return join(np.hstack(scores), self.direct_.transform(matrices[self.direct_block_]))

    def _block_rows(self, text: str) -> list[tuple[Ngrams, sparse.csr_matrix]]:
        """Each block's n-gram occurrences (with their chunks) and TF-IDF row of one text."""
        doc = [normalize(text)]
        rows = []
        for block in self.blocks_:
            occ = block.lookup(doc, chunks=True)
            rows.append((occ, block.tfidf(occ, 1)))
        return rows

    def _shares(
        self, n_chunks: int, probabilities: np.ndarray, target: int, rows: list[tuple[Ngrams, sparse.csr_matrix]]
    ) -> np.ndarray:
        direction = contrast(self.regression_.coef_, probabilities, target)
        return chunk_shares(n_chunks, direction, rows, self.block_weights_, self.direct_block_, self.direct_)

    def _probabilities(self, features: sparse.csr_matrix) -> np.ndarray:
        """``predict_proba`` of the final regression, computed as scikit-learn does (softmax of the scores;
        the logistic function of the one score between 2 accounts) without its input checks, which cost
        more than the product itself on one text."""
        scores = np.asarray(features @ self.regression_.coef_.T) + self.regression_.intercept_
        if scores.shape[1] == 1:
            second = expit(scores[:, 0])
            return np.column_stack([1 - second, second])
        return softmax(scores, axis=1)

    def _column(self, target: str) -> int:
        self._require_fitted()
        if target not in self.classes_:
            raise ValueError(f"{target!r} is not one of the model's accounts")
        return self.classes_.index(target)

    def _require_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise RuntimeError("fit the model first")


_CONTROLLER: list[ThreadpoolController] = []


def _one_thread():
    """``threadpool_limits(1)`` for predictions, without rescanning the loaded libraries every time (that
    scan costs more than a warm prediction's model)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1)


def cross_validated_accuracy(
    texts: Sequence[str],
    embeddings: np.ndarray,
    labels: Sequence[str],
    folds: int = 5,
    random_state: int = 0,
    times: Sequence | None = None,
) -> float:
    """Stratified k-fold accuracy of :class:`AuthorshipModel` on these tweets: shuffled folds, or stretches
    of time when ``times`` are given. The blocks (vocabularies and idf, no labels) are fitted once on all
    texts; everything that sees labels is refitted per fold."""
    with threadpool_limits(1):
        stacking = Stacking.build(texts, embeddings, labels, folds, random_state, times)
        return cross_validate(stacking, random_state)[0]


def fit_with_cv(
    texts: Sequence[str],
    embeddings: np.ndarray,
    labels: Sequence[str],
    random_state: int = 0,
    times: Sequence | None = None,
) -> tuple[AuthorshipModel, float]:
    """A fitted model and its cross-validated accuracy in one pass, for little more than a fit: the blocks
    and the per-fold naive Bayes counts are shared by the fit and every fold. The accuracy equals
    :func:`cross_validated_accuracy` with 5 folds and the same ``random_state`` and ``times`` (the app
    passes the tweets' times, so it is that of predicting stretches of time the model did not learn from).

    The out-of-fold scores also set the model's ``temperature`` (:func:`calibrated_temperature`), so its
    probabilities match how often it is right on these accounts; ``AuthorshipModel(**model.get_params())``
    fitted on the same tweets gives the same model."""
    with threadpool_limits(1):
        stacking = Stacking.build(texts, embeddings, labels, STACK_FOLDS, random_state, times)
        with ThreadPoolExecutor(FIT_THREADS) as pool:
            final = pool.submit(final_regression, stacking, random_state)
            accuracy, scores = cross_validate(stacking, random_state, pool)
            regression = final.result()
        temperature = calibrated_temperature(scores, stacking.y_in_fold_order())
        model = AuthorshipModel(random_state, temperature)._fit_stacking(stacking, regression)
        model.out_of_fold_logits_ = np.empty_like(scores)
        model.out_of_fold_logits_[np.concatenate(stacking.folds)] = scores
        return model, accuracy
