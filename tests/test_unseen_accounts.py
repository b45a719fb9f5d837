"""Accounts unlike the senators the model was tuned on: other scripts, emoji, near-duplicates, the fewest
posts allowed. Every question is answered with the documented fields and honest numbers."""

from __future__ import annotations

import math

import pytest

ODD_ACCOUNTS = {
    "kanji_poet": [f"今日は{i}回目の散歩。桜がきれいでした 🌸 #{i % 3}" for i in range(12)],
    "arabic_news": [f"عاجل: تحديث رقم {i} حول الطقس في المدينة اليوم" for i in range(12)],
    "emoji_only": ["🔥" * (1 + i % 4) + "💯" * (i % 3) for i in range(12)],
    "same_again": ["Buy now! https://t.co/abc" for _ in range(6)] + ["Buy now!!" for _ in range(6)],
}


@pytest.fixture
def odd(seed):
    for handle, posts in ODD_ACCOUNTS.items():
        seed(handle, posts)
    return list(ODD_ACCOUNTS)


def assert_answer(body: dict, candidates: list[str], posts: int) -> None:
    assert body["author"] in candidates and set(body["probabilities"]) == set(candidates)
    assert math.isclose(sum(body["probabilities"].values()), 1, rel_tol=1e-6)
    assert all(0 <= p <= 1 for p in body["probabilities"].values())
    assert body["posts"] == posts and 0 <= body["trust"]["cv_accuracy"] <= 1
    assert set(body["similar"]) == set(candidates)


@pytest.mark.parametrize(
    "text",
    ["散歩に行きました 🌸", "تحديث الطقس", "🔥🔥💯", "Buy now!", "ok", "https://t.co/xyz", "#", "?!"],
)
def test_every_kind_of_text_is_answered(client, odd, text):
    candidates = odd[:4]
    response = client.post("/api/predict", json={"accounts": candidates, "text": text})
    assert response.status_code == 200, response.json
    assert_answer(response.json, candidates, 1)


def test_sets_and_an_unknown_account_among_odd_accounts(client, odd, seed):
    seed("who_is_it", [f"桜の季節です。{i}日目 🌸" for i in range(5)])
    candidates = ["kanji_poet", "arabic_news", "emoji_only"]
    texts = client.post("/api/predict", json={"accounts": candidates, "texts": ["🔥🔥", "💯🔥", "🔥"]})
    assert texts.status_code == 200, texts.json
    assert_answer(texts.json, candidates, 3)
    unknown = client.post("/api/predict", json={"accounts": candidates, "unknown": "who_is_it"})
    assert unknown.status_code == 200, unknown.json
    assert_answer(unknown.json, candidates, 5)
