"""Tests of the fake X API v2 server (tests/fake_xapi.py), driven by a real tweepy 4.17 ``Client``.

They pin down what tweepy raises or returns for every answer the fake can give, which is what the app's
X client wrapper has to handle. Nothing here leaves 127.0.0.1.
"""

from __future__ import annotations

import html
import json
import threading
import time
import warnings
from datetime import UTC, datetime, timedelta

import pytest
import requests
import tweepy

from .fake_xapi import CLIENT_FORBIDDEN, FORBIDDEN_453, FakeXAPI
from .helpers import SHARED_XAPI

TWEEPY_HOST = "https://api.twitter.com"
TWEET_FIELDS = ["created_at", "note_tweet"]


class RewritingSession(requests.Session):
    """Sends tweepy's https://api.twitter.com requests to the fake, with a timeout; refuses any other URL."""

    def __init__(self, base_url: str, timeout: float = 5):
        super().__init__()
        self.base_url = base_url
        self.timeout = timeout
        self.trust_env = False  # never through an HTTP(S)_PROXY of the environment

    def request(self, method, url, *args, **kwargs):
        if not url.startswith(TWEEPY_HOST):
            raise AssertionError(f"test tried to reach {url}")
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, self.base_url + url[len(TWEEPY_HOST) :], *args, **kwargs)


@pytest.fixture(scope="module")
def server():
    with FakeXAPI() as fake:
        yield fake


@pytest.fixture
def api(server):
    server.reset()
    yield server
    server.reset()


def make_client(api: FakeXAPI, token: str = "test-token", timeout: float = 5, **kwargs) -> tweepy.Client:
    client = tweepy.Client(bearer_token=token, **kwargs)
    client.session = RewritingSession(api.url, timeout)
    return client


@pytest.fixture
def client(api):
    return make_client(api)


def read_all(client, user_id, **params) -> tuple[list[tweepy.Tweet], int]:
    """Every page of a timeline; returns the tweets and the number of requests."""
    tweets, token, pages = [], None, 0
    while True:
        response = client.get_users_tweets(
            user_id, max_results=100, pagination_token=token, tweet_fields=TWEET_FIELDS, **params
        )
        pages += 1
        tweets.extend(response.data or [])
        token = response.meta.get("next_token")
        if not token:
            return tweets, pages


# --- users -----------------------------------------------------------------------------------------------


def test_user_lookup_is_case_insensitive_and_answers_the_canonical_username(api, client):
    api.add_user("SenWarren", user_id="970207298", name="Elizabeth Warren")
    response = client.get_user(username="senwarren")
    assert response.errors == []
    user = response.data
    assert (user.id, user.username, user.name) == (970207298, "SenWarren", "Elizabeth Warren")
    assert set(user.data) == {"id", "name", "username"}  # no user_fields: the default fields only
    assert api.requests[-1]["path"] == "/2/users/by/username/senwarren"
    assert api.requests[-1]["authorization"] == "Bearer test-token"


def test_user_fields_are_honoured(api, client):
    api.add_user(
        "Sen_A",
        description="Fighting for you & yours <3",
        followers=1234,
        profile_image_url="https://pbs.twimg.com/profile_images/1/a_normal.jpg",
        verified=True,
        tweets=FakeXAPI.make_tweets(7),
    )
    user = client.get_user(
        username="SEN_A",
        user_fields=["public_metrics", "description", "profile_image_url", "protected", "created_at", "verified"],
    ).data
    assert user.description == "Fighting for you &amp; yours &lt;3"  # escaped like the API
    assert user.profile_image_url == "https://pbs.twimg.com/profile_images/1/a_normal.jpg"
    assert user.protected is False and user.verified is True
    assert user.public_metrics == {"followers_count": 1234, "following_count": 0, "tweet_count": 7, "listed_count": 0}
    assert user.created_at.tzinfo is not None


