"""The authorship model: a multinomial logistic regression over per-account scores of four TF-IDF n-gram
blocks (complement naive Bayes, out of fold), the embedding's centroid score, style counts and the word
n-grams themselves. How it works and what was tried: ``docs/model.md``."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from threadpoolctl import ThreadpoolController, threadpool_limits

from .calibration import SUPPORT_SCALE, TEMPERATURE, calibrate, support_gain
from .counts import PostCounts
from .explain import Decomposition, Evidence, TextRows, chunk_spans, contrasts, share_basis, top_evidence
from .features import style_features
from .ngrams import normalize
from .sets import SetPrediction, combine, fit_exponent, others_mix, post_weights, set_evidence, set_factor
from .stacking import Stacking, cross_validate, final_regression, join
from .support import support_of

STACK_FOLDS = 5  # folds of the stacking, and of the cross-validation shown as how far to trust a guess
# fit_with_cv's 6 regressions (the model's and one per fold; independent, most of a cold fit's time) run in
# this many threads: SAGA releases the GIL, so they run side by side on two cores, with the same results.
FIT_THREADS = 2


@dataclass(frozen=True)
class TextPrediction:
    """One text's probabilities (in ``classes_`` order), the words that decided its guess, its support
    (distinct words beyond the accounts' commonest that their posts have used: see ``support.py``) and its
    number of words."""

    probabilities: np.ndarray
    evidence: list[Evidence]
    support: float
    words: int
    # the text's n-grams per block, for explain_each of the same text without a second pass
    rows: TextRows | None = field(default=None, repr=False, compare=False)


class AuthorshipModel(BaseEstimator):
    """Which of the candidate accounts wrote a text, from their tweets, the tweets' stored embeddings and
    (optionally) their times; probabilities are those of the regression's logits divided by
    ``temperature`` and shrunk toward chance by the text's support (``support_scale``: see
    :func:`calibration.support_gain`); several posts of one author combine with ``set_exponent`` (see
    ``sets.py``)."""

    def __init__(
        self,
        random_state: int = 0,
        temperature: float = TEMPERATURE,
        support_scale: float = SUPPORT_SCALE,
        set_exponent: float = 0.0,
    ):
        self.random_state = random_state
        self.temperature = temperature
        self.support_scale = support_scale
        self.set_exponent = set_exponent

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
        self.informative_ = stacking.informative
        return self

    def out_of_fold_proba(self) -> np.ndarray:
        """The probabilities of each training text (rows in the order given to :func:`fit_with_cv`) from the
        cross-validation's models, which did not see it: where the model places the stored posts honestly."""
        self._require_fitted()
        gain = support_gain(self.out_of_fold_support_, self.support_scale)
        return softmax(self.out_of_fold_logits_ * (gain / self.temperature)[:, None], axis=1)

    def stacking_features(self, texts: Sequence[str], embeddings: np.ndarray) -> sparse.csr_matrix:
        """The final regression's features of texts (``regression_`` reads them)."""
        return self._features(texts, embeddings)[0]

    def support(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's support: its distinct words beyond the accounts' commonest that their posts have
        used (see ``support.py``)."""
        self._require_fitted()
        block = self.blocks_[self.direct_block_]
        return support_of(block.transform([normalize(t) for t in texts]), self.informative_)

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        self._require_fitted()
        if not len(texts):
            return np.zeros((0, len(self.classes_)))
        return self._probabilities(*self._features(texts, embeddings))

    def predict_and_explain(self, text: str, embedding: np.ndarray, top: int = 8) -> tuple[np.ndarray, list[Evidence]]:
        """``predict_proba`` of one text and ``explain`` for its most probable account, in one pass over its
        n-grams (the app's warm prediction: extracting them is most of the model's share of it)."""
        prediction = self.predict_text(text, embedding, top)
        return prediction.probabilities, prediction.evidence

    def predict_text(self, text: str, embedding: np.ndarray, top: int = 8) -> TextPrediction:
        """:meth:`predict_and_explain` with the text's support and number of words (for how sure the guess
        is: see ``confidence.py``), from the same pass over its n-grams."""
        self._require_fitted()
        rows = self._block_rows(text)
        scores, support = self._text_scores(rows, text, embedding)
        probabilities = self._to_probabilities(scores[None, :], np.array([support]))[0]
        evidence: list[Evidence] = []
        if rows.spans:
            shares = self._shares(probabilities, [int(np.argmax(probabilities))], rows, support)[:, 0]
            evidence = top_evidence(text, rows.spans, shares, top)
        return TextPrediction(probabilities, evidence, support, len(text.split()), rows)

    def predict_set(self, texts: Sequence[str], embeddings: np.ndarray, top: int = 8) -> SetPrediction:
        """The verdict of several posts taken to share one author: their probabilities combined (see
        ``sets.py``), each post's weight in it, and the words that weighed most over all posts."""
        self._require_fitted()
        if not len(texts):
            raise ValueError("no posts to attribute")
        vectors = np.asarray(embeddings).reshape(len(texts), -1)
        post_rows = [self._block_rows(text) for text in texts]
        stacked = [self._text_scores(rows, text, vectors[i]) for i, (rows, text) in enumerate(zip(post_rows, texts))]
        support = np.array([s for _, s in stacked])
        per_post = self._to_probabilities(np.vstack([scores for scores, _ in stacked]), support)
        logs = np.log(np.clip(per_post.astype(np.float64), 1e-300, 1))
        combined = combine(logs, self.set_exponent)
        winner, factor = int(np.argmax(combined)), set_factor(len(texts), self.set_exponent)
        mix = others_mix(logs, self.set_exponent)  # (the others' shares, without underflow)
        shares = []
        for text, rows, gain_support in zip(texts, post_rows, support):
            spans = rows.spans
            values = self._shares(mix, [winner], rows, gain_support)[:, 0] * factor if spans else np.zeros(0)
            shares.append((text, spans, values))
        return SetPrediction(
            probabilities=combined,
            per_post=per_post,
            weights=post_weights(logs, self.set_exponent),
            support=support,
            words=np.array([len(text.split()) for text in texts]),
            evidence=set_evidence(shares, top),
            exponent=self.set_exponent,
        )

    def explain(
        self, text: str, embedding: np.ndarray, target: str, top: int = 8, probabilities: np.ndarray | None = None
    ) -> list[Evidence]:
        """The words of ``text`` that pushed most towards ``target`` against the other candidates, strongest
        first (see :meth:`decompose`); ``probabilities`` are ``predict_proba`` of this text, where the
        caller has them already."""
        column = self._column(target)
        rows = self._block_rows(text)
        if not rows.spans:
            return []
        support = self._support(rows)
        if probabilities is None:
            scores, _ = self._text_scores(rows, text, embedding)
            probabilities = self._to_probabilities(scores[None, :], np.array([support]))[0]
        shares = self._shares(probabilities, [column], rows, support)[:, 0]
        return top_evidence(text, rows.spans, shares, top)

    def explain_each(
        self, text: str, probabilities: np.ndarray, top: int = 8, rows: TextRows | None = None
    ) -> list[list[Evidence]]:
        """:meth:`explain` towards every account (in ``classes_`` order) in one pass over the text's n-grams;
        ``probabilities`` are ``predict_proba`` of this text (the similar posts of every account use it);
        ``rows``, the text's :attr:`TextPrediction.rows` where the caller has them."""
        self._require_fitted()
        rows = rows or self._block_rows(text)
        if not rows.spans:
            return [[] for _ in self.classes_]
        shares = self._shares(probabilities, range(len(self.classes_)), rows, self._support(rows))
        return [top_evidence(text, rows.spans, shares[:, column], top) for column in range(len(self.classes_))]

    def decompose(self, text: str, embedding: np.ndarray, target: str) -> Decomposition:
        """The target's score against the other candidates split exactly into each word's share of the
        n-grams and the rest (see :class:`Decomposition`)."""
        column = self._column(target)
        rows = self._block_rows(text)
        dense, direct_columns, direct_values = self._text_features(rows, text, embedding)
        scores, support = self._scores_of(dense, direct_columns, direct_values), self._support(rows)
        probabilities = self._to_probabilities(scores[None, :], np.array([support]))[0]
        gain = float(support_gain(support, self.support_scale))
        direction = gain * contrasts(self.regression_.coef_, probabilities, [column])[0]
        start = sum(weights.shape[1] for weights in self.block_weights_)  # after the blocks' scores
        values = np.zeros(direction.size)
        values[: dense.size] = dense
        values[dense.size + direct_columns] = direct_values
        rest = np.zeros(direction.size, bool)  # the embedding's and the style counts' columns
        rest[start : dense.size] = True
        if rows.spans:
            shares = self._shares(probabilities, [column], rows, support)[:, 0]
        else:  # nothing to credit the n-grams (the words block's marks) to: they are part of the rest
            shares, rest[:] = np.zeros(0), True
        intercept = gain * contrasts(self.regression_.intercept_[:, None], probabilities, [column])[0, 0]
        return Decomposition(rows.spans, shares, float(direction[rest] @ values[rest] + intercept))

    def _features(self, texts: Sequence[str], embeddings: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
        """The final regression's features of texts and their supports."""
        self._require_fitted()
        docs = [normalize(t) for t in texts]
        matrices = [block.transform(docs) for block in self.blocks_]
        return self._stack(matrices, texts, embeddings), support_of(matrices[self.direct_block_], self.informative_)

    def _text_scores(self, rows: TextRows, text: str, embedding: np.ndarray) -> tuple[np.ndarray, float]:
        """The final regression's scores (before the support's gain) and the support of one text from its
        :meth:`_block_rows`: what ``_features`` and ``_scores`` give for it, from the few columns its
        n-grams carry, without building its sparse feature row (which costs more than the products)."""
        return self._scores_of(*self._text_features(rows, text, embedding)), self._support(rows)

    def _scores_of(self, dense: np.ndarray, direct_columns: np.ndarray, direct_values: np.ndarray) -> np.ndarray:
        """The final regression's scores of one text's :meth:`_text_features`."""
        coef = self.regression_.coef_
        scores = coef[:, : dense.size] @ dense + coef[:, dense.size + direct_columns] @ direct_values
        return scores + self.regression_.intercept_

    def _text_features(
        self, rows: TextRows, text: str, embedding: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One text's final-regression features: the dense ones (the blocks' scores, the embedding's, the
        style counts), then its direct features' columns (counted after the dense ones) and values."""
        vector = np.asarray(embedding, dtype=np.float32).reshape(1, -1)
        dense = [row.values @ weights[row.columns] for row, weights in zip(rows.blocks, self.block_weights_)]
        dense.append(self.embedding_.transform(vector)[0])
        dense.append(self.style_.transform(style_features([text]))[0])
        direct_row = rows.blocks[self.direct_block_]
        own = self.direct_.column_[direct_row.columns]
        kept = own >= 0
        return np.concatenate(dense), own[kept], direct_row.values[kept] * np.float32(self.direct_.scale)

    def _support(self, rows: TextRows) -> float:
        """A text's support (see ``support.py``) from its :meth:`_block_rows`."""
        return float(self.informative_[rows.blocks[self.direct_block_].columns].sum())

    def _stack(self, matrices: list[sparse.csr_matrix], texts: Sequence[str], embeddings: np.ndarray):
        """The final regression's features from the blocks' TF-IDF rows, the embeddings and the texts."""
        vectors = np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)
        scores = [matrix @ weights for matrix, weights in zip(matrices, self.block_weights_)]
        scores.append(self.embedding_.transform(vectors))
        scores.append(self.style_.transform(style_features(texts)))
        return join(np.hstack(scores), self.direct_.transform(matrices[self.direct_block_]))

    def _block_rows(self, text: str) -> TextRows:
        """Each block's n-gram occurrences (with their chunks) and TF-IDF row of one text, and its chunks."""
        doc = normalize(text)
        return TextRows([block.text_row(doc) for block in self.blocks_], chunk_spans(text))

    def _shares(self, probabilities: np.ndarray, targets: Sequence[int], rows: TextRows, support: float) -> np.ndarray:
        """(chunks, targets) each chunk's share of each target's score against the others (see
        :meth:`decompose`), from one basis of the text's n-grams."""
        if rows.basis is None:
            n_features = self.regression_.coef_.shape[1]
            rows.basis = share_basis(
                len(rows.spans), rows.blocks, self.block_weights_, self.direct_block_, self.direct_, n_features
            )
        gain = float(support_gain(support, self.support_scale))
        return rows.basis.shares(gain * contrasts(self.regression_.coef_, probabilities, targets, rows.basis.columns))

    def _probabilities(self, features: sparse.csr_matrix, support: np.ndarray) -> np.ndarray:
        """The final regression's probabilities of texts from their features and supports."""
        with _one_thread():
            scores = np.asarray(features @ self.regression_.coef_.T) + self.regression_.intercept_
        return self._to_probabilities(scores, support)

    def _to_probabilities(self, scores: np.ndarray, support: np.ndarray) -> np.ndarray:
        """The final regression's scores, each text's shrunk by its support's gain, turned into
        probabilities as scikit-learn does (softmax of the scores; the logistic function of the one score
        between 2 accounts) without its input checks, which cost more than the product itself on one text;
        ``scores`` are overwritten."""
        scores *= support_gain(support, self.support_scale)[:, None]
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
    counts: PostCounts | None = None,
) -> tuple[AuthorshipModel, float]:
    """A fitted model and its cross-validated accuracy in one pass, for little more than a fit: the blocks
    and the per-fold naive Bayes counts are shared by the fit and every fold. The accuracy equals
    :func:`cross_validated_accuracy` with 5 folds and the same ``random_state`` and ``times`` (the app
    passes the tweets' times, so it is that of predicting stretches of time the model did not learn from).

    The out-of-fold scores also set the model's ``temperature`` and ``support_scale`` (:func:`calibrate`),
    so that its probabilities match how often it is right on these accounts whatever a text's length, and
    its ``set_exponent`` (:func:`sets.fit_exponent`) for several posts at once;
    ``AuthorshipModel(**model.get_params())`` fitted on the same tweets gives the same model. ``counts``
    (of the same texts) are shared with the none-of-these check's fit (``openset.post_counts``)."""
    with threadpool_limits(1):
        stacking = Stacking.build(texts, embeddings, labels, STACK_FOLDS, random_state, times, counts)
        with ThreadPoolExecutor(FIT_THREADS) as pool:
            final = pool.submit(final_regression, stacking, random_state)
            accuracy, scores = cross_validate(stacking, random_state, pool)
            regression = final.result()
        temperature, scale = calibrate(scores, stacking.support, stacking.y_in_fold_order())
        model = AuthorshipModel(random_state, temperature, scale)._fit_stacking(stacking, regression)
        order = np.concatenate(stacking.folds)
        model.out_of_fold_logits_ = np.empty_like(scores)
        model.out_of_fold_logits_[order] = scores
        model.out_of_fold_support_ = np.empty_like(stacking.support)
        model.out_of_fold_support_[order] = stacking.support
        model.set_exponent = fit_exponent(model.out_of_fold_proba(), stacking.y, stacking.folds, random_state)
        return model, accuracy
