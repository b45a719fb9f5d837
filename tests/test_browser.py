"""The pages in a real browser: headless Debian Chromium driven by Playwright, as a person uses them.

The app runs as a live server on 127.0.0.1 (werkzeug, in a thread) with CSRF on, a clean SQLite file
database and the fake X API; the browser may reach nothing else (any other request is aborted and
recorded, so a CDN dependency fails the tests). Each test saves a screenshot to ``test-artifacts/`` when
it fails (git ignores that folder).

Screenshots for the README: ``pytest tests/test_browser.py --screenshots`` makes ``test_guess_with_real_tweets``
save them to ``docs/`` (home, result, account, and both on a phone) and the add-accounts test the empty
home page to ``test-artifacts/empty-home.png``. Without ``--screenshots`` no test writes outside
``test-artifacts/``, so a run leaves ``git status`` clean.

Needs ``chromium`` from apt (``.ci/run`` installs it); skips with a message where it is missing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from .archive_factory import archive_tweet, build_archive
from .fake_bluesky import FakeBluesky
from .fake_xapi import FakeXAPI
from .helpers import ADMIN, ROOT, ServerThread

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
DOCS = ROOT / "docs"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
TIMEOUT_MS = 60_000  # a first prediction loads spaCy and fits a model


@pytest.fixture
def screenshots(request):
    """Where to save the README's pictures: docs/ with ``--screenshots``, else None (nothing saved)."""
    if not request.config.getoption("--screenshots"):
        return None
    DOCS.mkdir(exist_ok=True)
    return DOCS


def save(tab, folder: Path | None, name: str, full_page: bool = True) -> None:
    if folder is not None:
        tab.screenshot(path=str(folder / name), full_page=full_page)


@pytest.fixture
def live(make_app, app, fake_x, fake_bluesky):
    """The app served on 127.0.0.1 with CSRF on. It shares this test's database with ``app`` (so ``seed``
    stores what the browser sees)."""
    web = make_app(X_API_URL=fake_x.url, BLUESKY_API_URL=fake_bluesky.url, WTF_CSRF_ENABLED=True)
    with ServerThread(make_server("127.0.0.1", 0, web, threaded=True), name="live-app") as server:
        yield server


@pytest.fixture
def page(browser, live, request):
    """A fresh browser tab on a desktop-sized window; screenshot to test-artifacts/ if the test fails."""
    context = browser.new_context(viewport=DESKTOP, base_url=live.url, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.outside_requests = []
    tab.console_errors = []

    def refuse_outside(route):
        tab.outside_requests.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).+"), refuse_outside)
    tab.on("console", lambda msg: tab.console_errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: tab.console_errors.append(f"page error: {exc}"))
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        except Exception as exc:  # a screenshot must not hide the failure itself
            print(f"screenshot failed: {exc}")
    context.close()


def assert_clean(tab) -> None:
    """No script errors, no CSP violations, and nothing fetched from outside 127.0.0.1 but profile pictures."""
    problems = [e for e in tab.console_errors if "Failed to load resource" not in e]
    assert problems == []
    pictures = ("https://pbs.twimg.com/profile_images/", "https://cdn.bsky.app/img/avatar/")
    assert all(url.startswith(pictures) for url in tab.outside_requests), tab.outside_requests