def test_unknown_user_is_200_with_errors_and_no_data(api, client):
    response = client.get_user(username="nosuchuser_xyz")
    assert response.data is None
    (error,) = response.errors
    assert error["title"] == "Not Found Error"
    assert error["detail"] == "Could not find user with username: [nosuchuser_xyz]."
    assert error["type"] == "https://api.twitter.com/2/problems/resource-not-found"


def test_suspended_user_is_200_with_errors(api, client):
    api.add_user("suspended_1", suspended=True)
    response = client.get_user(username="suspended_1")
    assert response.data is None
    assert response.errors[0]["detail"] == "User has been suspended: [suspended_1]."
    assert response.errors[0]["title"] == "Forbidden"


@pytest.mark.parametrize("username", ["bad.name", "sixteen_chars_xx", "a-b"])
def test_invalid_username_raises_bad_request(client, username):
    with pytest.raises(tweepy.BadRequest) as info:
        client.get_user(username=username)
    assert info.value.response.status_code == 400
    assert info.value.api_messages == [
        f"The `username` query parameter value [{username}] does not match ^[A-Za-z0-9_]{{1,15}}$"
    ]


def test_protected_user_is_found_but_its_timeline_is_not_authorized(api, client):
    user = api.add_user("locked_acct", protected=True, tweets=FakeXAPI.make_tweets(10))
    assert client.get_user(username="locked_acct", user_fields=["protected"]).data.protected is True
    response = client.get_users_tweets(user["id"])
    assert response.data is None
    assert response.errors[0]["title"] == "Authorization Error"
    assert response.errors[0]["resource_id"] == user["id"]


@pytest.mark.skipif(not SHARED_XAPI.is_dir(), reason=f"needs ../shared beside the repository ({SHARED_XAPI} not found)")
@pytest.mark.parametrize(
    "example, make",
    [
        ("user_not_found.json", lambda api, c: c.get_user(username="nosuchuser_xyz")),
        (
            "user_suspended.json",
            lambda api, c: api.add_user("suspended_1", suspended=True) and c.get_user(username="suspended_1"),
        ),
        (
            "user_ok_fields.json",
            lambda api, c: (
                api.add_user("Twitter", user_id="783214")
                and c.get_user(username="twitter", user_fields=["protected", "public_metrics"])
            ),
        ),
        (
            "tweets_protected.json",
            lambda api, c: c.get_users_tweets(
                api.add_user("locked", user_id="1500850517966311430", protected=True)["id"]
            ),
        ),
    ],
)
def test_bodies_have_the_shape_of_the_shared_examples(api, example, make):
    client = make_client(api, return_type=dict)
    body = make(api, client)
    expected = json.loads((SHARED_XAPI / example).read_text())

    def shape(value):
        if isinstance(value, dict):
            return {key: shape(item) for key, item in value.items()}
        if isinstance(value, list):
            return [shape(item) for item in value]
        return type(value).__name__

    assert shape(body) == shape(expected)
    if example == "tweets_protected.json":
        assert body == expected


@pytest.mark.skipif(not SHARED_XAPI.is_dir(), reason=f"needs ../shared beside the repository ({SHARED_XAPI} not found)")
def test_timeline_pages_and_invalid_user_have_the_keys_of_the_shared_examples(api):
    client = make_client(api, return_type=dict)
    user = api.add_user("Sen_Z", tweets=FakeXAPI.make_tweets(7))
    p1 = client.get_users_tweets(user["id"], max_results=5, tweet_fields=["created_at"])
    p2 = client.get_users_tweets(
        user["id"], max_results=5, tweet_fields=["created_at"], pagination_token=p1["meta"]["next_token"]
    )
    for body, example in ((p1, "tweets_p1.json"), (p2, "tweets_p2.json")):
        expected = json.loads((SHARED_XAPI / example).read_text())
        assert set(body) == set(expected)
        assert set(body["meta"]) == set(expected["meta"])
        assert all(set(tweet) == set(expected["data"][0]) for tweet in body["data"])
    assert p1["data"][0]["created_at"].endswith(".000Z")
    assert len(p1["meta"]["next_token"]) == len(
        json.loads((SHARED_XAPI / "tweets_p1.json").read_text())["meta"]["next_token"]
    )
    invalid = requests.get(
        f"{api.url}/2/users/by/username/bad.name", headers={"Authorization": "Bearer test-token"}, timeout=5
    )
    assert invalid.status_code == 400
    assert invalid.json() == json.loads((SHARED_XAPI / "user_invalid.json").read_text())


