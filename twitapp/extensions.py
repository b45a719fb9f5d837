"""Extension objects, created once here and bound to an app in ``create_app``."""

from typing import Any, TypeAlias

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

#: The session a service takes: Flask-SQLAlchemy's scoped ``db.session`` (views, CLI, jobs) or a plain one.
DbSession: TypeAlias = Session | scoped_session[Any]
migrate = Migrate()
csrf = CSRFProtect()
# Per client address (the real one: ProxyFix runs first, see security.py). Limits are settings, read per
# request; storage is RATELIMIT_STORAGE_URI (Redis when REDIS_URL is set). Bound in security.register_security.
limiter = Limiter(key_func=get_remote_address, headers_enabled=False, swallow_errors=True, strategy="fixed-window")


def enable_sqlite_foreign_keys(engine) -> None:
    """SQLite ignores ON DELETE CASCADE unless each connection turns foreign keys on."""
    from sqlalchemy import event

    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
