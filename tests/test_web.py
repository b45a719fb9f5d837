"""The pages: forms post, services answer, errors become messages with a fitting status."""

from __future__ import annotations

import re

from .fake_xapi import FakeXAPI
from .helpers import ADMIN, counts, csrf_token


def test_home_page_lists_accounts_and_forms(client, seed):
    seed("SenWarren", ["one tweet", "another"])
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "@SenWarren" in html and 'name="handle"' in html and "Store at least two accounts" in html


def test_add_three_accounts_through_the_form(client, fake_x, app):
    for i, handle in enumerate(("SenWarren", "marcorubio", "ChuckGrassley")):
        fake_x.add_user(handle, tweets=FakeXAPI.make_tweets(40, prefix=handle, seed=i))
        response = client.post("/accounts", data={"handle": handle.lower()})
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/accounts/{handle}")
    home = client.get("/").get_data(as_text=True)
    assert all(f"@{h}" in home for h in ("SenWarren", "marcorubio", "ChuckGrassley"))
    assert counts(app) == (3, 120)


def test_unknown_handle_is_a_message_not_an_error_page(client, app):
    response = client.post("/accounts", data={"handle": "nosuchuser_xyz"})
    assert response.status_code == 404
    assert "X has no account @nosuchuser_xyz" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_invalid_handle_and_html_are_escaped(client, app, fake_x):
    response = client.post("/accounts", data={"handle": "<b>x</b>"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "not a valid X username" in html and "<b>x</b>" not in html
    assert fake_x.requests == [] and counts(app) == (0, 0)


def test_plan_error_is_explained(client, fake_x):
    fake_x.fail(403, {"errors": [{"message": "subset of endpoints", "code": 453}]}, path_contains="/users/")
    response = client.post("/accounts", data={"handle": "Someone"})
    assert response.status_code == 403
    assert "plan does not allow reading tweets" in response.get_data(as_text=True)


def test_account_page_paginates_newest_first(client, seed):
    seed("SenWarren", [f"tweet number {i}" for i in range(60)])
    first = client.get("/accounts/senwarren").get_data(as_text=True)
    assert first.index("tweet number 59") < first.index("tweet number 58")
    assert "tweet number 9<" not in first and "Page 1 of 2" in first
    second = client.get("/accounts/SenWarren?page=2").get_data(as_text=True)
    assert "tweet number 9<" in second
    assert client.get("/accounts/nobody").status_code == 404


def test_update_and_delete_buttons_post(client, fake_x, app):
    fake_x.add_user("Grassley", tweets=FakeXAPI.make_tweets(20))
    client.post("/accounts", data={"handle": "Grassley"})
    fake_x.add_tweets("Grassley", FakeXAPI.make_tweets(3, start="2024-01-01T00:00:00Z", prefix="new"))
    response = client.post("/accounts/Grassley/update", follow_redirects=True)
    assert "Updated @Grassley: 3 new tweets" in response.get_data(as_text=True)
    assert counts(app) == (1, 23)
    response = client.post("/accounts/Grassley/delete", data={"admin_password": ADMIN}, follow_redirects=True)
    assert "Deleted @Grassley" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


NEW = "2024-01-01T00:00:00Z"


def add_through_the_form(client, fake_x, *accounts):
    for handle, n in accounts:
        fake_x.add_user(handle, tweets=FakeXAPI.make_tweets(n, seed=n))
        assert client.post("/accounts", data={"handle": handle}).status_code == 303


def test_update_all_fetches_every_x_account_and_reports_each(client, fake_x, app, seed):
    add_through_the_form(client, fake_x, ("Grassley", 20), ("marcorubio", 15))
    seed("jane_doe", ["an imported tweet", "another imported tweet"])  # from a CSV: no X account to read
    assert 'action="/accounts/update-all"' in client.get("/").get_data(as_text=True)
    fake_x.add_tweets("Grassley", FakeXAPI.make_tweets(3, start=NEW, prefix="new"))
    fake_x.add_tweets("marcorubio", FakeXAPI.make_tweets(2, start=NEW, prefix="newer"))
    fake_x.requests.clear()

    response = client.post("/accounts/update-all", data={"admin_password": ADMIN})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Updated @Grassley: 3 new tweets." in page and "Updated @marcorubio: 2 new tweets." in page
    assert counts(app) == (3, 20 + 3 + 15 + 2 + 2)
    assert not any("jane_doe" in r["path"].lower() for r in fake_x.requests)


def test_update_all_goes_on_past_an_account_that_fails(client, fake_x, app):
    add_through_the_form(client, fake_x, ("Grassley", 20), ("marcorubio", 15))
    fake_x.add_tweets("Grassley", FakeXAPI.make_tweets(3, start=NEW, prefix="new"))
    fake_x.add_tweets("marcorubio", FakeXAPI.make_tweets(2, start=NEW, prefix="newer"))
    fake_x.fail(503, path_contains=f"/users/{fake_x.user('Grassley')['id']}/tweets", times=None)

    response = client.post("/accounts/update-all", data={"admin_password": ADMIN}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Updated @marcorubio: 2 new tweets." in page
    assert "@Grassley: X&#39;s servers failed (503). Try again in a few minutes." in page
    assert counts(app) == (2, 20 + 15 + 2)  # Grassley as it was, nothing half-stored


def test_update_all_needs_the_admin_password_and_an_x_account(client, fake_x, app, seed):
    add_through_the_form(client, fake_x, ("Grassley", 20))
    fake_x.add_tweets("Grassley", FakeXAPI.make_tweets(3, start=NEW, prefix="new"))
    fake_x.requests.clear()
    for data in ({}, {"admin_password": "wrong"}):
        response = client.post("/accounts/update-all", data=data)
        assert response.status_code == 403 and "admin password" in response.get_data(as_text=True)
    assert not fake_x.requests and counts(app) == (1, 20)

    client.post("/accounts/Grassley/delete", data={"admin_password": ADMIN})
    seed("jane_doe", ["an imported tweet", "another imported tweet"])
    assert 'action="/accounts/update-all"' not in client.get("/").get_data(as_text=True)
    response = client.post("/accounts/update-all", data={"admin_password": ADMIN}, follow_redirects=True)
    assert "No stored account can be updated from X" in response.get_data(as_text=True)
    assert not fake_x.requests and counts(app) == (1, 2)


def test_no_state_change_on_get(client, seed, app):
    seed("SenWarren", ["a tweet", "another"])
    for path in ("/accounts/SenWarren/delete", "/accounts/SenWarren/update", "/predict"):
        assert client.get(path).status_code == 405
    assert client.get("/accounts").status_code == 302  # the list of accounts, on the home page
    assert client.get("/accounts/update-all").status_code == 404  # read as an account page: no handle has a "-"
    assert counts(app) == (1, 2)


def test_predict_through_the_form(client, two_senators):
    response = client.post(
        "/predict",
        data={"accounts": list(two_senators), "text": "Big banks and billionaires must pay their fair share"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Most likely" in html and "%" in html
    assert all(f"@{h}" in html for h in two_senators)
    assert re.search(
        r'class="trust-row trust-(high|fair|some|low)">\s*<dt>The model on these accounts</dt>\s*<dd>Right \d+ of '
        r"100 times on their own tweets from other weeks",
        html,
    )
    assert "guessing would be right 50 of 100" in html
    checked = re.findall(r'<input[^>]*checked[^>]*value="([^"]+)"|<input[^>]*value="([^"]+)"[^>]*checked', html)
    assert {a or b for a, b in checked} == set(two_senators)  # choices kept for the next guess
    assert "Big banks and billionaires" in html


def test_predict_form_errors_keep_the_choices(client, two_senators):
    response = client.post("/predict", data={"accounts": ["SenWarren"], "text": "hello"})
    assert response.status_code == 400
    assert "Choose at least 2 accounts" in response.get_data(as_text=True)
    response = client.post("/predict", data={"accounts": list(two_senators), "text": "x" * 281})
    assert response.status_code == 400 and "at most 280 characters" in response.get_data(as_text=True)


def test_form_without_csrf_token_is_refused(make_app, fake_x):
    app = make_app(X_API_URL=fake_x.url, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/accounts", data={"handle": "SenWarren"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert fake_x.requests == []
    token = csrf_token(client)
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(12))
    assert client.post("/accounts", data={"handle": "SenWarren", "csrf_token": token}).status_code == 303


def test_error_pages_are_friendly(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "There is nothing at this address" in response.get_data(as_text=True)


def test_avatars_tell_senators_apart_by_initials_and_colour():
    from twitapp.web.ui import avatar_hue, initials

    names = {
        "SenWarren": "Senator Elizabeth Warren",
        "SenSanders": "Sen. Bernie Sanders",
        "SenBooker": "Senator Cory Booker",
        "ChuckGrassley": "Chuck Grassley",
    }
    shown = {handle: initials(name, handle) for handle, name in names.items()}
    assert shown == {"SenWarren": "EW", "SenSanders": "BS", "SenBooker": "CB", "ChuckGrassley": "CG"}
    assert (initials("Senator", "SenWarren"), initials("", "SenatorTimScott"), initials(None, "marcorubio")) == (
        "Wa",
        "TS",
        "Ma",
    )
    hues = {avatar_hue(handle) for handle in names}
    assert len(hues) > 1 and avatar_hue("SenWarren") == avatar_hue("senwarren")


def test_the_guess_form_says_it_is_working_and_shows_whole_tweet_counts(client, seed):
    seed("SenWarren", ["one post", "two posts"], name="Senator Elizabeth Warren")
    seed("marcorubio", ["three posts", "four posts"])
    page = client.get("/").get_data(as_text=True)
    assert 'class="guess-form"' in page and 'data-busy="Working…' in page
    assert '<span class="choice-meta">2 tweets</span>' in page
    assert re.search(r'class="avatar avatar-hue-\d avatar-small"', page)


def test_pictures_show_only_from_the_hosts_the_csp_allows(client, seed):
    """X's and Bluesky's pictures are shown; a Mastodon instance's (or any other host's) is not, so the
    CSP names no host a stranger chose: those accounts show their initials."""
    seed("SenWarren", ["a post"], profile_image_url="https://pbs.twimg.com/profile_images/1/a_normal.jpg")
    seed("alice.bsky.social", ["a post"], platform="bluesky", profile_image_url="https://cdn.bsky.app/img/avatar/a")
    seed(
        "bob@mastodon.social", ["a post"], platform="mastodon", profile_image_url="https://files.mastodon.social/b.png"
    )
    seed("carol.bsky.social", ["a post"], platform="bluesky", profile_image_url="https://evil.example.net/c.png")
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert "https://pbs.twimg.com/profile_images/1/a_normal.jpg" in page and "https://cdn.bsky.app/img/avatar/a" in page
    assert "files.mastodon.social" not in page and "evil.example.net" not in page
    shown = set(re.findall(r'<img class="avatar-img" src="([^"]+)"', page))
    assert shown == {"https://pbs.twimg.com/profile_images/1/a_normal.jpg", "https://cdn.bsky.app/img/avatar/a"}
    img_src = next(p for p in response.headers["Content-Security-Policy"].split("; ") if p.startswith("img-src"))
    assert img_src == "img-src 'self' data: https://pbs.twimg.com https://cdn.bsky.app"