# --- auth and HTTP failures ------------------------------------------------------------------------------


def test_wrong_token_raises_unauthorized(api):
    with pytest.raises(tweepy.Unauthorized) as info:
        make_client(api, token="wrong").get_user(username="anyone")
    assert info.value.response.status_code == 401
    assert info.value.api_messages == ["Unauthorized"]
    assert api.requests[-1]["authorization"] == "Bearer wrong"


def test_valid_token_none_accepts_any_token(api):
    api.valid_token = None
    api.add_user("open_door")
    assert make_client(api, token="whatever").get_user(username="open_door").data.username == "open_door"


def test_injected_401_uses_the_unauthorized_body(api, client):
    api.fail(401)
    with pytest.raises(tweepy.Unauthorized) as info:
        client.get_user(username="anyone")
    assert info.value.response.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }


def test_403_client_forbidden_has_no_api_code(api, client):
    api.fail(403, CLIENT_FORBIDDEN)
    with pytest.raises(tweepy.Forbidden) as info:
        client.get_user(username="anyone")
    assert info.value.api_codes == []
    assert info.value.api_messages == [CLIENT_FORBIDDEN["detail"]]


def test_403_code_453_plan_does_not_allow_reading(api, client):
    user = api.add_user("Sen_B", tweets=FakeXAPI.make_tweets(5))
    api.fail(403, FORBIDDEN_453, path_contains="/tweets")
    assert client.get_user(username="Sen_B").data is not None  # the lookup is not affected
    with pytest.raises(tweepy.Forbidden) as info:
        client.get_users_tweets(user["id"])
    assert info.value.response.status_code == 403
    assert info.value.api_codes == [453]
    assert info.value.api_messages[0].startswith("You currently have access to a subset of X API V2")


def test_429_in_the_middle_of_pagination_then_the_rest(api, client):
    user = api.add_user("Sen_C", tweets=FakeXAPI.make_tweets(250))
    reset_at = int(time.time()) + 600
    api.fail(429, path_contains="/tweets", after=1, headers={"x-rate-limit-reset": str(reset_at)})
    first = client.get_users_tweets(user["id"], max_results=100)
    assert len(first.data) == 100
    with pytest.raises(tweepy.TooManyRequests) as info:
        client.get_users_tweets(user["id"], max_results=100, pagination_token=first.meta["next_token"])
    assert info.value.response.status_code == 429
    assert info.value.reset_time == reset_at
    assert info.value.response.headers["x-rate-limit-remaining"] == "0"
    assert api.pending_faults() == 0
    second = client.get_users_tweets(user["id"], max_results=100, pagination_token=first.meta["next_token"])
    assert len(second.data) == 100  # the token still works after the 429


def test_429_without_headers_gets_a_reset_time_in_15_minutes(api, client):
    api.fail(429)
    with pytest.raises(tweepy.TooManyRequests) as info:
        client.get_user(username="anyone")
    assert 800 < info.value.reset_time - time.time() <= 900


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_raise_twitter_server_error(api, client, status):
    api.fail(status)
    with pytest.raises(tweepy.TwitterServerError) as info:
        client.get_user(username="anyone")
    assert info.value.response.status_code == status


