"""The prediction service: the model cache, its invalidation, and its bound."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from twitapp import runtime
from twitapp.authorship import fit_with_cv
from twitapp.extensions import db
from twitapp.models import Account, Tweet
from twitapp.services.model_cache import ModelCache
from twitapp.services.prediction import Prediction, predict_author

TEXT = "Billionaires should pay their fair share in taxes"


def predict(handles=("SenWarren", "marcorubio"), text=TEXT):
    return predict_author(db.session, list(handles), text, runtime.embedder(), runtime.model_cache())


def test_second_prediction_reuses_the_fitted_model(app, two_senators):
    with app.app_context():
        first, second = predict(), predict()
    assert (first.cached, second.cached) == (False, True)
    assert first.probabilities == second.probabilities and first.cv_accuracy == second.cv_accuracy
    assert predict_order_does_not_matter(app)


def predict_order_does_not_matter(app) -> bool:
    with app.app_context():
        return predict(("marcorubio", "senwarren")).cached


def test_the_fit_is_cross_validated_over_stretches_of_time(app, two_senators, monkeypatch):
    """The trust shown is the accuracy of predicting stretches of each account's time that the model did
    not learn from: the fit gets every stored tweet's time, in the order of its texts."""
    from twitapp.services import prediction

    calls = []

    def spy(texts, vectors, labels, **options):
        calls.append((list(texts), options))
        return fit_with_cv(texts, vectors, labels, **options)

    monkeypatch.setattr(prediction, "fit_with_cv", spy)
    with app.app_context():
        predict()
        stored = {t.text: t.created_at for t in db.session.scalars(select(Tweet))}
    ((texts, options),) = calls
    assert len(texts) == 300 and options["times"] == [stored[text] for text in texts]


def test_new_tweets_invalidate_the_cached_model(app, seed, two_senators, senate_tweets):
    with app.app_context():
        assert not predict().cached and predict().cached
    seed("SenWarren", [text for _, text in senate_tweets["SenWarren"][-200:-150]])
    with app.app_context():
        refitted = predict()
        assert not refitted.cached and refitted.n_tweets == 350
        assert predict().cached


def test_an_account_deleted_and_stored_again_gets_a_new_model(app, seed, two_senators, senate_tweets):
    from twitapp.services.accounts import delete_account

    with app.app_context():
        predict()
        delete_account(db.session, "marcorubio")
    seed("marcorubio", [text for _, text in senate_tweets["marcorubio"][-150:]])
    with app.app_context():
        assert not predict().cached


def test_the_cache_holds_a_bounded_number_of_models():
    cache = ModelCache(maxsize=2)
    for key in "abc":
        cache.get_or_build(key, lambda key=key: key.upper())
    assert len(cache) == 2 and "a" not in cache and "c" in cache
    cache.get_or_build("b", lambda: "never built")  # a hit makes "b" the most recent
    cache.get_or_build("d", lambda: "D")
    assert "b" in cache and "c" not in cache
    with pytest.raises(ValueError):
        ModelCache(maxsize=0)


