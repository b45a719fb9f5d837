"""The JSON API: JSON in, JSON out, errors as {"error": ...} with a fitting status."""

from __future__ import annotations

import pytest

from twitapp.services.prediction import RELIABILITY_LEVELS

from .fake_xapi import FakeXAPI


def test_add_accounts_and_list_them(client, fake_x):
    for i, handle in enumerate(("SenWarren", "marcorubio", "ChuckGrassley")):
        fake_x.add_user(handle, tweets=FakeXAPI.make_tweets(30, prefix=handle, seed=i))
        response = client.post("/api/accounts", json={"username": handle})
        assert response.status_code == 201
        assert response.json["account"]["username"] == handle and response.json["account"]["added"] == 30
    fake_x.add_tweets("SenWarren", FakeXAPI.make_tweets(2, start="2024-01-01T00:00:00Z", prefix="new"))
    again = client.post("/api/accounts", json={"username": "senwarren"})
    assert again.status_code == 200 and again.json["account"]["added"] == 2

    listed = client.get("/api/accounts").json["accounts"]
    assert [a["username"] for a in listed] == ["ChuckGrassley", "marcorubio", "SenWarren"]
    assert {a["tweet_count"] for a in listed} == {30, 32}
    assert all(a["source"] == "api" and a["fetched_at"].endswith("Z") for a in listed)


@pytest.mark.parametrize(
    "setup,status,words",
    [
        (lambda x: None, 404, "no account"),
        (lambda x: x.add_user("Someone", protected=True, tweets=FakeXAPI.make_tweets(3)), 403, "protected"),
        (lambda x: x.add_user("Someone", suspended=True), 403, "suspended"),
        (lambda x: x.fail(403, {"errors": [{"message": "subset", "code": 453}]}), 403, "plan"),
        (lambda x: x.fail(503), 502, "x's servers failed"),
        (lambda x: x.fail(401), 502, "bearer token"),
    ],
)
def test_add_account_errors(client, fake_x, setup, status, words):
    setup(fake_x)
    response = client.post("/api/accounts", json={"username": "Someone"})
    assert response.status_code == status
    assert words in response.json["error"].lower()
    assert client.get("/api/accounts").json["accounts"] == []


def test_rate_limit_has_retry_after(client, fake_x):
    fake_x.fail(429)
    response = client.post("/api/accounts", json={"username": "Someone"})
    assert response.status_code == 429
    assert 800 <= int(response.headers["Retry-After"]) <= 901 and "try again" in response.json["error"].lower()


@pytest.mark.parametrize(
    "kwargs,status,words",
    [
        (
            {"data": "username=x", "content_type": "application/x-www-form-urlencoded"},
            400,
            "content-type: application/json",
        ),
        ({"data": "{not json", "content_type": "application/json"}, 400, "json object"),
        ({"json": ["a"]}, 400, "json object"),
        ({"json": {}}, 400, "needs the key 'username'"),
        ({"json": {"username": 5}}, 400, "must be a string"),
        ({"json": {"username": "bad-name"}}, 400, "not a valid x username"),
        ({"json": {"username": "bad.name", "platform": "x"}}, 400, "not a valid x username"),
        ({"json": {"username": "a@b.social", "platform": "bluesky"}}, 400, "not a valid bluesky handle"),
    ],
)
def test_add_account_bad_requests(client, fake_x, kwargs, status, words):
    response = client.post("/api/accounts", **kwargs)
    assert response.status_code == status and response.is_json
    assert words in response.json["error"].lower()
    assert fake_x.requests == []


def test_predict(client, two_senators):
    response = client.post(
        "/api/predict",
        json={"accounts": list(two_senators), "text": "We must protect Social Security for working families"},
    )
    assert response.status_code == 200
    body = response.json
    assert body["author"] in two_senators
    assert set(body["probabilities"]) == set(two_senators)
    assert sum(body["probabilities"].values()) == pytest.approx(1.0)
    assert max(body["probabilities"], key=body["probabilities"].get) == body["author"]
    assert 0.5 < body["trust"]["cv_accuracy"] <= 1 and body["trust"]["chance"] == 0.5
    skill = (body["trust"]["cv_accuracy"] - 0.5) / 0.5  # the level grades this share of the way from chance
    assert body["trust"]["level"] == next(level for level, floor in RELIABILITY_LEVELS if skill >= floor)
    assert set(body["similar"]) == set(two_senators) and all(len(v) <= 3 for v in body["similar"].values())
    assert body["similar"][body["author"]], "the guessed account has posts sharing its deciding words"
    deciding = {e["term"] for e in body["evidence"]}
    for posts in body["similar"].values():
        for post in posts:
            assert set(post) == {"id", "text", "shared"} and post["shared"]
            assert all(isinstance(word, str) and word.lower() in post["text"].lower() for word in post["shared"])
    assert all(set(p["shared"]) <= deciding for p in body["similar"][body["author"]])


@pytest.mark.parametrize(
    "payload,status,words",
    [
        ({"accounts": ["SenWarren"], "text": "hi"}, 400, "at least 2"),
        ({"accounts": ["SenWarren", "senwarren"], "text": "hi"}, 400, "only once"),
        ({"accounts": ["SenWarren", "nobody"], "text": "hi"}, 404, "@nobody is not stored"),
        ({"accounts": ["a", "b", "c", "d", "e"], "text": "hi"}, 400, "at most 4"),
        ({"accounts": "SenWarren", "text": "hi"}, 400, "must be a list"),
        ({"accounts": ["SenWarren", 3], "text": "hi"}, 400, "list of handles"),
        ({"accounts": ["SenWarren", "marcorubio"]}, 400, "send exactly one of 'text'"),
        ({"accounts": ["SenWarren", "marcorubio"], "text": "   "}, 400, "type the post"),
        ({"accounts": ["SenWarren", "marcorubio"], "text": "x" * 281}, 400, "at most 280"),
        ({"accounts": ["SenWarren", "marcorubio"], "text": "a\x00b"}, 400, "null character"),
    ],
)
def test_predict_bad_requests(client, two_senators, payload, status, words):
    response = client.post("/api/predict", json=payload)
    assert response.status_code == status
    assert words in response.json["error"].lower()


def test_predict_refuses_accounts_with_too_few_tweets(client, seed, two_senators):
    seed("Tiny", ["just one tweet", "and two"])
    response = client.post("/api/predict", json={"accounts": ["SenWarren", "Tiny"], "text": "hello"})
    assert response.status_code == 422 and "@Tiny has fewer than" in response.json["error"]


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.json == {"error": "There is nothing at this address."}
