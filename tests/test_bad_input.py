"""Bad input, as a table: each row a clear message, a status, and nothing stored.

Rows already in test_api.py, test_web.py, test_ingest_x.py and test_imports.py are not repeated here; this
file adds the HTTP-level rows they lack, the huge and malformed bodies, stale CSRF tokens, and a property
test (hypothesis) of the two predict endpoints.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from twitapp.extensions import db
from twitapp.models import Account, Tweet

from .fake_xapi import FakeXAPI
from .helpers import ADMIN, csrf_token

BIG = 10 * 1024 * 1024  # a 10 MB body


def snapshot(app) -> tuple:
    """Everything stored, in a comparable form: (accounts with their newest tweet, tweet count)."""
    with app.app_context():
        accounts = tuple(
            db.session.execute(
                select(Account.id, Account.username, Account.newest_tweet_id, Account.fetched_at).order_by(Account.id)
            )
        )
        return accounts, db.session.scalar(select(func.count(Tweet.id)))


def message_of(response) -> str:
    if response.is_json:
        return response.json["error"]
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def assert_refused(response, status, words, app, before, fake_x=None):
    assert response.status_code == status, message_of(response)[:300]
    assert words.lower() in message_of(response).lower()
    assert "Traceback" not in message_of(response)
    assert snapshot(app) == before
    if fake_x is not None:
        assert fake_x.requests == []


# --- handles: the add-account form and the JSON API ----------------------------------------------

NOT_VALID = "not a valid x username"
HANDLE_ROWS = [
    # (handle, status, words); the form has a 300-character cap before the service's rules (X: 15; a dot
    # makes it a Bluesky handle, an inner @ a Mastodon one)
    ("", 400, "enter a handle"),
    ("   \t ", 400, "enter a handle"),
    ("a" * 16, 400, NOT_VALID),
    ("a" * 301, 400, "300 characters"),
    ("аdmin", 400, NOT_VALID),  # Cyrillic а: a look-alike of "admin"
    ("ЅenWarren", 400, NOT_VALID),  # Cyrillic Ѕ
    ("SenＷarren", 400, NOT_VALID),  # full-width Ｗ
    ("Sen\x00Warren", 400, NOT_VALID),
    ("\u202eSenWarren", 400, NOT_VALID),  # right-to-left override
    ("😀", 400, NOT_VALID),
    ("@@jane", 400, "not a valid mastodon handle"),
    ("jane doe", 400, NOT_VALID),
    ("robert'); DROP TABLE accounts;--", 400, NOT_VALID),
    ("' OR '1'='1", 400, NOT_VALID),
    ("<script>alert(1)</script>", 400, NOT_VALID),
    ("%00admin", 400, NOT_VALID),
    ("../etc/passwd", 400, "not a valid bluesky handle"),
    ("name.bsky.social/../../etc", 400, "not a valid bluesky handle"),
]


@pytest.mark.parametrize("handle,status,words", HANDLE_ROWS, ids=[repr(r[0])[:24] for r in HANDLE_ROWS])
def test_add_account_form_refuses_bad_handles(client, app, fake_x, handle, status, words):
    before = snapshot(app)
    response = client.post("/accounts", data={"handle": handle})
    assert_refused(response, status, words, app, before, fake_x)
    html = response.get_data(as_text=True)
    assert "<script>alert" not in html and "DROP TABLE accounts;--</" not in html


API_HANDLE_ROWS = [(h, s, w if h != "a" * 301 else NOT_VALID) for h, s, w in HANDLE_ROWS if h.strip()] + [
    ("", 400, "enter a handle"),
    ("a" * 60_000, 400, NOT_VALID),
    (None, 400, "must be a string"),
    (["SenWarren"], 400, "must be a string"),
    (True, 400, "must be a string"),
    ({"$ne": None}, 400, "must be a string"),
]


@pytest.mark.parametrize("handle,status,words", API_HANDLE_ROWS, ids=[repr(r[0])[:24] for r in API_HANDLE_ROWS])
def test_api_add_account_refuses_bad_handles(client, app, fake_x, handle, status, words):
    before = snapshot(app)
    response = client.post("/api/accounts", json={"username": handle})
    assert response.is_json
    assert_refused(response, status, words, app, before, fake_x)


def test_api_handle_error_message_is_json_escaped_not_html(client, fake_x):
    response = client.post("/api/accounts", json={"username": "<img src=x onerror=alert(1)>"})
    assert response.status_code == 400 and response.content_type == "application/json"


# --- tweet text ----------------------------------------------------------------------------------

TEXT_REFUSED = [
    ("", 400, "type the tweet"),
    (" \n\t\u3000 ", 400, "type the tweet"),
    ("😀" * 281, 400, "at most 280"),
    ("a\x00b", 400, "null character"),
    ("\x00", 400, "null character"),
    ("x" * 60_000, 400, "at most 280"),
]


@pytest.mark.parametrize("text,status,words", TEXT_REFUSED, ids=[repr(r[0])[:20] for r in TEXT_REFUSED])
def test_predict_form_refuses_bad_text(client, app, two_senators, text, status, words):
    before = snapshot(app)
    response = client.post("/predict", data={"accounts": list(two_senators), "text": text})
    assert_refused(response, status, words, app, before)


@pytest.mark.parametrize("text,status,words", TEXT_REFUSED[2:3] + TEXT_REFUSED[4:], ids=["emoji281", "nul", "60kB"])
def test_api_predict_refuses_bad_text(client, app, two_senators, text, status, words):
    before = snapshot(app)
    response = client.post("/api/predict", json={"accounts": list(two_senators), "text": text})
    assert_refused(response, status, words, app, before)


@pytest.mark.parametrize(
    "path,kwargs",
    [
        ("/predict", {"data": {"accounts": ["SenWarren", "marcorubio"], "text": "x" * BIG}}),
        (
            "/api/predict",
            {
                "data": '{"accounts": ["SenWarren", "marcorubio"], "text": "' + "x" * BIG + '"}',
                "content_type": "application/json",
            },
        ),
        ("/api/accounts", {"data": '{"username": "' + "x" * BIG + '"}', "content_type": "application/json"}),
        ("/accounts", {"data": {"handle": "x" * BIG}}),
        ("/api/predict", {"data": "[" * BIG, "content_type": "application/json"}),
    ],
    ids=["form-predict", "api-predict", "api-accounts", "form-accounts", "api-brackets"],
)
def test_a_10_mb_body_is_413_with_the_limit_in_the_message(client, app, fake_x, path, kwargs):
    before = snapshot(app)
    response = client.post(path, **kwargs)
    limit = "1 MB at most): send at most 200 posts" if path.endswith("predict") else "64 KB at most"
    assert_refused(response, 413, f"larger than this server accepts ({limit}", app, before, fake_x)


def test_the_upload_route_keeps_its_own_larger_limit(make_app, fake_x):
    app = make_app(X_API_URL=fake_x.url, MAX_UPLOAD_MB=1, MAX_CONTENT_LENGTH=1024 * 1024)
    import io

    response = app.test_client().post(
        "/import",
        data={"file": (io.BytesIO(b"text\n" + b"a tweet\n" * 30_000), "a.csv"), "account": "Someone"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303  # 200 kB is over MAX_REQUEST_KB but under the upload limit: imported
    before = snapshot(app)
    big = app.test_client().post(
        "/import", data={"file": (io.BytesIO(b"x" * (2 * 1024 * 1024)), "a.csv")}, content_type="multipart/form-data"
    )
    assert_refused(big, 413, "upload is larger than this server accepts (1 MB at most)", app, before)
    big.request.environ["wsgi.input"].close()  # werkzeug's test client spools a large body to a file it leaves open


@pytest.mark.parametrize(
    "text",
    [
        "مرحبا بالعالم — we must protect Social Security 🇺🇸🔥",
        "\u202eevil\u202c text with an override and emoji 😀👍🏽",
        "<script>alert('x')</script> and <b>bold</b> & ampersands",
        "x" * 280,
        "a\u0301\u0301\u0301 combining marks and zero\u200bwidth\ufeffspaces",
    ],
    ids=["rtl-emoji", "bidi-override", "script", "280", "combining"],
)
def test_odd_but_valid_text_is_answered_and_escaped(client, app, two_senators, text):
    before = snapshot(app)
    page = client.post("/predict", data={"accounts": list(two_senators), "text": text})
    assert page.status_code == 200 and "Most likely" in page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    api = client.post("/api/predict", json={"accounts": list(two_senators), "text": text})
    assert api.status_code == 200 and api.json["author"] in two_senators
    assert snapshot(app) == before


def test_a_lone_surrogate_in_json_text_is_not_a_500(client, app, two_senators):
    before = snapshot(app)
    response = client.post(
        "/api/predict",
        data='{"accounts": ["SenWarren", "marcorubio"], "text": "hi \\ud800 there"}',
        content_type="application/json",
    )
    assert response.status_code == 400 and "lone surrogate" in response.json["error"] and snapshot(app) == before
    handles = client.post(
        "/api/predict", data='{"accounts": ["SenWarren", "\\udfff"], "text": "hi"}', content_type="application/json"
    )
    assert handles.status_code == 400 and snapshot(app) == before
    add = client.post("/api/accounts", data='{"username": "a\\ud800"}', content_type="application/json")
    assert add.status_code == 400 and snapshot(app) == before


# --- account lists -------------------------------------------------------------------------------

LIST_ROWS = [
    (["SenWarren"], 400, "at least 2"),
    (["SenWarren", "marcorubio", "a", "b", "c"], 400, "at most 4"),
    (["SenWarren", "SENWARREN"], 400, "only once"),
    (["SenWarren", "@senwarren"], 400, "only once"),
    (["SenWarren", "nobody_here"], 404, "@nobody_here is not stored"),
    ([], 400, "at least 2"),
    (["", " "], 400, "at least 2"),
    (["SenWarren", ""], 400, "at least 2"),
    (["SenWarren", "<script>x</script>"], 400, NOT_VALID),
    (["SenWarren", "x" * 5000], 400, NOT_VALID),
    (["SenWarren", "\x00"], 400, NOT_VALID),  # a NUL would make PostgreSQL refuse the query (a 500)
    (["Sen\x00Warren", "marcorubio"], 400, NOT_VALID),
]


@pytest.mark.parametrize(
    "accounts,status,words", LIST_ROWS, ids=[str(len(r[0])) + "-" + str(i) for i, r in enumerate(LIST_ROWS)]
)
def test_predict_form_refuses_bad_account_lists(client, app, two_senators, accounts, status, words):
    before = snapshot(app)
    response = client.post("/predict", data={"accounts": accounts, "text": "We must protect Social Security"})
    assert_refused(response, status, words, app, before)
    assert "<script>x</script>" not in response.get_data(as_text=True)


API_LIST_ROWS = (
    LIST_ROWS[2:3]
    + LIST_ROWS[5:]
    + [
        (["a"] * 5000, 400, "at most 4"),  # a huge array under the body limit
        (["SenWarren", None], 400, "list of handles"),
        (["SenWarren", ["marcorubio"]], 400, "list of handles"),
        ({"SenWarren": 1, "marcorubio": 2}, 400, "must be a list"),
        (None, 400, "must be a list"),
        ("SenWarren,marcorubio", 400, "must be a list"),
    ]
)


@pytest.mark.parametrize("accounts,status,words", API_LIST_ROWS, ids=[f"row{i}" for i in range(len(API_LIST_ROWS))])
def test_api_predict_refuses_bad_account_lists(client, app, two_senators, accounts, status, words):
    before = snapshot(app)
    response = client.post("/api/predict", json={"accounts": accounts, "text": "We must protect Social Security"})
    assert_refused(response, status, words, app, before)


def test_an_array_over_the_body_limit_is_413(client, app, two_senators):
    before = snapshot(app)
    response = client.post("/api/predict", json={"accounts": ["SenWarren"] * 100_000, "text": "hi"})
    assert_refused(response, 413, "1 MB at most", app, before)


def test_an_account_deleted_meanwhile(client, app, two_senators, seed):
    seed("ChuckGrassley", [f"Iowa tweet number {i} about farmers" for i in range(40)])
    assert (
        client.post("/api/predict", json={"accounts": ["SenWarren", "ChuckGrassley"], "text": "corn"}).status_code
        == 200
    )
    assert client.post("/accounts/ChuckGrassley/delete", data={"admin_password": ADMIN}).status_code == 303
    before = snapshot(app)
    for response in (
        client.post("/api/predict", json={"accounts": ["SenWarren", "ChuckGrassley"], "text": "corn"}),
        client.post("/predict", data={"accounts": ["SenWarren", "ChuckGrassley"], "text": "corn"}),
    ):
        assert_refused(response, 404, "@ChuckGrassley is not stored here; it may have been deleted", app, before)
    # and the deleted account cannot be updated or deleted again
    assert client.post("/accounts/ChuckGrassley/update").status_code in (303, 404)
    again = client.post("/accounts/ChuckGrassley/delete", data={"admin_password": ADMIN}, follow_redirects=True)
    assert "not stored" in again.get_data(as_text=True) and snapshot(app) == before


# --- JSON bodies ---------------------------------------------------------------------------------

JSON_ROWS = [
    (
        {"data": "accounts=a&text=b", "content_type": "application/x-www-form-urlencoded"},
        400,
        "content-type: application/json",
    ),
    ({"data": "", "content_type": "application/json"}, 400, "json object"),
    ({"data": "null", "content_type": "application/json"}, 400, "json object"),
    ({"data": '"a string"', "content_type": "application/json"}, 400, "json object"),
    ({"data": "42", "content_type": "application/json"}, 400, "json object"),
    ({"data": "{'single': 'quotes'}", "content_type": "application/json"}, 400, "json object"),
    (
        {"data": '{"accounts": ["SenWarren", "marcorubio"], "text": "hi"', "content_type": "application/json"},
        400,
        "json object",
    ),
    (
        {"data": b'{"accounts": ["SenWarren"], "text": "\xff\xfe"}', "content_type": "application/json"},
        400,
        "json object",
    ),
    ({"data": "NaN", "content_type": "application/json"}, 400, "json object"),
    ({"data": "[" * 30_000 + "]" * 30_000, "content_type": "application/json"}, 400, "nested too deeply"),
    ({"data": '{"a":' * 10_000 + "1" + "}" * 10_000, "content_type": "application/json"}, 400, "nested too deeply"),
    ({"json": {"text": "hi"}}, 400, "needs the key 'accounts'"),
    ({"json": {"accounts": ["SenWarren", "marcorubio"], "text": 42}}, 400, "must be a string"),
    ({"json": {"accounts": ["SenWarren", "marcorubio"], "text": None}}, 400, "must be a string"),
    ({"json": {"accounts": ["SenWarren", "marcorubio"], "text": ["hi"]}}, 400, "must be a string"),
    ({"json": {"accounts": ["SenWarren", "marcorubio"], "text": {"$gt": ""}}}, 400, "must be a string"),
]


@pytest.mark.parametrize("kwargs,status,words", JSON_ROWS, ids=[f"json{i}" for i in range(len(JSON_ROWS))])
def test_api_predict_refuses_malformed_json(client, app, two_senators, kwargs, status, words):
    before = snapshot(app)
    response = client.post("/api/predict", **kwargs)
    assert response.is_json
    assert_refused(response, status, words, app, before)


def test_api_add_account_refuses_deep_json(client, app, fake_x):
    before = snapshot(app)
    response = client.post("/api/accounts", data="[" * 30_000 + "]" * 30_000, content_type="application/json")
    assert_refused(response, 400, "nested too deeply", app, before, fake_x)


# --- CSRF ----------------------------------------------------------------------------------------


def csrf_app(make_app, fake_x, **settings):
    app = make_app(X_API_URL=fake_x.url, WTF_CSRF_ENABLED=True, **settings)
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(12))
    return app


@pytest.mark.parametrize(
    "case",
    ["missing", "empty", "garbage", "other-session", "other-secret", "expired", "in-a-header-of-another-session"],
)
def test_form_posts_with_a_bad_csrf_token_are_refused(make_app, fake_x, case):
    app = csrf_app(make_app, fake_x, WTF_CSRF_TIME_LIMIT=1 if case == "expired" else 3600)
    client = app.test_client()
    token = csrf_token(client)
    if case == "missing":
        data, headers = {"handle": "SenWarren"}, {}
    elif case == "empty":
        data, headers = {"handle": "SenWarren", "csrf_token": ""}, {}
    elif case == "garbage":
        data, headers = {"handle": "SenWarren", "csrf_token": "x" * 40 + "." + "y" * 20}, {}
    elif case == "other-session":
        data, headers = {"handle": "SenWarren", "csrf_token": csrf_token(app.test_client())}, {}
    elif case == "other-secret":
        other = make_app(X_API_URL=fake_x.url, WTF_CSRF_ENABLED=True, SECRET_KEY="another-secret").test_client()
        data, headers = {"handle": "SenWarren", "csrf_token": csrf_token(other)}, {}
    elif case == "expired":
        time.sleep(2.1)
        data, headers = {"handle": "SenWarren", "csrf_token": token}, {}
    else:
        data, headers = {"handle": "SenWarren"}, {"X-CSRFToken": csrf_token(app.test_client())}
    before = snapshot(app)
    fake_x.requests.clear()
    for path in ("/accounts", "/predict", "/demo", "/accounts/SenWarren/delete", "/accounts/SenWarren/update"):
        response = client.post(path, data=data | {"admin_password": ADMIN}, headers=headers)
        assert_refused(response, 400, "CSRF check failed", app, before, fake_x)
    if case != "expired":
        assert client.post("/accounts", data={"handle": "SenWarren", "csrf_token": token}).status_code == 303


# --- property: random text and account lists on both predict endpoints ----------------------------

HANDLES = ["SenWarren", "marcorubio", "senwarren", "@marcorubio", "nobody", "", " ", "a" * 16, "<b>", "\x00"]
texts = st.text(max_size=320) | st.sampled_from(["", " ", "\x00", "x" * 281, "<script>", "😀" * 100])
account_lists = st.lists(st.sampled_from(HANDLES) | st.text(max_size=20), max_size=6)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(text=texts, accounts=account_lists, use_api=st.booleans())
def test_property_predict_answers_2xx_or_4xx_with_a_message_and_stores_nothing(
    client, app, two_senators, text, accounts, use_api
):
    before = snapshot(app)
    if use_api:
        response = client.post("/api/predict", json={"accounts": accounts, "text": text})
        assert response.is_json
        body = response.json
        assert ("author" in body) if response.status_code == 200 else bool(body["error"].strip())
    else:
        response = client.post("/predict", data={"accounts": accounts, "text": text})
        html = response.get_data(as_text=True)
        if response.status_code == 200:
            assert "Most likely" in html
        else:
            assert re.search(r'class="[^"]*(flash|error)[^"]*"', html), html[:500]
    assert 200 <= response.status_code < 300 or 400 <= response.status_code < 500, response.status_code
    assert snapshot(app) == before