def no_horizontal_scroll(tab) -> bool:
    tab.wait_for_load_state("load")  # (styles and pictures in: under load a page can be measured unstyled)
    return tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def real_tweets(senate_tweets, handle: str, n: int) -> list[tuple[datetime, str]]:
    """``n`` of the account's real tweets spread over its whole history, with their real dates."""
    rows = senate_tweets[handle]
    picked = [rows[i * len(rows) // n] for i in range(min(n, len(rows)))]
    return [(datetime.fromisoformat(when.replace("Z", "+00:00")), text) for when, text in picked]


@pytest.fixture
def senators(seed, senate_tweets):
    """Three real senators stored with 300 real tweets each, their real dates and display names."""
    people = {
        "SenWarren": ("Elizabeth Warren", "U.S. Senator from Massachusetts."),
        "marcorubio": ("Marco Rubio", "U.S. Senator for Florida."),
        "ChuckGrassley": ("Chuck Grassley", "U.S. Senator for Iowa."),
    }
    for i, (handle, (name, bio)) in enumerate(people.items()):
        seed(
            handle,
            real_tweets(senate_tweets, handle, 300),
            user_id=f"{1000 + i}",
            name=name,
            description=bio,
            followers_count=[2_900_000, 4_400_000, 650_000][i],
        )
    return list(people)


def choose(tab, *handles: str) -> None:
    for handle in handles:
        tab.locator(f"input[name=accounts][value='{handle}']").check()


# --- the tests -----------------------------------------------------------------------------------------------


def test_add_three_accounts_and_see_an_unknown_handle_rejected(page, fake_x, live, screenshots):
    page.goto("/")
    assert page.get_by_role("heading", name="Who wrote this tweet?").is_visible()  # the empty state
    assert page.get_by_role("link", name="Add an account").is_visible()
    if screenshots:  # for looking at the empty state by hand (not in the README)
        ARTIFACTS.mkdir(exist_ok=True)
        save(page, ARTIFACTS, "empty-home.png")
    for i, (handle, name) in enumerate(
        (("SenWarren", "Elizabeth Warren"), ("marcorubio", "Marco Rubio"), ("ChuckGrassley", "Chuck Grassley"))
    ):
        fake_x.add_user(
            handle,
            name=name,
            tweets=FakeXAPI.make_tweets(40, prefix=handle, seed=i),
            description=f"{name}'s account",
            followers=1000 * (i + 1),
        )
        page.goto("/")
        page.get_by_label("Handle", exact=True).fill("@" + handle.lower())
        page.get_by_role("button", name="Add account").click()
        page.wait_for_url(re.compile(rf"/accounts/{handle}$"))
        assert page.locator(".flash-success").inner_text().endswith(f"Added @{handle}: 40 new tweets.")
        assert page.get_by_role("heading", level=1).inner_text() == name
        assert page.locator("svg.month-svg title").count() >= 1  # the tweets-per-month chart

    page.goto("/")
    cards = page.locator(".account-card")
    assert cards.count() == 3
    assert "Elizabeth Warren" in cards.nth(2).inner_text() and "@SenWarren" in cards.nth(2).inner_text()
    assert "40 tweets" in cards.nth(2).inner_text() and "X API" in cards.nth(2).inner_text()
    assert cards.nth(2).locator(".avatar-initials").inner_text() == "EW"  # its picture cannot load here
    assert page.locator("input[name=accounts]").count() == 3

    page.get_by_label("Handle", exact=True).fill("nosuchuser_xyz")
    page.get_by_role("button", name="Add account").click()
    page.wait_for_load_state()
    assert "X has no account @nosuchuser_xyz" in page.locator(".flash-error").inner_text()
    assert page.get_by_label("Handle", exact=True).input_value() == "nosuchuser_xyz"  # kept for correcting it
    assert page.locator(".account-card").count() == 3
    assert_clean(page)


def test_guess_with_real_tweets(page, senators, live, screenshots):
    """Pick 2 of 3, type, guess: the verdict, bars, trust line, highlighted words, map, similar tweets.
    With ``--screenshots``, saves the README's pictures to docs/."""
    page.goto("/")
    save(page, screenshots, "home.png")

    choose(page, "SenWarren", "marcorubio")
    assert page.locator(".choice-count").inner_text().startswith("2 chosen")
    text = "Big banks and billionaires must pay their fair share so working families can get ahead."
    box = page.get_by_label("The tweet")
    box.fill(text)
    counter = page.locator("#text-counter")
    assert counter.is_visible() and counter.inner_text() == f"{len(text)} / 280"
    page.get_by_role("button", name="Guess the author").click()
    page.wait_for_selector("#verdict")

    verdict = page.locator("#verdict").inner_text()
    assert re.fullmatch(
        r"Most likely @(SenWarren|marcorubio) wrote it, with [<>]?\d+% probability among the 2 "
        r"accounts you chose\.",
        " ".join(verdict.split()),
    ), verdict
    bars = page.locator(".bars li")
    assert bars.count() == 2
    values = [float(v.strip("<>%")) for v in page.locator(".bar-value").all_inner_texts()]
    assert values == sorted(values, reverse=True) and abs(sum(values) - 100) < 0.5
    fills = [float(w) for w in page.locator(".bar-fill").evaluate_all("els => els.map(e => e.getAttribute('width'))")]
    assert fills[0] >= fills[1] >= 0 and fills[0] > 0
    assert re.search(
        r"The model on these accounts Right \d+ of 100 times on their own tweets from other weeks, which it had "
        r"not learnt from \(guessing would be right 50 of 100\)\.",
        " ".join(page.locator(".trust").inner_text().split()),
    )

    guess_row = page.locator(".trust-row", has_text="This guess")
    assert guess_row.locator(".trust-badge").inner_text() in ("Sure", "Fairly sure", "Not very sure", "Close to chance")
    assert len(guess_row.locator("dd").inner_text()) > 20  # the reason, in a sentence
    outsider = page.locator("#none-of-these")
    assert outsider.count() == 1 and "someone else wrote" in outsider.inner_text()

    typed = page.locator("blockquote.typed")
    assert typed.inner_text().strip() == text
    marks = typed.locator("mark")
    assert marks.count() >= 1, "no deciding word highlighted"
    assert all(word.lower() in text.lower() for word in marks.all_inner_texts())
    assert "highlighted" in page.locator("#highlight-note").inner_text()

    tweet_map = page.locator("svg.map-svg")
    assert tweet_map.is_visible()
    assert tweet_map.get_attribute("role") == "img"
    assert "@marcorubio and @SenWarren" in tweet_map.locator("title").text_content()
    author = verdict.split("@")[1].split()[0]
    assert f"Your text is the large ringed star, nearest @{author}'s corner" in tweet_map.locator("desc").text_content()
    assert tweet_map.locator("path.map-series").count() == 2
    assert tweet_map.locator(".map-typed").count() == 1
    assert page.locator(".legend li").count() == 3  # two accounts and "your text"
    assert f"nearest @{author}'s corner" in page.locator(".map-caption").inner_text()

    similar = page.locator(".similar-col")
    assert similar.count() == 2 and 1 <= page.locator(".similar li").count() <= 6
    assert similar.first.get_by_role("link").inner_text() == f"@{author}"  # the guess first
    assert similar.first.get_by_role("link").get_attribute("href").startswith("/accounts/")
    assert "similarity" not in page.locator(".similar-grid").inner_text()

    kept = page.locator("input[name=accounts]:checked").evaluate_all("els => els.map(e => e.value)")
    assert sorted(kept) == ["SenWarren", "marcorubio"]  # the form again, choices kept
    assert page.get_by_label("The tweet").input_value() == text
    save(page, screenshots, "result.png")
    assert_clean(page)

    page.set_viewport_size(PHONE)
    page.goto("/")
    assert no_horizontal_scroll(page)
    save(page, screenshots, "home-phone.png")
    choose(page, "SenWarren", "ChuckGrassley")
    page.get_by_label("The tweet").fill(text)
    page.get_by_role("button", name="Guess the author").click()
    page.wait_for_selector("#verdict")
    assert no_horizontal_scroll(page)
    save(page, screenshots, "result-phone.png")

    page.set_viewport_size(DESKTOP)
    page.locator(".similar-col").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/accounts/\w+$"))
    assert page.locator("svg.month-svg rect.month-bar").count() > 6
    assert "Page 1 of" in page.locator(".pager").inner_text()
    save(page, screenshots, "account.png", full_page=False)


def test_several_posts_three_ways_in(page, senators, seed, senate_tweets, live, screenshots):
    """Posts of one author pasted one per paragraph, uploaded as a file, or a stored account's own: each is
    answered as a set, with the posts that weighed most."""
    older = [text for _, text in senate_tweets["marcorubio"][:-300] if "\n\n" not in text and len(text) <= 280]
    seed("Anon", older[-40:])
    posts = older[-48:-40]

    page.goto("/")
    choose(page, "SenWarren", "marcorubio")
    page.locator("details.several > summary").click()
    page.get_by_label("Several posts, one per paragraph").fill("\n\n".join(posts))
    page.get_by_role("button", name="Guess the author").click()
    page.wait_for_selector("#verdict")
    verdict = " ".join(page.locator("#verdict").inner_text().split())
    assert re.fullmatch(
        r"Most likely @marcorubio wrote these 8 posts, with [<>]?\d+% probability among the 2 accounts you chose\.",
        verdict,
    ), verdict
    weighed = page.locator(".weighed-posts li")
    assert 1 <= weighed.count() <= 3
    assert all(any(post in item for post in posts) for item in weighed.all_inner_texts())
    save(page, screenshots, "result-posts.png")
    assert_clean(page)

    page.goto("/")
    choose(page, "SenWarren", "marcorubio")
    page.locator("details.several > summary").click()
    page.get_by_label("Or a file of posts").set_input_files(
        {
            "name": "posts.txt",
            "mimeType": "text/plain",
            "buffer": "\n".join(p.replace("\n", " ") for p in posts).encode(),
        }
    )
    page.get_by_role("button", name="Guess the author").click()
    page.wait_for_selector("#verdict")
    assert "wrote these 8 posts" in " ".join(page.locator("#verdict").inner_text().split())

    page.goto("/")
    choose(page, "SenWarren", "ChuckGrassley", "marcorubio")
    page.locator("details.several > summary").click()
    page.get_by_label("Or a stored account's posts").fill("Anon")
    page.get_by_role("button", name="Guess the author").click()
    page.wait_for_selector("#verdict")
    verdict = " ".join(page.locator("#verdict").inner_text().split())
    assert verdict.startswith("Most likely @marcorubio wrote the 40 newest posts of @Anon"), verdict
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    assert_clean(page)


def test_choosing_one_account_shows_the_validation_message(page, seed, live):
    seed("SenWarren", [f"tweet {i} about banks" for i in range(12)])
    seed("marcorubio", [f"tweet {i} about Florida" for i in range(12)])
    page.goto("/")
    choose(page, "SenWarren")
    assert "choose at least 2" in page.locator(".choice-count").inner_text()
    page.get_by_label("The tweet").fill("Who wrote this?")
    page.get_by_role("button", name="Guess the author").click()
    page.wait_for_load_state()
    assert "Choose at least 2 accounts" in page.locator(".flash-error").inner_text()
    assert page.locator("input[name=accounts]:checked").evaluate_all("els => els.map(e => e.value)") == ["SenWarren"]
    assert page.get_by_label("The tweet").input_value() == "Who wrote this?"
    assert_clean(page)


def test_delete_an_account_as_admin(page, seed, live):
    seed("Grassley", [f"a tweet about Iowa, number {i}" for i in range(60)])
    page.goto("/accounts/Grassley")
    assert "Page 1 of 2" in page.locator(".pager").inner_text()
    page.on("dialog", lambda dialog: dialog.accept())  # the "Delete @Grassley…?" confirmation

    page.get_by_label("Admin password").fill("wrong password")
    page.get_by_role("button", name="Delete account").click()
    page.wait_for_load_state()
    assert "needs the admin password" in page.locator("main").inner_text()

    page.goto("/accounts/Grassley")
    page.get_by_label("Admin password").fill(ADMIN)
    page.get_by_role("button", name="Delete account").click()
    page.wait_for_url(f"{live.url}/")
    assert "Deleted @Grassley and its tweets." in page.locator(".flash-success").inner_text()
    assert page.locator(".account-card").count() == 0
    assert page.goto("/accounts/Grassley").status == 404


def test_upload_a_small_archive(page, live):
    start = datetime(2021, 3, 1, 12, 0, tzinfo=UTC)
    tweets = [
        archive_tweet(
            str(1_400_000_000_000_000_000 + i),
            f"Archived thought number {i} on fish & chips",
            start.replace(month=3 + i % 9, day=1 + i % 27),
        )
        for i in range(30)
    ]
    data = build_archive("jane_doe", "12345", "Jane Doe", tweets)
    page.goto("/")
    page.get_by_label("Archive, Bluesky repository or CSV file").set_input_files(
        {"name": "twitter-2024-jane_doe.zip", "mimeType": "application/zip", "buffer": data}
    )
    page.get_by_role("button", name="Import file").click()
    page.wait_for_url(re.compile(r"/accounts/jane_doe$"))
    assert "jane_doe" in page.locator(".flash-success").inner_text()
    assert page.get_by_role("heading", level=1).inner_text() == "Jane Doe"
    assert page.locator(".tweets li").count() == 30
    assert "fish & chips" in page.locator(".tweets").inner_text()
    assert page.locator("svg.month-svg rect.month-bar").count() == 9
    assert_clean(page)


def test_pages_fit_a_360_px_phone(page, seed, live):
    long_name = "Averyveryverylongunbrokenwordthatcouldoverflowthelayout"
    seed("SenWarren", [f"{long_name} tweet {i}" for i in range(60)])
    seed("marcorubio", [f"tweet {i} https://example.com/{'x' * 120}" for i in range(12)])
    page.set_viewport_size(PHONE)
    for path in ("/", "/accounts/SenWarren", "/accounts/marcorubio", "/no/such/page"):
        page.goto(path)
        assert no_horizontal_scroll(page), f"{path} scrolls sideways at 360 px"
    page.goto("/")
    choose(page, "SenWarren", "marcorubio")
    page.get_by_label("The tweet").fill(long_name * 3)
    page.get_by_role("button", name="Guess the author").click()
    page.wait_for_selector("#verdict")
    assert no_horizontal_scroll(page), "the result scrolls sideways at 360 px"
    assert_clean(page)


@pytest.mark.parametrize("accounts", [2, 3, 4])
def test_the_map_and_the_similar_posts_fit_a_360_px_phone(page, seed, senate_tweets, live, accounts, screenshots):
    """With 2, 3 and 4 accounts, on a 360 px phone: no sideways scroll, the map inside the viewport, its
    corner labels inside the map, and the similar posts one column each, the guess first (and on a wide
    screen the columns side by side in one row)."""
    handles = ["SenWarren", "marcorubio", "ChuckGrassley", "brianschatz"][:accounts]
    for handle in handles:
        seed(handle, real_tweets(senate_tweets, handle, 150))
    page.set_viewport_size(PHONE)
    page.goto("/")
    choose(page, *handles)
    page.get_by_label("The tweet").fill("Our farmers and ranchers in Iowa need this farm bill passed now.")
    page.get_by_role("button", name="Guess the author").click()
    page.wait_for_selector("#verdict")
    assert no_horizontal_scroll(page), "the result scrolls sideways at 360 px"
    author = page.locator("#verdict a").inner_text()
    box = page.locator("svg.map-svg").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["width"] >= 280
    for label in page.locator("svg.map-svg .map-label").all():
        inner = label.bounding_box()
        assert box["x"] - 1 <= inner["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"] + 1
        assert inner["height"] >= 10  # readable: the 15-unit labels stay at least 10 px tall
    columns = page.locator(".similar-col")
    assert columns.count() == accounts and columns.first.locator("h3 a").inner_text() == author
    for column in columns.all():
        edge = column.bounding_box()
        assert edge["x"] >= 0 and edge["x"] + edge["width"] <= PHONE["width"]
    if screenshots:  # for looking at by hand (not in the README)
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator(".tweet-map").screenshot(path=str(ARTIFACTS / f"map-phone-{accounts}.png"))
    page.set_viewport_size(DESKTOP)
    tops = {round(c.bounding_box()["y"]) for c in columns.all()}
    assert len(tops) == 1, tops  # one row on a wide screen: never the guess alone under the others
    if screenshots:
        page.locator(".similar-grid").screenshot(path=str(ARTIFACTS / f"similar-desktop-{accounts}.png"))
        page.locator(".tweet-map").screenshot(path=str(ARTIFACTS / f"map-desktop-{accounts}.png"))
    assert_clean(page)


def test_keyboard_and_labels(page, seed, live):
    seed("SenWarren", [f"tweet {i} about banks" for i in range(12)])
    seed("marcorubio", [f"tweet {i} about Florida" for i in range(12)])
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, textarea, select')]
        .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
        .map(e => e.name)""")
    assert unlabelled == []
    # choose both accounts, type and submit with the keyboard only
    page.locator("input[name=accounts]").first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.type("Lower the cost of groceries")
    page.keyboard.press("Tab")  # the closed "several posts" disclosure, then the button
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#verdict")
    assert page.locator(".bars li").count() == 2


def test_add_an_x_and_a_bluesky_account_and_guess_across_them(page, fake_x, fake_bluesky, live):
    fake_x.add_user("SenWarren", name="Elizabeth Warren", tweets=FakeXAPI.make_tweets(40, prefix="warren"))
    fake_bluesky.add_actor(
        "alice.bsky.social", FakeBluesky.make_posts(40, prefix="alice", seed=5), display_name="Alice"
    )
    page.goto("/")
    page.get_by_label("Handle", exact=True).fill("SenWarren")
    page.get_by_role("button", name="Add account").click()
    page.wait_for_url(re.compile(r"/accounts/SenWarren$"))
    page.goto("/")
    page.get_by_label("Handle", exact=True).fill("alice")
    page.get_by_label("Platform").select_option("bluesky")
    page.get_by_role("button", name="Add account").click()
    page.wait_for_url(re.compile(r"/accounts/alice\.bsky\.social$"))
    assert page.locator(".flash-success").inner_text().endswith("Added @alice.bsky.social from Bluesky: 40 new posts.")
    assert "Bluesky" in page.locator(".profile .handle").inner_text()

    page.goto("/")
    assert page.locator(".account-card .platform-bluesky").count() == 1
    assert page.locator(".account-card .platform-x").count() == 1
    choose(page, "SenWarren", "alice.bsky.social")
    page.get_by_label("The tweet").fill(("Thanks to teachers for a productive roundtable on child care. " * 5)[:290])
    page.get_by_role("button", name="Guess the author").click()
    page.wait_for_selector("#verdict")
    assert page.locator(".bars li").count() == 2 and page.locator(".bars .platform-bluesky").count() == 1
    assert_clean(page)


def test_a_form_posted_without_its_csrf_token_fails(page, fake_x, live):
    fake_x.add_user("SenWarren", tweets=FakeXAPI.make_tweets(12))
    page.goto("/")
    page.locator("form.add-form input[name=csrf_token]").evaluate("input => input.remove()")
    page.get_by_label("Handle", exact=True).fill("SenWarren")
    with page.expect_response(lambda r: r.url.endswith("/accounts") and r.request.method == "POST") as posted:
        page.get_by_role("button", name="Add account").click()
    assert posted.value.status == 400
    assert "CSRF check failed" in page.locator("main").inner_text()
    assert fake_x.requests == []
    # the same form with its token works
    page.goto("/")
    page.get_by_label("Handle", exact=True).fill("SenWarren")
    page.get_by_role("button", name="Add account").click()
    page.wait_for_url(re.compile(r"/accounts/SenWarren$"))


def test_static_files_are_versioned_and_cached(page, live):
    response = page.goto("/")
    css = page.locator("link[rel=stylesheet]").get_attribute("href")
    script = page.locator("script[src]").first.get_attribute("src")
    assert re.fullmatch(r"/static/style\.css\?v=\d+", css) and re.fullmatch(r"/static/app\.js\?v=\d+", script)
    assert page.locator("script[defer]").count() == page.locator("script").count()  # no inline scripts
    assert page.locator("[style]").count() == 0  # no inline styles: the CSP forbids them
    static = page.request.get(css)
    assert static.ok and "max-age=31536000" in static.headers.get("cache-control", "")
    assert response.ok


# --- the account picker among more accounts than one page holds -------------------------------------------


def fillers(seed, n: int = 24) -> None:
    for i in range(n):
        seed(f"filler{i:02d}", [f"filler post {i} about roads", f"filler post {i} about taxes"], name=f"Person {i:02d}")


def test_search_and_pick_accounts_with_javascript(page, senators, seed, live):
    """Typing in the picker's search replaces its page of accounts from GET /api/accounts without reloading;
    a ticked account stays chosen when the list changes; the request carries no token and no draft."""
    fillers(seed)  # page 1: chuckgrassley and 23 fillers; marcorubio and SenWarren on page 2
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto("/")
    page.evaluate("window.samePage = true")
    assert page.locator("[data-page-list] input[value=marcorubio]").count() == 0
    draft = "Big banks and billionaires must pay their fair share so working families can get ahead."
    page.get_by_label("The tweet").fill(draft)

    page.get_by_label(re.compile("Search the 27 accounts")).fill("WARREN")
    page.locator("[data-page-list] input[value=SenWarren]").check()
    assert page.locator("[data-picker-status]").inner_text() == "1 account matches “WARREN”: 1–1 shown."
    page.get_by_label(re.compile("Search the 27 accounts")).fill("rubio")
    page.locator("[data-page-list] input[value=marcorubio]").check()
    assert page.locator("[data-chosen] input:checked").evaluate_all("els => els.map(e => e.value)") == ["SenWarren"]
    assert page.locator(".choice-count").inner_text().startswith("2 chosen")

    page.get_by_label(re.compile("Search the 27 accounts")).fill("")
    page.locator("[data-picker-status]", has_text="27 accounts: 1–24 shown.").wait_for()
    page.get_by_role("button", name="Next →").click()
    page.locator("[data-picker-where]", has_text="Page 2 of 2").wait_for()
    assert page.locator("[data-page-list] input").evaluate_all("els => els.map(e => e.value)") == ["filler23"]
    assert page.evaluate("window.samePage") is True  # no reload: the draft was never sent anywhere
    assert page.get_by_label("The tweet").input_value() == draft
    api = [url for url in asked if "/api/accounts" in url]
    assert api and all("csrf" not in url.lower() and "banks" not in url.lower() for url in asked)

    page.get_by_role("button", name="Guess the author").click()
    page.wait_for_selector("#verdict")
    assert "among the 2 accounts you chose" in " ".join(page.locator("#verdict").inner_text().split())
    assert_clean(page)


def test_search_and_pick_accounts_without_javascript(browser, live, senators, seed):
    """With JavaScript off, Search and the page buttons post the guess form: the draft and the accounts
    chosen on other pages come back, and no URL holds the token or the draft."""
    fillers(seed)
    context = browser.new_context(viewport=DESKTOP, base_url=live.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    try:
        tab.goto("/")
        tab.get_by_label("The tweet").fill("Big banks and billionaires must pay their fair share.")
        tab.locator("input[value=filler00]").check()
        tab.get_by_label(re.compile("Search the 27 accounts")).fill("rubio")
        tab.get_by_label(re.compile("Search the 27 accounts")).press("Enter")  # the form's first button: Search
        tab.wait_for_url(re.compile(r"/pick$"))
        assert tab.get_by_label("The tweet").input_value() == "Big banks and billionaires must pay their fair share."
        assert tab.locator("[data-chosen] input:checked").evaluate_all("els => els.map(e => e.value)") == ["filler00"]
        tab.locator("[data-page-list] input[value=marcorubio]").check()
        tab.get_by_label(re.compile("Search the 27 accounts")).fill("")
        tab.get_by_role("button", name="Search").click()
        tab.get_by_role("button", name="Next →").click()
        tab.wait_for_load_state()
        assert tab.locator("[data-picker-where]").inner_text() == "Page 2 of 2"
        tab.locator("[data-chosen] input[value=filler00]").uncheck()
        tab.locator("[data-page-list] input[value=SenWarren]").check()
        tab.get_by_role("button", name="Guess the author").click()
        tab.wait_for_selector("#verdict")
        assert "among the 2 accounts you chose" in " ".join(tab.locator("#verdict").inner_text().split())
        assert "?" not in tab.url
    finally:
        context.close()
