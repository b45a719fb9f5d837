"""The account picker among many accounts: searched and paged on the server, without JavaScript; chosen
accounts and the draft kept across searches and pages; ``GET /api/accounts`` paged; the SQL statements of
the home page the same for 3 accounts as for 40."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from twitapp.extensions import db
from twitapp.formatting import some_handles
from twitapp.services.account_search import MAX_QUERY, search_accounts

from .helpers import CSRF_FIELD

PER_PAGE = 24  # Config.ACCOUNTS_PER_PAGE


def seed_many(seed, n: int, start: int = 0) -> list[str]:
    """``n`` accounts ``filler00``... named "Person 00"..., two posts each."""
    handles = []
    for i in range(start, start + n):
        handle = f"filler{i:02d}"
        seed(handle, [f"post {i} one", f"post {i} two"], name=f"Person {i:02d}")
        handles.append(handle)
    return handles


def checkboxes(html: str, part: str) -> list[tuple[str, bool]]:
    """The accounts' checkboxes in the chosen list (``part="chosen"``) or the page's list (``"page"``)."""
    start = html.index("data-chosen" if part == "chosen" else "data-page-list")
    end = html.index("data-page-list") if part == "chosen" else html.index("data-picker-pager")
    inputs = re.findall(r'<input class="choice-input"[^>]*>', html[start:end])
    return [(re.search(r'value="([^"]*)"', i).group(1), " checked" in i) for i in inputs]


def draft(html: str) -> str:
    return re.search(r'<textarea[^>]*name="text"[^>]*>\s*([^<]*)</textarea>', html).group(1)


@pytest.mark.stand_in_vectors
def test_the_home_page_shows_one_page_of_accounts_and_links_to_others(client, seed):
    seed_many(seed, 30)
    html = client.get("/").get_data(as_text=True)
    page = checkboxes(html, "page")
    assert [h for h, _ in page] == [f"filler{i:02d}" for i in range(PER_PAGE)]
    assert "Page 1 of 2" in html and "30 accounts: 1–24 shown." in html
    assert html.count('class="account-card"') == PER_PAGE  # the stored accounts' cards: the same page
    second = client.get("/?page=2").get_data(as_text=True)
    assert [h for h, _ in checkboxes(second, "page")] == [f"filler{i:02d}" for i in range(24, 30)]
    for bad in ("0", "-1", "x", "1.5", "", "9" * 40):  # a link gone wrong: the nearest page there is
        answer = client.get(f"/?page={bad}")
        assert answer.status_code == 200
        assert "filler00" in answer.get_data(as_text=True)
    last = client.get("/?page=999999999999").get_data(as_text=True)
    assert "Page 2 of 2" in last and "filler29" in last


@pytest.mark.stand_in_vectors
def test_search_is_case_insensitive_on_handle_and_name(client, seed):
    seed_many(seed, 30)
    found = client.get("/?q=FILLER2").get_data(as_text=True)
    assert [h for h, _ in checkboxes(found, "page")] == [f"filler{i}" for i in range(20, 30)]
    assert "10 accounts match “FILLER2”" in found
    by_name = client.get("/?q=person 0").get_data(as_text=True)
    assert [h for h, _ in checkboxes(by_name, "page")] == [f"filler0{i}" for i in range(10)]
    assert "No account matches “nobody”" in client.get("/?q=nobody").get_data(as_text=True)


@pytest.mark.stand_in_vectors
def test_percent_and_underscore_in_a_search_are_plain_characters(app, client, seed):
    seed("big_data", ["a post", "another"], name="Data")
    seed("bigxdata", ["a post", "another"], name="Hundred")
    seed("fan100", ["a post", "another"], name="100% fan")
    seed("plain", ["a post", "another"], name="Back\\slash")
    with app.app_context():
        names = {q: [s.account.username for s in search_accounts(db.session, q, 1, 24).items] for q in "_%\\"}
        assert search_accounts(db.session, "g_d", 1, 24).total == 1  # "_" is not "any one character"
        assert search_accounts(db.session, "100%", 1, 24).total == 1
        assert search_accounts(db.session, "%%", 1, 24).total == 0  # not "everything"
    assert names == {"_": ["big_data"], "%": ["fan100"], "\\": ["plain"]}
    listed = client.get("/api/accounts", query_string={"q": "_"}).json
    assert [a["username"] for a in listed["accounts"]] == ["big_data"] and listed["total"] == 1


@pytest.mark.stand_in_vectors
def test_a_search_too_long_is_refused_with_a_message(client, seed):
    seed_many(seed, 3)
    page = client.get("/", query_string={"q": "x" * (MAX_QUERY + 1)})
    assert page.status_code == 400
    assert f"at most {MAX_QUERY} characters" in page.get_data(as_text=True)
    assert "filler02" in page.get_data(as_text=True)  # every account, instead
    api = client.get("/api/accounts", query_string={"q": "x" * (MAX_QUERY + 1)})
    assert api.status_code == 400 and f"at most {MAX_QUERY} characters" in api.json["error"]
    null = client.get("/api/accounts?q=a%00b")  # PostgreSQL refuses it in any text: said, not a 500
    assert null.status_code == 400 and "null character" in null.json["error"]
    assert client.get("/?q=a%00b").status_code == 400


@pytest.mark.stand_in_vectors
def test_searching_and_paging_without_javascript_keep_the_draft_and_the_choices(make_app, fake_x, seed):
    """The picker's buttons post the guess form (CSRF checked) to /pick: nothing of the draft, nor the token,
    goes into a URL, and the accounts chosen on other pages stay chosen, on top."""
    seed_many(seed, 30)
    client = make_app(X_API_URL=fake_x.url, WTF_CSRF_ENABLED=True).test_client()
    home = client.get("/").get_data(as_text=True)
    token = CSRF_FIELD.search(home).group(1)
    form = re.search(r'<form method="post" action="/predict"[^>]*>', home).group(0)
    assert 'enctype="multipart/form-data"' in form and 'method="get"' not in home.lower()
    for button in re.findall(r'<button type="submit"[^>]*name="page"[^>]*>', home):
        assert 'formaction="/pick"' in button and "formnovalidate" in button
    refused = client.post("/pick", data={"q": "filler2", "page": "1", "text": "my draft"})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)

    searched = client.post(
        "/pick",
        data={"csrf_token": token, "text": "my draft & <b>", "accounts": ["filler03"], "q": "filler2", "page": "1"},
    )
    assert searched.status_code == 200
    html = searched.get_data(as_text=True)
    assert draft(html) == "my draft &amp; &lt;b&gt;"
    assert checkboxes(html, "chosen") == [("filler03", True)]  # not on this page: shown chosen on top
    assert [h for h, _ in checkboxes(html, "page")] == [f"filler{i}" for i in range(20, 30)]
    assert 'name="q" value="filler2"' in html

    paged = client.post(
        "/pick",
        data={"csrf_token": token, "text": "my draft", "accounts": ["filler03", "filler25"], "q": "", "page": "2"},
    )
    html = paged.get_data(as_text=True)
    assert checkboxes(html, "chosen") == [("filler03", True), ("filler25", True)]
    page = [h for h, _ in checkboxes(html, "page")]
    assert page == [f"filler{i}" for i in range(24, 30) if i != 25]  # a chosen one is not listed twice
    assert "Page 2 of 2" in html and draft(html) == "my draft"
    assert 'name="at_page" value="2"' in html


def test_accounts_chosen_on_other_pages_are_guessed_among(client, seed, two_senators):
    """Choose SenWarren on page 2, go to page 1, choose nothing more: the guess still goes to both chosen."""
    seed_many(seed, PER_PAGE)  # page 1 is all filler; the senators are on page 2
    first = client.get("/").get_data(as_text=True)
    assert "SenWarren" not in [h for h, _ in checkboxes(first, "page")]
    step = client.post("/pick", data={"accounts": list(two_senators), "text": "Fair share", "page": "1"})
    html = step.get_data(as_text=True)
    chosen = [h for h, checked in checkboxes(html, "chosen") if checked]
    assert sorted(chosen) == sorted(two_senators)
    answer = client.post(
        "/predict", data={"accounts": chosen, "text": "Big banks and billionaires must pay their fair share"}
    )
    assert answer.status_code == 200 and "Most likely" in answer.get_data(as_text=True)


@pytest.mark.stand_in_vectors
def test_the_api_pages_accounts_and_keeps_its_answer_for_callers_who_pass_nothing(client, seed):
    seed_many(seed, 30)
    answer = client.get("/api/accounts").json
    assert [a["username"] for a in answer["accounts"]] == [f"filler{i:02d}" for i in range(30)]
    assert {k: answer[k] for k in ("total", "page", "pages", "per_page", "q")} == {
        "total": 30,
        "page": 1,
        "pages": 1,
        "per_page": 100,
        "q": "",
    }
    third = client.get("/api/accounts?per_page=10&page=3").json
    assert [a["username"] for a in third["accounts"]] == [f"filler{i}" for i in range(20, 30)]
    assert third["pages"] == 3 and third["total"] == 30
    searched = client.get("/api/accounts?q=@Person%202&per_page=5&page=2").json
    assert [a["username"] for a in searched["accounts"]] == [f"filler{i}" for i in range(25, 30)]
    assert searched["total"] == 10 and searched["q"] == "Person 2"


BAD_PAGES = [
    ("page=0", "'page' must be a whole number from 1"),
    ("page=-1", "'page' must be a whole number from 1"),
    ("page=x", "'page' must be a whole number from 1; got 'x'"),
    ("page=1.5", "'page' must be a whole number from 1"),
    ("page=" + "9" * 40, "'page' must be a whole number from 1"),
    ("page=999999999999", "there is no page 999,999,999,999"),
    ("page=4&per_page=10", "The 30 stored accounts fill 3 pages of 10; there is no page 4."),
    ("page=2&q=filler01", "The 1 stored account matching 'filler01' fills 1 page of 100; there is no page 2."),
    ("per_page=0", "'per_page' must be a whole number from 1"),
    ("per_page=101", "'per_page' must be from 1 to 100"),
    ("per_page=ten", "'per_page' must be a whole number from 1"),
]


@pytest.mark.stand_in_vectors
def test_the_api_refuses_bad_pages_with_a_message(client, seed):
    seed_many(seed, 30)  # one stored world for every bad query (they only read it)
    for query, words in BAD_PAGES:
        answer = client.get("/api/accounts?" + query)
        assert answer.status_code == 400, query
        assert words in answer.json["error"], query


def test_messages_name_a_few_handles_of_many():
    assert some_handles(["a", "b"]) == "@a, @b"
    assert some_handles([f"h{i}" for i in range(2000)]) == "@h0, @h1, @h2, @h3, @h4, @h5 and 1,994 more"


@pytest.mark.stand_in_vectors
def test_the_home_page_runs_as_many_statements_for_40_accounts_as_for_3(app, client, seed):
    """Counted with an SQLAlchemy event, not timed: the page's queries do not grow with the accounts."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def run(*requests) -> list[int]:
        made = []
        for method, url, data in requests:
            statements.clear()
            answer = client.post(url, data=data) if method == "POST" else client.get(url)
            assert answer.status_code == 200
            made.append(len(statements))
        return made

    requests = [
        ("GET", "/", None),
        ("GET", "/?q=filler0&page=1", None),
        ("POST", "/pick", {"accounts": ["filler00", "filler02"], "page": "1", "text": "draft"}),
        ("GET", "/api/accounts", None),
    ]
    seed_many(seed, 3)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            run(*requests)  # (a first request may set up what later ones reuse)
            few = run(*requests)
            seed_many(seed, 37, start=3)
            many = run(*requests)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert many == few, (few, many)
    assert few[0] <= 3  # the counts, the page and nothing per account


@pytest.mark.stand_in_vectors
def test_chosen_values_that_are_no_handles_are_left_out_before_any_query(client, seed):
    """A NUL would make PostgreSQL refuse the query (a 500): such values are dropped, the rest kept."""
    seed_many(seed, 3)
    hostile = ["\x00", "filler01", "<script>x</script>", "x" * 5000, "Sen\x00Warren", "@filler02", "filler01"]
    answer = client.post("/pick", data={"accounts": hostile, "page": "1", "q": "a\x00"})
    assert answer.status_code == 400  # the search: refused with its message, the page shown
    html = answer.get_data(as_text=True)
    assert "null character" in html
    assert checkboxes(html, "chosen") == [("filler01", True), ("filler02", True)]
    assert client.post("/pick", data={"accounts": hostile, "page": "\x00"}).status_code == 200
