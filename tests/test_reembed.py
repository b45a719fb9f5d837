"""After SPACY_MODEL changes: predictions refuse tweets embedded by another model, and
``flask accounts reembed`` embeds them again."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select, update

from twitapp import runtime
from twitapp.extensions import db
from twitapp.models import Account, Tweet

OLD_MODEL = "en_core_web_lg_old"
QUESTION = {"accounts": ["SenWarren", "marcorubio"], "text": "Billionaires should pay their fair share"}


def _mark_stale(app, username: str, limit: int | None = None) -> list[str]:
    """Pretend some of the account's tweets were embedded by another model (with zero vectors of
    another size); returns their ids."""
    with app.app_context():
        query = select(Tweet.id).join(Account).where(Account.username == username).order_by(Tweet.id)
        ids = list(db.session.scalars(query.limit(limit) if limit else query))
        db.session.execute(
            update(Tweet)
            .where(Tweet.id.in_(ids))
            .values(embedding_model=OLD_MODEL, embedding=np.zeros(300, np.float32).tobytes(), embedding_dim=300)
        )
        db.session.commit()
    return ids


def _models(app) -> dict[str, int]:
    with app.app_context():
        return dict(
            db.session.execute(select(Tweet.embedding_model, func.count()).group_by(Tweet.embedding_model)).all()
        )


def test_prediction_refuses_tweets_of_another_model_and_says_how_to_fix_it(app, client, two_senators):
    _mark_stale(app, "marcorubio", limit=5)
    response = client.post("/api/predict", json=QUESTION)
    assert response.status_code == 409
    message = response.get_json()["error"]
    assert "@marcorubio" in message and "@SenWarren" not in message
    assert OLD_MODEL in message and "flask accounts reembed" in message
    with app.app_context():
        assert len(runtime.model_cache()) == 0  # a failed fit is not cached

    page = client.post("/predict", data={"accounts": QUESTION["accounts"], "text": QUESTION["text"]})
    assert page.status_code == 409 and b"flask accounts reembed" in page.data


def test_reembed_embeds_only_stale_tweets_then_predictions_work(app, client, runner, two_senators):
    stale = _mark_stale(app, "marcorubio", limit=20)
    with app.app_context():
        model = runtime.embedder().model_name
        texts = dict(db.session.execute(select(Tweet.id, Tweet.text).where(Tweet.id.in_(stale))).all())
        untouched = db.session.execute(
            select(Tweet.account_id, Tweet.id, Tweet.embedding)
            .join(Account)
            .where(Account.username == "SenWarren")
            .limit(1)
        ).one()

    result = runner.invoke(args=["accounts", "reembed"])
    assert result.exit_code == 0, result.output
    assert f"Embedded 20 tweets of 1 accounts with {model}" in result.output
    assert _models(app) == {model: 300}

    with app.app_context():
        expected = runtime.embedder().embed([texts[i] for i in stale])
        stored = db.session.execute(
            select(Tweet.id, Tweet.embedding, Tweet.embedding_dim).where(Tweet.id.in_(stale))
        ).all()
        vectors = {r.id: np.frombuffer(r.embedding, np.float32) for r in stored}
        np.testing.assert_allclose(np.vstack([vectors[i] for i in stale]), expected, atol=1e-5)
        assert {r.embedding_dim for r in stored} == {expected.shape[1]}
        assert (
            db.session.get(Tweet, (untouched.account_id, untouched.id)).embedding == untouched.embedding
        )  # not re-embedded

    assert client.post("/api/predict", json=QUESTION).status_code == 200
    again = runner.invoke(args=["accounts", "reembed"])
    assert again.exit_code == 0 and "already" in again.output


def test_reembed_all_embeds_every_tweet_again(app, runner, two_senators):
    result = runner.invoke(args=["accounts", "reembed", "--all"])
    assert result.exit_code == 0, result.output
    assert "Embedded 300 tweets of 2 accounts" in result.output


def test_a_failed_reembed_leaves_the_account_as_it_was(app, runner, two_senators, monkeypatch):
    _mark_stale(app, "marcorubio", limit=10)
    _mark_stale(app, "SenWarren", limit=10)
    from twitapp.services import reembed as service

    calls = []
    original = service.to_bytes

    def fail_on_the_second_account(vector):
        calls.append(1)
        if len(calls) > 10:
            raise OSError("disk full")
        return original(vector)

    monkeypatch.setattr(service, "to_bytes", fail_on_the_second_account)
    result = runner.invoke(args=["accounts", "reembed"])
    assert result.exit_code != 0
    # accounts go by username: marcorubio was done and committed, SenWarren left as it was
    with app.app_context():
        by_account = dict(
            db.session.execute(
                select(Account.username, func.count())
                .join(Tweet)
                .where(Tweet.embedding_model == OLD_MODEL)
                .group_by(Account.username)
            ).all()
        )
    assert by_account == {"SenWarren": 10}
