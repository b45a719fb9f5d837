"""What a new user sees when input is odd or the server lacks a source: invisible text, bidirectional names,
long pastes, handles typed oddly, X without a token."""

from __future__ import annotations

import pytest

from twitapp.exceptions import InvalidHandle
from twitapp.formatting import is_blank
from twitapp.sources.handles import validate_handle

INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202e\u2066 \n"


def test_only_invisible_characters_are_blank():
    assert is_blank("") and is_blank(" \t\n") and is_blank(INVISIBLE)
    assert not is_blank("\u200bok") and not is_blank("שלום") and not is_blank("🙂")


def test_a_text_of_only_invisible_characters_is_refused_like_an_empty_one(client, two_senators):
    response = client.post("/api/predict", json={"accounts": list(two_senators), "text": INVISIBLE + "\u200b"})
    assert response.status_code == 400 and "only invisible characters" in response.json["error"]


def test_invisible_only_posts_are_not_stored(app, seed):
    result = seed("ghost", ["a real tweet", "\u200b\u200b", "\u202e \u200f"])
    assert result.added == 1 and result.skipped_empty == 2


def test_names_bios_and_posts_keep_their_own_direction(client, app, seed):
    from twitapp.extensions import db
    from twitapp.models import Account

    seed("mixed", ["\u202egnp.exe tweet that flips its direction", "שלום world"])
    with app.app_context():
        account = db.session.get(Account, "local:mixed")
        account.name, account.description = "\u202eevil name", "bio \u202e reversed"
        db.session.commit()
    page = client.get("/accounts/mixed").get_data(as_text=True)
    assert "<bdi>\u202eevil name</bdi>" in page
    assert '<p class="bio" dir="auto">bio \u202e reversed</p>' in page
    assert '<p dir="auto">\u202egnp.exe tweet that flips its direction</p>' in page
    home = client.get("/").get_data(as_text=True)
    assert "<bdi>\u202eevil name</bdi>" in home


def test_a_long_paste_is_kept_in_the_box_and_refused_with_its_length(client, two_senators):
    home = client.get("/").get_data(as_text=True)
    assert 'data-max="280"' in home and "maxlength=" not in home.split('name="text"')[1].split(">")[0]
    response = client.post("/predict", data={"accounts": list(two_senators), "text": "x" * 300})
    assert response.status_code == 400
    assert "at most 280 characters; this text has 300" in response.get_data(as_text=True)


@pytest.mark.parametrize(("typed", "echoed"), [("@@@", "@@@"), ("  @bad-name ", "@bad-name"), ("a b", "a b")])
def test_an_invalid_handle_is_echoed_as_typed(typed, echoed):
    with pytest.raises(InvalidHandle, match=f"“{echoed}” is not a valid X username"):
        validate_handle(typed)


def test_a_csv_without_authors_says_how_to_name_the_account():
    from twitapp.exceptions import ImportFailed
    from twitapp.sources import read_csv

    with pytest.raises(ImportFailed, match="--account with flask import"):
        read_csv(b"text\nhello there\n", "posts.csv")


@pytest.mark.parametrize("redis", [False, True])
def test_adding_from_x_without_a_token_says_so_at_once_with_or_without_redis(make_app, redis, redis_url, redis_db):
    app = make_app(X_BEARER_TOKEN=None, REDIS_URL=redis_url if redis else None)
    client = app.test_client()
    response = client.post("/api/accounts", json={"username": "SenWarren"})
    assert response.status_code == 503 and "no X API bearer token" in response.json["error"]
    assert "From a file" in response.json["error"] and "demo" in response.json["error"]
    if redis:
        from twitapp import tasks

        with app.app_context():
            assert tasks.queue().count == 0 and tasks.fetch("ingest-senwarren") is None


@pytest.mark.parametrize("text", ["\u200b\u200d\u2060\ufeff", INVISIBLE])
def test_a_text_of_only_invisible_characters_is_refused_on_the_page_and_the_api(client, two_senators, text):
    page = client.post("/predict", data={"accounts": list(two_senators), "text": text})
    assert page.status_code == 400 and "only invisible characters" in page.get_data(as_text=True)
    api = client.post("/api/predict", json={"accounts": list(two_senators), "text": text})
    assert api.status_code == 400 and "only invisible characters" in api.json["error"]


def test_names_in_the_guess_form_and_texts_on_the_result_keep_their_own_direction(client, app, seed):
    """Finding 17 on the pages the first test does not visit: the form's account choices, and the typed
    text and the similar posts on the result."""
    from twitapp.extensions import db
    from twitapp.models import Account

    seed("mixed", ["\u202egnp.exe tweet that flips", "שלום world", *[f"post number {i}" for i in range(30)]])
    seed("plain", [f"another account's tweet {i}" for i in range(30)])
    with app.app_context():
        db.session.get(Account, "local:mixed").name = "\u202eevil name"
        db.session.commit()
    home = client.get("/").get_data(as_text=True)
    assert '<span class="choice-name"><bdi>\u202eevil name</bdi></span>' in home
    result = client.post("/predict", data={"accounts": ["mixed", "plain"], "text": "\u202eflipped שלום tweet"})
    html = result.get_data(as_text=True)
    assert result.status_code == 200 and '<blockquote class="typed" dir="auto"' in html
    similar = html.split('id="similar-heading"')[1].split("</section>")[0]
    # (only posts sharing a word that points to their account are shown: here the one with שלום)
    assert similar.count('<p dir="auto">') >= 1 and "<p>" not in similar
