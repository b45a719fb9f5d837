"""Several posts at once: a list of posts, posts pasted one per paragraph or read from a file, or a stored
account's own posts, asked about as one author."""

from __future__ import annotations

import io

import pytest

from twitapp.services.questions import MAX_POSTS, file_posts, paragraphs, pasted_posts


@pytest.fixture
def unknown_warren(seed, senate_tweets, two_senators):
    """A third stored account, "Anon", holding older real posts of @SenWarren than those stored as hers."""
    seed("Anon", [text for _, text in senate_tweets["SenWarren"][-260:-150]])
    return "Anon"


def held_out(senate_tweets, author: str, count: int) -> list[str]:
    """Older posts of ``author`` than the 150 the two_senators fixture stores (of at most 280 characters, in
    one paragraph, so that they can be pasted one per paragraph)."""
    older = [text for _, text in senate_tweets[author][:-150] if len(text) <= 280 and len(paragraphs(text)) == 1]
    return older[-count:]


def test_several_posts_of_one_author_are_answered_together(client, two_senators, senate_tweets):
    posts = held_out(senate_tweets, "marcorubio", 10)
    response = client.post("/api/predict", json={"accounts": list(two_senators), "texts": posts})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["author"] == "marcorubio" and body["posts"] == 10
    assert body["probabilities"]["marcorubio"] > 0.9
    assert 1 <= len(body["weighed_most"]) <= 3
    for weighed in body["weighed_most"]:
        assert posts[weighed["post"] - 1] == weighed["text"] and weighed["weight"] > 0
        for evidence in weighed["evidence"]:  # the spans are offsets in that post
            assert all(weighed["text"][a:b].lower() == evidence["term"].lower() for a, b in evidence["spans"])
    weights = [w["weight"] for w in body["weighed_most"]]
    assert weights == sorted(weights, reverse=True)


def test_ten_posts_are_surer_than_one_of_them(client, two_senators, senate_tweets):
    posts = held_out(senate_tweets, "SenWarren", 10)
    accounts = list(two_senators)
    one = [client.post("/api/predict", json={"accounts": accounts, "text": p}).json for p in posts]
    together = client.post("/api/predict", json={"accounts": accounts, "texts": posts}).json
    assert together["author"] == "SenWarren"
    singles = [answer["probabilities"]["SenWarren"] for answer in one]
    assert min(singles) < 0.9 and together["probabilities"]["SenWarren"] > max(singles)
    assert all(answer["posts"] == 1 and answer["weighed_most"] == [] for answer in one)


def test_a_stored_account_is_compared_with_the_candidates(client, unknown_warren, two_senators):
    response = client.post("/api/predict", json={"accounts": list(two_senators), "unknown": "@anon"})
    assert response.status_code == 200, response.json
    assert response.json["author"] == "SenWarren" and response.json["posts"] == 110


def test_the_unknown_account_is_never_its_own_candidate(client, unknown_warren):
    response = client.post("/api/predict", json={"accounts": ["Anon", "SenWarren"], "unknown": "Anon"})
    assert response.status_code == 400 and "cannot also be a candidate" in response.json["error"]


@pytest.mark.parametrize(
    "extra,status,words",
    [
        ({}, 400, "exactly one of 'text'"),
        ({"text": "a post", "texts": ["one", "two"]}, 400, "this body has 'text' and 'texts'"),
        ({"texts": "not a list"}, 400, "must be a list"),
        ({"texts": ["only one"]}, 400, "2 to 200 posts"),
        ({"texts": ["post"] * (MAX_POSTS + 1)}, 400, "201 were given"),
        ({"texts": ["fine", 7]}, 400, "post 2: a post must be a string"),
        ({"texts": ["fine", "   "]}, 400, "post 2: it is empty"),
        ({"texts": ["fine", "a\x00b"]}, 400, "post 2: the text contains a null character"),
        ({"texts": ["fine", "\u200b\u200e"]}, 400, "post 2: the text has only invisible characters"),
        ({"texts": ["fine", "x" * 281]}, 400, "post 2: a post has at most 280 characters"),
        ({"unknown": 12}, 400, "handle of a stored account"),
        ({"unknown": "not a handle!"}, 400, "not a valid x username"),
        ({"unknown": "NobodyStored"}, 404, "not stored here"),
        ({"text": ["a list"]}, 400, "'text' must be a string"),
    ],
)
def test_bad_sets_of_posts_are_refused(client, two_senators, extra, status, words):
    response = client.post("/api/predict", json={"accounts": list(two_senators), **extra})
    assert response.status_code == status
    assert words in response.json["error"].lower()


