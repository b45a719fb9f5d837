"""A fit learns from each account's newest TWEETS_PER_ACCOUNT posts only (issue 17, finding 10): an
imported account may hold tens of thousands, and loading them all cost seconds and hundreds of MB."""

from __future__ import annotations

from twitapp import runtime
from twitapp.extensions import db
from twitapp.models import Account, Tweet
from twitapp.services import prediction
from twitapp.services.prediction import fit_set, predict_author


def test_fit_set_loads_only_each_accounts_newest_posts(app, two_senators):
    with app.app_context():
        accounts = [db.session.get(Account, f"local:{h.lower()}") for h in two_senators]
        fitted = fit_set(db.session, accounts, runtime.embedder().model_name, per_account=40)
        for account in accounts:
            newest = (
                db.session.query(Tweet.id)
                .filter(Tweet.account_id == account.id)
                .order_by(Tweet.created_at.desc(), Tweet.id.desc())
                .limit(40)
                .all()
            )
            assert sorted(fitted.tweet_ids[account.id]) == sorted(row.id for row in newest)
        assert fitted.n_tweets == 80


def test_predict_author_passes_its_cap_to_the_fit(app, two_senators, monkeypatch):
    seen = []
    real = prediction.fit_set

    def spy(session, accounts, model, per_account):
        seen.append(per_account)
        return real(session, accounts, model, per_account)

    monkeypatch.setattr(prediction, "fit_set", spy)
    with app.app_context():
        result = predict_author(
            db.session, list(two_senators), "taxes", runtime.embedder(), runtime.model_cache(), tweets_per_account=60
        )
    assert seen == [60] and result.n_tweets == 120


def test_the_views_read_the_setting(app, two_senators, monkeypatch):
    seen = []
    real = prediction.fit_set
    monkeypatch.setattr(prediction, "fit_set", lambda s, a, m, n: seen.append(n) or real(s, a, m, n))
    app.config["TWEETS_PER_ACCOUNT"] = 50
    client = app.test_client()
    response = client.post("/api/predict", json={"accounts": list(two_senators), "text": "taxes"})
    assert response.status_code == 200 and seen == [50]
