"""One fit serves every process: models shared through the instance folder or Redis, signed, bounded."""

from __future__ import annotations

import pickle

import pytest

from twitapp import runtime
from twitapp.extensions import db
from twitapp.services.model_store import FolderStore, RedisStore, SignedModels
from twitapp.services.prediction import predict_author

TEXT = "Billionaires should pay their fair share in taxes"


def ask(app, handles=("SenWarren", "marcorubio"), text=TEXT):
    with app.app_context():
        return predict_author(db.session, list(handles), text, runtime.embedder(), runtime.model_cache())


class Planted:
    """A pickle that would create a file when loaded: what an attacker who can write the store plants."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_model_fitted_in_one_process_answers_warm_in_another(make_app, fake_x, two_senators, tmp_path):
    folder = tmp_path / "models"
    first = make_app(X_API_URL=fake_x.url, MODEL_STORE_MB=64, MODEL_STORE_FOLDER=str(folder))
    second = make_app(X_API_URL=fake_x.url, MODEL_STORE_MB=64, MODEL_STORE_FOLDER=str(folder))
    fitted = ask(first)
    shared = ask(second)
    assert (fitted.model_source, shared.model_source) == ("fitted", "shared")
    assert shared.cached and shared.probabilities == fitted.probabilities
    assert ask(second).model_source == "memory"
    assert len(list(folder.glob("*.model"))) == 1
    with second.test_client() as client:
        body = client.post("/api/predict", json={"accounts": list(two_senators), "text": TEXT}).json
    assert body["model"]["cached"] is True and body["model"]["source"] == "memory"


@pytest.mark.parametrize("attack", ["flipped byte", "other secret", "planted pickle"])
def test_a_tampered_model_is_never_loaded_and_the_set_is_fitted_again(make_app, fake_x, two_senators, tmp_path, attack):
    folder = tmp_path / "models"
    first = make_app(X_API_URL=fake_x.url, MODEL_STORE_MB=64, MODEL_STORE_FOLDER=str(folder))
    ask(first)
    [path] = folder.glob("*.model")
    blob = path.read_bytes()
    marker = tmp_path / "code-ran"
    if attack == "flipped byte":
        path.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    elif attack == "other secret":
        forged = SignedModels(FolderStore(folder, 1 << 30), "not-this-apps-secret")
        payload = pickle.dumps(Planted(marker))
        path.write_bytes(forged._sign(path.stem, payload) + payload)
    else:  # a valid-looking signature length, with a payload that runs code
        path.write_bytes(b"\0" * 32 + pickle.dumps(Planted(marker)))
    second = make_app(X_API_URL=fake_x.url, MODEL_STORE_MB=64, MODEL_STORE_FOLDER=str(folder))
    again = ask(second)
    assert again.model_source == "fitted" and not marker.exists()
    assert runtime_cache(second).shared.refused == 1


def runtime_cache(app):
    with app.app_context():
        return runtime.model_cache()


def test_the_folder_store_keeps_at_most_its_size_newest_first(tmp_path):
    store = FolderStore(tmp_path, max_bytes=250)
    for name in "abc":
        store.put(name, name.encode() * 100)
    assert sorted(p.stem for p in tmp_path.glob("*.model")) == ["b", "c"]
    store.put("huge", b"x" * 251)  # bigger than the whole store: not kept
    assert store.get("huge") is None and store.get("c") == b"c" * 100


def test_the_redis_store_shares_and_evicts_least_recently_used(redis_db):
    store = RedisStore(redis_db, max_bytes=250, prefix="hypotweet:model-test:")
    for name in "abc":
        store.put(name, name.encode() * 100)
    assert store.get("a") is None and store.get("b") == b"b" * 100
    store.put("d", b"d" * 100)  # "b" was read after "c": "c" goes
    assert store.get("c") is None and store.get("b") is not None and store.get("d") is not None


def test_models_shared_through_redis_between_two_apps(make_app, fake_x, two_senators, redis_db, redis_url):
    first = make_app(X_API_URL=fake_x.url, MODEL_STORE_MB=64, REDIS_URL=redis_url)
    second = make_app(X_API_URL=fake_x.url, MODEL_STORE_MB=64, REDIS_URL=redis_url)
    assert ask(first).model_source == "fitted"
    assert ask(second).model_source == "shared"


def test_a_store_that_cannot_be_reached_only_costs_a_fit(make_app, fake_x, two_senators):
    app = make_app(X_API_URL=fake_x.url, MODEL_STORE_MB=64, REDIS_URL="redis://127.0.0.1:9/0")
    assert ask(app).model_source == "fitted"
    assert ask(app).model_source == "memory"