def test_two_hundred_long_posts_fit_in_a_request(client, two_senators):
    """The body limit of a prediction leaves room for 200 posts of 280 four-byte characters."""
    posts = ["\U0001f600" * 280] * MAX_POSTS
    response = client.post("/api/predict", json={"accounts": list(two_senators), "texts": posts})
    assert response.status_code == 200, response.json
    assert response.json["posts"] == MAX_POSTS


def test_pasted_paragraphs_are_posts():
    assert paragraphs("one\n\n two \r\n\r\nthree\nstill three\n \n\n") == ["one", "two", "three\nstill three"]
    assert pasted_posts("just one post\nover two lines", 280).texts == ("just one post\nover two lines",)
    assert pasted_posts("first\n\nsecond", 280).posts == 2


@pytest.mark.parametrize(
    "name,data,expected",
    [
        ("posts.txt", b"first post\n\nsecond post\nstill second\n", ("first post", "second post\nstill second")),
        ("posts.txt", "\ufefffirst\nsecond\nthird\n".encode(), ("first", "second", "third")),
        ("posts.csv", b'id,Text\n1,first\n2,"second, with a comma"\n3,\n', ("first", "second, with a comma")),
    ],
)
def test_a_file_of_posts(name, data, expected):
    assert file_posts(io.BytesIO(data), name, 280).texts == expected


@pytest.mark.parametrize(
    "name,data,words",
    [
        ("posts.txt", b"\xff\xfe\x00bad", "not utf-8"),
        ("posts.txt", b"one\x00two", "null characters"),
        ("posts.txt", b"   \n\n  ", "holds no post"),
        ("posts.csv", b"id,body\n1,hello\n", "needs a 'text' column"),
        ("posts.txt", b"x\n" * (MAX_POSTS + 1), "at most 200 posts"),
        ("posts.txt", b"x" * (600 * 1024), "at most 512 kb"),
        ("posts.txt", b"fine\n" + b"y" * 300 + b"\n", "post 2: a post has at most 280"),
    ],
)
def test_bad_files_of_posts_are_refused(name, data, words):
    from twitapp.exceptions import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        file_posts(io.BytesIO(data), name, 280)
    assert words in refused.value.message.lower()


def test_the_page_takes_posts_one_per_paragraph(client, two_senators, senate_tweets):
    posts = held_out(senate_tweets, "marcorubio", 6)
    page = client.post("/predict", data={"accounts": list(two_senators), "posts": "\n\n".join(posts)})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "these 6 posts" in html and "@marcorubio" in html
    assert "The posts that weighed most towards @marcorubio" in html


def test_the_page_takes_a_file_of_posts(client, two_senators, senate_tweets):
    posts = held_out(senate_tweets, "SenWarren", 5)
    upload = (io.BytesIO("\n\n".join(posts).encode()), "posts.txt")
    page = client.post(
        "/predict",
        data={"accounts": list(two_senators), "posts_file": upload},
        content_type="multipart/form-data",
    )
    assert page.status_code == 200 and "these 5 posts" in page.get_data(as_text=True)


def test_the_page_takes_a_stored_account_as_the_unknown(client, unknown_warren, two_senators):
    page = client.post("/predict", data={"accounts": list(two_senators), "unknown": "Anon"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "the 110 newest posts of" in html and "@Anon" in html


def test_the_page_refuses_two_ways_in_at_once(client, two_senators):
    page = client.post("/predict", data={"accounts": list(two_senators), "text": "a post", "posts": "one\n\ntwo"})
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "this form had a tweet and several posts" in html
    assert 'name="posts"' in html and "one\n\ntwo" in html  # what was typed is kept


def test_an_empty_guess_form_says_what_to_give(client, two_senators):
    page = client.post("/predict", data={"accounts": list(two_senators)})
    assert page.status_code == 400 and "Type the tweet whose author you want to guess" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "likely,probability,sentence",
    [
        (True, 0.93, "Probably none of them."),
        (False, 0.62, "Perhaps: 62% that someone else wrote these posts, too little to rule these accounts out."),
        (False, 0.04, "Probably one of them: 4% that someone else wrote these posts."),
    ],
)
def test_the_page_and_the_api_say_whether_it_is_by_none_of_them(
    client, two_senators, senate_tweets, monkeypatch, likely, probability, sentence
):
    from twitapp.services.outsiders import NoneOfThese, OutsiderCheck

    monkeypatch.setattr(OutsiderCheck, "none_of_these", lambda self, *args: NoneOfThese(likely, probability))
    posts = held_out(senate_tweets, "marcorubio", 3)
    api = client.post("/api/predict", json={"accounts": list(two_senators), "texts": posts})
    assert api.json["none_of_these"] == {"likely": likely, "probability": probability}
    page = client.post("/predict", data={"accounts": list(two_senators), "posts": "\n\n".join(posts)})
    html = " ".join(page.get_data(as_text=True).split())
    assert sentence in html
