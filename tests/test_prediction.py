"""The prediction service: the model cache, its invalidation, and its bound."""
from __future__ import annotations

import threading

import pytest

from twitapp import runtime
from twitapp.extensions import db
from twitapp.services.model_cache import ModelCache
from twitapp.services.prediction import predict_author

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