def test_5xx_with_an_html_body_still_raises_twitter_server_error(api, client):
    api.fail(502, "<html><body>502 Bad Gateway</body></html>")
    with pytest.raises(tweepy.TwitterServerError) as info:
        client.get_user(username="anyone")
    assert info.value.api_messages == []
    assert str(info.value) == "502 Bad Gateway"


def test_normal_answers_carry_rate_limit_headers(api):
    client = make_client(api, return_type=requests.Response)
    response = client.get_user(username="anyone")
    assert int(response.headers["x-rate-limit-remaining"]) < int(response.headers["x-rate-limit-limit"])
    assert int(response.headers["x-rate-limit-reset"]) > time.time()


# --- network faults --------------------------------------------------------------------------------------


def test_malformed_body_raises_requests_json_decode_error(api, client):
    api.add_user("Sen_D")
    api.malformed()
    with pytest.raises(requests.exceptions.JSONDecodeError) as info:
        client.get_user(username="Sen_D")
    # Also a ValueError and a requests.RequestException (but not a ConnectionError): catch it explicitly.
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, requests.RequestException)
    assert not isinstance(info.value, (requests.ConnectionError, tweepy.TweepyException))
    assert client.get_user(username="Sen_D").data.username == "Sen_D"  # only once


def test_malformed_with_dict_return_type_raises_the_same(api):
    api.malformed(body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        make_client(api, return_type=dict).get_user(username="anyone")


def test_delay_beyond_the_client_timeout_raises_read_timeout(api):
    api.add_user("Sen_E")
    api.delay(3, path_contains="/users/by/username/")
    client = make_client(api, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout) as info:
        client.get_user(username="Sen_E")
    assert time.monotonic() - started < 2
    assert isinstance(info.value, requests.exceptions.Timeout)
    assert not isinstance(info.value, requests.ConnectionError)


def test_short_delay_then_a_normal_answer(api, client):
    api.add_user("Sen_F")
    api.delay(0.2)
    started = time.monotonic()
    assert client.get_user(username="Sen_F").data.username == "Sen_F"
    assert time.monotonic() - started >= 0.2


def test_connection_reset_raises_requests_connection_error(api, client):
    api.add_user("Sen_G")
    api.reset_connection()
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        client.get_user(username="Sen_G")
    assert not isinstance(info.value, requests.exceptions.Timeout)
    assert "reset" in str(info.value).lower() or "aborted" in str(info.value).lower()
    assert client.get_user(username="Sen_G").data.username == "Sen_G"  # the server is still fine


def test_faults_are_scoped_by_path_after_and_times(api, client):
    user = api.add_user("Sen_H", tweets=FakeXAPI.make_tweets(30))
    api.fail(500, path_contains="/tweets", after=1, times=2)
    client.get_user(username="Sen_H")  # not matching: not counted
    client.get_users_tweets(user["id"])  # matching #0: answered
    for _ in range(2):  # matching #1, #2: fail
        with pytest.raises(tweepy.TwitterServerError):
            client.get_users_tweets(user["id"])
    assert len(client.get_users_tweets(user["id"]).data) == 10  # #3: answered again
    assert [entry["status"] for entry in api.requests] == [200, 200, 500, 500, 200]


# --- timelines -------------------------------------------------------------------------------------------


def test_pagination_over_250_tweets_gives_all_newest_first(api, client):
    user = api.add_user("Sen_I", tweets=FakeXAPI.make_tweets(250))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every tweet has edit_history_tweet_ids: tweepy does not warn
        tweets, pages = read_all(client, user["id"])
    assert pages == 3
    assert len(tweets) == 250 == len({t.id for t in tweets}) == len({t.text for t in tweets})
    assert [t.id for t in tweets] == sorted((int(t["id"]) for t in user["tweets"]), reverse=True)
    assert tweets[0].created_at == user["tweets"][-1]["created_at"]
    assert [r["params"].get("pagination_token") is not None for r in api.requests] == [False, True, True]


def test_page_meta_and_previous_token(api, client):
    user = api.add_user("Sen_J", tweets=FakeXAPI.make_tweets(12))
    first = client.get_users_tweets(user["id"], max_results=5)
    assert first.meta["result_count"] == 5
    assert first.meta["newest_id"] == str(first.data[0].id)
    assert first.meta["oldest_id"] == str(first.data[-1].id)
    assert "previous_token" not in first.meta
    second = client.get_users_tweets(user["id"], max_results=5, pagination_token=first.meta["next_token"])
    assert second.data[0].id < first.data[-1].id
    back = client.get_users_tweets(user["id"], max_results=5, pagination_token=second.meta["previous_token"])
    assert [t.id for t in back.data] == [t.id for t in first.data]
    last = client.get_users_tweets(user["id"], max_results=5, pagination_token=second.meta["next_token"])
    assert last.meta["result_count"] == 2 and "next_token" not in last.meta


def test_bad_pagination_token_raises_bad_request(api, client):
    user = api.add_user("Sen_K", tweets=FakeXAPI.make_tweets(5))
    with pytest.raises(tweepy.BadRequest):
        client.get_users_tweets(user["id"], pagination_token="nope")


def test_since_id_returns_only_newer_tweets_then_an_empty_page(api, client):
    user = api.add_user("Sen_L", tweets=FakeXAPI.make_tweets(20))
    newest = client.get_users_tweets(user["id"], max_results=5).meta["newest_id"]
    later = datetime(2023, 6, 1, tzinfo=UTC)
    added = api.add_tweets("sen_l", FakeXAPI.make_tweets(3, start=later, prefix="update"))
    assert all(int(t["id"]) > int(newest) for t in added)
    response = client.get_users_tweets(user["id"], since_id=newest, max_results=100)
    assert [t.text for t in response.data] == [t["text"].replace("&", "&amp;") for t in reversed(added)]
    empty = client.get_users_tweets(user["id"], since_id=response.meta["newest_id"], max_results=100)
    assert (empty.data, empty.errors, empty.meta) == (None, [], {"result_count": 0})


def test_until_id_and_start_time(api, client):
    user = api.add_user("Sen_M", tweets=FakeXAPI.make_tweets(10, step=timedelta(days=1)))
    ids = [int(t["id"]) for t in user["tweets"]]
    assert [t.id for t in client.get_users_tweets(user["id"], until_id=ids[3]).data] == ids[2::-1]
    start = user["tweets"][7]["created_at"]
    assert [t.id for t in client.get_users_tweets(user["id"], start_time=start).data] == ids[:6:-1]


def test_exclude_retweets_and_replies(api, client):
    base = datetime(2022, 5, 1, tzinfo=UTC)
    user = api.add_user(
        "Sen_N",
        tweets=[
            {"text": "original", "created_at": base},
            {"text": "RT @someone: shared", "created_at": base + timedelta(hours=1), "retweet": True},
            {"text": "@someone thanks", "created_at": base + timedelta(hours=2), "reply": True},
        ],
    )
    texts = lambda **kw: [t.text for t in client.get_users_tweets(user["id"], **kw).data]  # noqa: E731
    assert texts() == ["@someone thanks", "RT @someone: shared", "original"]
    assert texts(exclude=["retweets"]) == ["@someone thanks", "original"]
    assert texts(exclude=["retweets", "replies"]) == ["original"]
    assert api.requests[-1]["params"]["exclude"] == "retweets,replies"


def test_only_the_newest_3200_are_reachable_and_800_without_replies(api, client):
    user = api.add_user("Sen_O", tweets=FakeXAPI.make_tweets(3250, step=timedelta(minutes=30)))
    tweets, pages = read_all(client, user["id"])
    assert (len(tweets), pages) == (3200, 32)
    assert tweets[-1].id == int(user["tweets"][50]["id"])
    assert len(read_all(client, user["id"], exclude=["replies"])[0]) == 800


def test_max_results_outside_5_to_100_raises_bad_request(api, client):
    user = api.add_user("Sen_P", tweets=FakeXAPI.make_tweets(5))
    for value in (4, 101):
        with pytest.raises(tweepy.BadRequest) as info:
            client.get_users_tweets(user["id"], max_results=value)
        assert info.value.api_messages == [
            f"The `max_results` query parameter value [{value}] is not between 5 and 100"
        ]


def test_tweet_fields_note_tweet_and_html_escaping(api, client):
    long_text = "A long post about the budget & the deficit. " * 10
    user = api.add_user(
        "Sen_Q",
        tweets=[
            {"text": "Fish & chips <3 > 2", "created_at": "2022-02-01T10:00:00Z"},
            {"note_tweet": long_text, "created_at": datetime(2022, 2, 2, 10, 0)},
        ],
    )
    short, long_ = client.get_users_tweets(user["id"], tweet_fields=["created_at", "note_tweet"]).data[::-1]
    assert short.text == "Fish &amp; chips &lt;3 &gt; 2"
    assert "note_tweet" not in short.data
    assert short.created_at == datetime(2022, 2, 1, 10, 0, tzinfo=UTC)
    assert short.edit_history_tweet_ids == [short.id]
    assert long_.data["note_tweet"]["text"] == long_text.replace("&", "&amp;")
    assert long_.text.endswith("…") and len(html.unescape(long_.text)) <= 280
    bare = client.get_users_tweets(user["id"]).data[0]
    assert set(bare.data) == {"edit_history_tweet_ids", "id", "text"}


def test_unknown_and_invalid_user_ids(client):
    response = client.get_users_tweets("123456")
    assert response.data is None
    assert response.errors[0]["detail"] == "Could not find user with id: [123456]."
    with pytest.raises(tweepy.BadRequest):
        client.get_users_tweets("abc")


def test_empty_timeline(api, client):
    user = api.add_user("Sen_R")
    response = client.get_users_tweets(user["id"], max_results=100)
    assert (response.data, response.meta) == (None, {"result_count": 0})


def test_unknown_query_parameter_or_field_raises_bad_request(api, client):
    response = requests.get(
        f"{api.url}/2/users/1/tweets", params={"bogus": "x"}, headers={"Authorization": "Bearer test-token"}, timeout=5
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("The query parameter [bogus] is not one of")
    with pytest.raises(tweepy.BadRequest):
        client.get_users_tweets("1", tweet_fields=["created_at", "no_such_field"])
    with pytest.raises(tweepy.BadRequest):
        client.get_user(username="anyone", user_fields=["followers"])


def test_ids_increase_with_time_and_make_tweets_is_distinct():
    tweets = FakeXAPI.make_tweets(50, prefix="demo")
    assert len({t["text"] for t in tweets}) == 50
    assert all(t["text"].startswith(f"demo {i}: ") for i, t in enumerate(tweets))
    with FakeXAPI() as fake:
        stored = fake.add_user("Sen_S", tweets=list(reversed(tweets)))["tweets"]
        ids = [int(t["id"]) for t in stored]
        assert ids == sorted(ids) and [t["created_at"] for t in stored] == [t["created_at"] for t in tweets]
        with pytest.raises(ValueError):
            fake.add_user("sen_s")
    assert fake._server is None


def test_reset_clears_users_faults_and_log(api, client):
    api.add_user("Sen_T")
    api.fail(500, times=None)
    api.valid_token = "other"
    api.reset()
    assert api.requests == [] and api.pending_faults() == 0 and api.valid_token == "test-token"
    assert client.get_user(username="Sen_T").data is None


def test_stop_cuts_a_pending_delay_short():
    fake = FakeXAPI().start()
    fake.delay(30)
    client = make_client(fake, timeout=10)
    started = time.monotonic()
    threading.Timer(0.2, fake.stop).start()
    with pytest.raises(requests.ConnectionError):
        client.get_user(username="anyone")
    assert time.monotonic() - started < 5
