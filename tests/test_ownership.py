"""Issue 17, findings 1-3, 5, 6 and 13: no upload can forge, rename, block or squat another account's data;
counts and model-cache keys follow what is really stored, even when two stores race."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from twitapp import runtime
from twitapp.exceptions import AccountConflict, AccountDeleted
from twitapp.extensions import db
from twitapp.models import Account, Tweet
from twitapp.services.ingest import AccountData, NewTweet, ingest_from_x, store
from twitapp.services.prediction import cache_key

from .archive_factory import archive_tweet, build_archive
from .helpers import ADMIN, counts, stored

CSV_HEAD = "author,tweet_id,created_at,text\n"
DONE = (200, 303)  # stored: the page, or the redirect to it


def csv_rows(author: str, ids, word: str = "forged") -> bytes:
    lines = [
        f"{author},{i},2022-05-0{1 + n % 9}T10:00:00Z,{word} post number {n} about the farm bill"
        for n, i in enumerate(ids)
    ]
    return (CSV_HEAD + "\n".join(lines) + "\n").encode()


def upload(client, content: bytes, filename: str, **fields):
    data = {"file": (io.BytesIO(content), filename), **fields}
    return client.post("/import", data=data, content_type="multipart/form-data", headers={"Accept": "text/html"})


def add_from_x(app, fake_x, username: str, n: int = 20, user_id: str = "4242") -> dict:
    user = fake_x.add_user(username, user_id=user_id, name="The Real One", tweets=fake_x.make_tweets(n))
    with app.app_context():
        ingest_from_x(db.session, runtime.x_client(), runtime.embedder(), username, 3200)
    return user


def snapshot(app, username: str) -> tuple:
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.username == username)).one()
        texts = sorted(db.session.scalars(select(Tweet.text).where(Tweet.account_id == account.id)))
        return (account.id, account.username, account.name, account.source, account.tweet_count, texts)


# --- finding 1: a CSV naming an existing account ------------------------------------------------------


def test_a_csv_cannot_add_posts_to_an_account_read_from_x(app, client, fake_x):
    add_from_x(app, fake_x, "SenWarren")
    before = snapshot(app, "SenWarren")
    for fields in ({}, {"admin_password": ADMIN}):  # not even with the admin password: X data is X's only
        response = upload(client, csv_rows("SenWarren", range(1, 31)), "forged.csv", **fields)
        assert response.status_code == 409
        page = response.get_data(as_text=True)
        assert "added from X" in page and "Nothing was imported" in page
    assert snapshot(app, "SenWarren") == before


def test_a_csv_cannot_add_to_a_stored_csv_or_demo_account_without_the_admin_password(app, client, seed):
    seed("farmer", ["one real post", "another real post"], source="csv")
    seed("demoacct", ["a demo post", "and another"], source="demo")
    for handle in ("farmer", "demoacct"):
        before = snapshot(app, handle)
        response = upload(client, csv_rows(handle, range(1, 6)), "more.csv")
        assert response.status_code == 409
        assert "needs the admin password" in response.get_data(as_text=True)
        assert snapshot(app, handle) == before


def test_the_admin_password_lets_a_csv_add_to_an_imported_account(app, client, seed):
    seed("farmer", ["one real post", "another real post"], source="csv")
    response = upload(client, csv_rows("farmer", range(1, 6), "more"), "more.csv", admin_password=ADMIN)
    assert response.status_code in DONE
    assert stored(app, "farmer") == 7 and snapshot(app, "farmer")[4] == 7


def test_a_wrong_admin_password_is_refused_and_stores_nothing(app, client, seed):
    seed("farmer", ["one real post", "another real post"], source="csv")
    before = counts(app)
    response = upload(client, csv_rows("newcomer", range(1, 6)), "new.csv", admin_password="guess")
    assert response.status_code == 403 and "was wrong" in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_new_account_needs_no_password(app, client):
    response = upload(client, csv_rows("newcomer", range(1, 6), "fresh"), "new.csv")
    assert response.status_code in DONE
    assert stored(app, "newcomer") == 5


# --- finding 2: an archive carrying another account's X id or handle ------------------------------------


def archive(username: str, account_id: str, n: int = 5, word: str = "archived") -> bytes:
    from datetime import UTC, datetime, timedelta

    start = datetime(2022, 3, 1, tzinfo=UTC)
    tweets = [
        archive_tweet(str(9000 + i), f"{word} post {i} on rural broadband", start + timedelta(days=i)) for i in range(n)
    ]
    return build_archive(username, account_id, f"{username} display", tweets)


def test_an_archive_with_an_x_accounts_id_neither_renames_nor_writes_it(app, client, fake_x):
    add_from_x(app, fake_x, "SenWarren", user_id="4242")
    before = snapshot(app, "SenWarren")
    response = upload(client, archive("impostor", "4242"), "archive.zip")
    # a new account under its own key: the X account keeps its handle, profile and posts
    assert response.status_code in DONE
    assert snapshot(app, "SenWarren") == before
    with app.app_context():
        assert db.session.get(Account, "archive:4242").username == "impostor"
    # and adding from X afterwards is not blocked by the squatted id
    fake_x.add_user("RealOther", user_id="5151", tweets=fake_x.make_tweets(3))
    with app.app_context():
        ingest_from_x(db.session, runtime.x_client(), runtime.embedder(), "RealOther", 3200)
    assert stored(app, "RealOther") == 3


def test_an_archive_cannot_take_a_stored_handle_or_swap_two_accounts(app, client, seed):
    assert upload(client, archive("alice", "111"), "a.zip").status_code in DONE
    assert upload(client, archive("bob", "222"), "b.zip").status_code in DONE
    alice, bob = snapshot(app, "alice"), snapshot(app, "bob")
    seed("carol", ["a csv post", "another csv post"], source="csv")
    attacks = [
        archive("bob", "111"),  # alice's X id with bob's handle: the swap
        archive("alice", "999"),  # alice's handle, another X id
        archive("carol", "333"),  # a CSV account's handle
    ]
    for content in attacks:
        for fields in ({}, {"admin_password": ADMIN}):
            response = upload(client, content, "attack.zip", **fields)
            assert response.status_code == 409, response.get_data(as_text=True)
    assert (snapshot(app, "alice"), snapshot(app, "bob")) == (alice, bob)
    assert counts(app) == (3, 12)


def test_the_admin_may_update_the_archive_account_of_its_x_id_and_it_is_never_renamed(app, client):
    assert upload(client, archive("alice", "111", n=3), "a.zip").status_code in DONE
    refused = upload(client, archive("alice", "111", n=6), "a2.zip")
    assert refused.status_code == 409 and "needs the admin password" in refused.get_data(as_text=True)
    renamed = archive("alice_new", "111", n=6)
    assert upload(client, renamed, "a3.zip", admin_password=ADMIN).status_code in DONE
    account_id, username, *_, count, _texts = snapshot(app, "alice")
    assert (account_id, username, count) == ("archive:111", "alice", 6)


# --- finding 3: post ids are keys within an account --------------------------------------------------


def test_a_csv_reusing_an_x_accounts_post_ids_cannot_stop_them_being_fetched(app, client, fake_x):
    user = fake_x.add_user("SenWarren", user_id="4242", tweets=fake_x.make_tweets(12))
    ids = [t["id"] for t in user["tweets"]]
    assert upload(client, csv_rows("squatter", ids), "squat.csv").status_code in DONE
    with app.app_context():
        result = ingest_from_x(db.session, runtime.x_client(), runtime.embedder(), "SenWarren", 3200)
    assert (result.added, result.skipped_duplicates) == (12, 0)
    assert stored(app, "SenWarren") == 12 and stored(app, "squatter") == 12


# --- an X fetch writes only accounts read from X --------------------------------------------------------


def test_adding_from_x_a_handle_held_by_an_upload_is_refused_before_any_tweet_is_read(app, client, fake_x, seed):
    seed("SenWarren", ["an uploaded post", "another uploaded post"], source="csv")
    fake_x.add_user("SenWarren", user_id="4242", tweets=fake_x.make_tweets(30))
    response = client.post("/api/accounts", json={"username": "SenWarren"})
    assert response.status_code == 409
    assert "not from X" in response.get_json()["error"]
    assert not [r for r in fake_x.requests if "/tweets" in r["path"]]  # no paid reads
    assert stored(app, "SenWarren") == 2


# --- findings 5 and 6: counts and cache keys under concurrent stores ------------------------------------


def test_a_store_from_a_stale_session_keeps_the_count_and_moves_the_version(app):
    with app.app_context():
        embedder = runtime.embedder()
        store(
            db.session,
            AccountData(id="local:acct", username="acct", source="csv"),
            [NewTweet(f"a{i}", f"first {i}", _t(i)) for i in range(3)],
            embedder,
        )
        stale = db.session.get(Account, "local:acct")  # this session now holds count 3, version 1
        key_before = cache_key([stale])
        with Session(db.engine) as second:  # another request stores into it meanwhile
            store(
                second,
                AccountData(id="local:acct", username="acct", source="csv"),
                [NewTweet(f"b{i}", f"second {i}", _t(10 + i)) for i in range(4)],
                embedder,
                may_update=True,
            )
        store(
            db.session,
            AccountData(id="local:acct", username="acct", source="csv"),
            [NewTweet(f"c{i}", f"third {i}", _t(20 + i)) for i in range(5)],
            embedder,
            may_update=True,
        )
        account = db.session.get(Account, "local:acct")
        real = db.session.scalar(text("SELECT count(*) FROM tweets WHERE account_id = 'local:acct'"))
        assert account.tweet_count == real == 12
        assert account.content_version == 3 and cache_key([account]) != key_before


def test_the_cache_key_moves_with_the_posts_even_where_an_old_count_did_not(app, seed):
    seed("acct", ["one", "two"])
    with app.app_context():
        account = db.session.get(Account, "local:acct")
        before = cache_key([account])
    seed("acct", ["three"])
    with app.app_context():
        db.session.execute(update(Account).values(tweet_count=2))  # the count of a database from before
        db.session.commit()
        assert cache_key([db.session.get(Account, "local:acct")]) != before


def test_recount_repairs_counts_lost_before(app, runner, seed):
    seed("acct", ["one", "two", "three"])
    with app.app_context():
        db.session.execute(update(Account).values(tweet_count=1, content_version=7))
        db.session.commit()
    result = runner.invoke(args=["accounts", "recount"])
    assert result.exit_code == 0 and "@acct: 1 -> 3 tweets" in result.output and "Repaired 1 account" in result.output
    with app.app_context():
        account = db.session.get(Account, "local:acct")
        assert (account.tweet_count, account.content_version) == (3, 8)
    assert "Repaired 0 accounts" in runner.invoke(args=["accounts", "recount"]).output


# --- finding 13: an account deleted while posts are stored into it ---------------------------------------


def test_deleting_an_account_during_a_store_into_it_is_a_409_and_stores_nothing(app, seed):
    seed("acct", ["one", "two"])
    with app.app_context():
        real = runtime.embedder()

    class DeletingEmbedder:
        model_name = real.model_name

        def embed(self, texts, progress=None):
            with Session(db.engine) as other:  # another request deletes the account meanwhile
                other.execute(text("DELETE FROM tweets WHERE account_id = 'local:acct'"))
                other.execute(text("DELETE FROM accounts WHERE id = 'local:acct'"))
                other.commit()
            return real.embed(texts, progress=progress)

    with app.app_context():
        data = AccountData(id="local:acct", username="acct", source="csv")
        with pytest.raises(AccountDeleted) as refused:
            store(db.session, data, [NewTweet("n1", "new post", _t(5))], DeletingEmbedder(), may_update=True)
        assert refused.value.status == 409 and "was deleted" in refused.value.message
    assert counts(app) == (0, 0)


def test_ownership_refusals_are_conflicts():
    assert issubclass(AccountDeleted, AccountConflict) and AccountConflict.status == 409


def _t(hours: int):
    from datetime import UTC, datetime, timedelta

    return datetime(2022, 1, 1, tzinfo=UTC) + timedelta(hours=hours)


def test_a_rename_read_from_x_gives_a_new_cache_key(app):
    with app.app_context():
        embedder = runtime.embedder()
        posts = [NewTweet(str(i), f"post {i} on the farm bill", _t(i)) for i in range(3)]
        store(db.session, AccountData(id="4242", username="OldName", source="api"), posts, embedder)
        before = cache_key([db.session.get(Account, "4242")])
        store(db.session, AccountData(id="4242", username="NewName", source="api"), posts, embedder)
        account = db.session.get(Account, "4242")
        assert account.username == "NewName" and account.tweet_count == 3
        assert cache_key([account]) != before  # no new post, but a warm worker must not link to @OldName
