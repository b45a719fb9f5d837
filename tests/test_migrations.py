"""The schema comes from the migrations, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from twitapp.extensions import db
from twitapp.models import Account

from .helpers import MIGRATIONS


def test_migrations_build_the_schema_the_models_describe(app):
    with app.app_context():
        inspector = inspect(db.engine)
        assert {"accounts", "tweets", "alembic_version"} <= set(inspector.get_table_names())
        for table in ("accounts", "tweets"):
            columns = {c["name"] for c in inspector.get_columns(table)}
            assert columns == set(db.metadata.tables[table].columns.keys())


def test_usernames_are_unique_per_platform_case_insensitively(app):
    with app.app_context():
        db.session.add(Account(id="1", username="SenWarren", name="Elizabeth Warren"))
        db.session.commit()
        db.session.add(Account(id="2", username="senwarren", name="Impostor"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_tweet_count_migration_backfills_the_counts(make_app, fake_x, seed, tmp_path):
    app = make_app(X_API_URL=fake_x.url)
    seed("SenWarren", ["one", "two", "three"])
    with app.app_context():
        downgrade(directory=str(MIGRATIONS), revision="180b751b4354")
        upgrade(directory=str(MIGRATIONS))
        assert db.session.execute(text("SELECT tweet_count FROM accounts")).scalar_one() == 3
        db.session.add(Account(id="2", username="SENWARREN", name="Impostor"))
        with pytest.raises(IntegrityError):  # the case-insensitive unique index survived the round trip
            db.session.commit()
        db.session.rollback()


def test_rekeying_migration_moves_archive_accounts_and_keeps_every_post(make_app, fake_x):
    """Revision 7e2a4c6b8d10: archive accounts leave the X ids' key space, posts are keyed per account."""
    app = make_app(X_API_URL=fake_x.url)
    with app.app_context():
        downgrade(directory=str(MIGRATIONS), revision="5c1d2e7f9a10")
        insert = "INSERT INTO accounts (id, username, name, description, source, tweet_count, created_at) VALUES "
        db.session.execute(text(insert + "('777', 'alice', 'Alice', '', 'archive', 2, '2022-01-01')"))
        db.session.execute(text(insert + "('888', 'SenWarren', 'E W', '', 'api', 1, '2022-01-01')"))
        row = (
            "INSERT INTO tweets (id, account_id, text, created_at, embedding, embedding_model, embedding_dim) "
            "VALUES (:id, :account, 'post', '2022-01-01', :vector, 'm', 1)"
        )
        for tweet_id, account in (("1", "777"), ("2", "777"), ("3", "888")):
            db.session.execute(text(row), {"id": tweet_id, "account": account, "vector": b"\0\0\0\0"})
        db.session.commit()

        upgrade(directory=str(MIGRATIONS))
        db.session.rollback()
        accounts = dict(db.session.execute(text("SELECT username, id FROM accounts")).all())
        assert accounts == {"alice": "archive:777", "SenWarren": "888"}
        posts = set(db.session.execute(text("SELECT account_id, id FROM tweets")).all())
        assert posts == {("archive:777", "1"), ("archive:777", "2"), ("888", "3")}
        # one post id under two accounts is allowed now, and a post still needs its account
        db.session.execute(text(row), {"id": "3", "account": "archive:777", "vector": b"\0\0\0\0"})
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(text(row), {"id": "9", "account": "nobody", "vector": b"\0\0\0\0"})
            db.session.commit()
        db.session.rollback()
        db.session.execute(text("DELETE FROM accounts WHERE id = 'archive:777'"))  # the cascade survived
        db.session.commit()
        assert db.session.execute(text("SELECT count(*) FROM tweets")).scalar_one() == 1
        db.session.rollback()  # (a migration on PostgreSQL waits for every open transaction on its tables)

        downgrade(directory=str(MIGRATIONS), revision="5c1d2e7f9a10")
        assert db.session.execute(text("SELECT id FROM accounts")).scalars().all() == ["888"]
        db.session.rollback()
        upgrade(directory=str(MIGRATIONS))


def test_platform_migration_makes_every_stored_account_an_x_one_and_goes_back(make_app, fake_x):
    """Revision b4e6a8c0d2f1: accounts carry their platform, handles are unique per platform and longer."""
    app = make_app(X_API_URL=fake_x.url)
    insert = "INSERT INTO accounts (id, username, name, description, source, tweet_count, created_at) VALUES "
    row = (
        "INSERT INTO tweets (id, account_id, text, created_at, embedding, embedding_model, embedding_dim) "
        "VALUES (:id, :account, 'post', '2022-01-01', :vector, 'm', 1)"
    )
    with app.app_context():
        downgrade(directory=str(MIGRATIONS), revision="9b3d5f7a1c20")
        db.session.execute(text(insert + "('888', 'SenWarren', 'E W', '', 'api', 1, '2022-01-01')"))
        db.session.execute(text(insert + "('local:alice', 'alice', 'Alice', '', 'csv', 0, '2022-01-01')"))
        db.session.execute(text(row), {"id": "1", "account": "888", "vector": b"\0\0\0\0"})
        db.session.commit()

        upgrade(directory=str(MIGRATIONS))
        db.session.rollback()
        platforms = dict(db.session.execute(text("SELECT username, platform FROM accounts")).all())
        assert platforms == {"SenWarren": "x", "alice": "x"}
        bluesky = (
            "INSERT INTO accounts (id, platform, username, name, description, source, tweet_count, created_at) "
            "VALUES (:id, 'bluesky', :username, '', '', 'bluesky', 1, '2022-01-01')"
        )
        long_handle = "a-very-long-name-for-a-handle." + "sub." * 10 + "example.com"
        db.session.execute(text(bluesky), {"id": "did:plc:x", "username": long_handle})
        db.session.execute(text(bluesky), {"id": "did:plc:y", "username": "senwarren"})  # (another platform)
        db.session.execute(text(row), {"id": "3kabc", "account": "did:plc:x", "vector": b"\0\0\0\0"})
        db.session.commit()
        with pytest.raises(IntegrityError):  # unique per platform, case-insensitively
            db.session.execute(text(bluesky), {"id": "did:plc:z", "username": long_handle.upper()})
            db.session.commit()
        db.session.rollback()

        downgrade(directory=str(MIGRATIONS), revision="9b3d5f7a1c20")
        db.session.rollback()
        assert sorted(db.session.execute(text("SELECT id FROM accounts")).scalars()) == ["888", "local:alice"]
        assert db.session.execute(text("SELECT account_id FROM tweets")).scalars().all() == ["888"]
        with pytest.raises(IntegrityError):  # the app-wide unique index is back
            db.session.execute(text(insert + "('2', 'SENWARREN', 'Impostor', '', 'api', 0, '2022-01-01')"))
            db.session.commit()
        db.session.rollback()
        upgrade(directory=str(MIGRATIONS))
        assert db.session.execute(text("SELECT platform FROM accounts WHERE id = '888'")).scalar_one() == "x"
        db.session.rollback()