def test_concurrent_misses_for_one_key_build_once():
    cache = ModelCache(maxsize=4)
    builds, gate = [], threading.Event()

    def build():
        builds.append(1)
        gate.wait(2)
        return "model"

    threads = [threading.Thread(target=cache.get_or_build, args=("k", build)) for _ in range(4)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert builds == [1] and cache.hits == 3


def test_a_failed_build_is_not_cached():
    cache = ModelCache(maxsize=2)
    with pytest.raises(RuntimeError):
        cache.get_or_build("k", lambda: (_ for _ in ()).throw(RuntimeError("fit failed")))
    assert "k" not in cache
    assert cache.get_or_build("k", lambda: "ok") == ("ok", False)


def test_similar_posts_share_the_deciding_words_and_the_guess_comes_first(app, two_senators):
    """Each account's similar posts are its stored posts that use the text's words pointing to it: the
    guessed account's column first, each post's shared words among the words shown as deciding, in the
    post itself, and no post kept that shares none."""
    from twitapp.services.similar import word_of, words_of

    with app.app_context():
        prediction = predict()
        stored = {t.id: (t.text, a) for t, a in db.session.execute(select(Tweet, Account.username).join(Account)).all()}
    assert list(prediction.similar) == list(prediction.probabilities)  # most probable first
    assert next(iter(prediction.similar)) == prediction.author
    winner = prediction.similar[prediction.author]
    assert winner, "no post of the guessed account shares a deciding word"
    deciding = [e.term for e in prediction.evidence]
    for username, posts in prediction.similar.items():
        assert len(posts) <= 3 and len({p.id for p in posts}) == len(posts)
        for post in posts:
            text, author = stored[post.id]
            assert author == username and text == post.text
            assert post.shared and all(word_of(w) in words_of(text) for w in post.shared)
            assert all(word_of(w) in words_of(TEXT) for w in post.shared)
    assert all(set(p.shared) <= set(deciding) for p in winner)
    weight = {e.term: e.weight for e in prediction.evidence}
    scores = [sum(weight[w] for w in p.shared) for p in winner]
    assert scores == sorted(scores, reverse=True)  # the posts using the most of the evidence first


def test_a_text_without_deciding_words_shows_no_similar_post(app, two_senators):
    with app.app_context():
        prediction = predict(text="zzqx qqzx")
    assert all(posts == [] for posts in prediction.similar.values())


def test_the_map_puts_the_text_nearest_the_guessed_account(app, two_senators):
    with app.app_context():
        for text in (TEXT, "Florida families deserve better", "hello"):
            prediction = predict(text=text)
            assert prediction.tweet_map is not None and prediction.tweet_map.nearest == prediction.author
            assert sum(s.shown for s in prediction.tweet_map.series) == prediction.n_tweets  # 150 each, all shown


@pytest.mark.parametrize(
    "cv_accuracy,chance,level",
    [
        (0.98, 1 / 2, "high"),
        (0.86, 1 / 4, "high"),  # 81% of the way from guessing to always right
        (0.80, 1 / 2, "fair"),
        (0.70, 1 / 3, "fair"),
        (0.65, 1 / 2, "some"),
        (0.45, 1 / 4, "some"),
        (0.60, 1 / 2, "low"),
        (0.30, 1 / 3, "low"),  # worse than guessing
    ],
)
def test_reliability_grades_how_far_the_model_beats_guessing(cv_accuracy, chance, level):
    prediction = Prediction(
        text="",
        author="a",
        probabilities={},
        cv_accuracy=cv_accuracy,
        chance=chance,
        evidence=[],
        similar={},
        cached=False,
        fit_seconds=0,
        seconds=0,
        n_tweets=0,
    )
    assert prediction.reliability == level


def test_ten_candidates_are_answered_on_the_api_and_the_page(make_app, fake_x, seed, senate_tweets):
    """MAX_CANDIDATES goes up to 10: ten accounts (halves of the real sample's six) in one question."""
    app = make_app(X_API_URL=fake_x.url, MAX_CANDIDATES=10)
    handles = []
    for author, rows in sorted(senate_tweets.items()):
        texts = [text for _, text in rows[-160:]]
        for part, chunk in enumerate((texts[:80], texts[80:])):
            if len(handles) < 10:
                handles.append(f"{author[:12]}_{part}")
                seed(handles[-1], chunk)
    client = app.test_client()
    answer = client.post("/api/predict", json={"accounts": handles, "text": "Our farmers need this bill passed."})
    assert answer.status_code == 200, answer.get_json()
    probabilities = answer.get_json()["probabilities"]
    assert len(probabilities) == 10 and abs(sum(probabilities.values()) - 1) < 1e-6
    too_many = client.post("/api/predict", json={"accounts": [*handles, "another"], "text": "hello there"})
    assert too_many.status_code == 400 and "at most 10" in too_many.get_json()["error"]
