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


def test_usernames_are_unique_case_insensitively(app):
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
