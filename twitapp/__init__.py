"""HypoTweet: who wrote this post? A Flask app; ``create_app`` builds it.

Nothing heavy happens at import: the spaCy model loads on the first embedding, the X client on first use.
The entry points (``flask``, which reads ``.env`` itself, and ``wsgi.py`` for gunicorn) load ``.env``.
"""

from __future__ import annotations

import os
import secrets

import click
from flask import Flask

from .config import Config, database_url, engine_options

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "migrations")


def create_app(config: Config | None = None) -> Flask:
    """Build the app: settings, logging, extensions, blueprints, security, commands, error pages."""
    app = Flask(__name__, instance_relative_config=True)
    configure(app, config or Config())
    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_security(app)
    register_commands(app)
    register_error_handlers(app)
    return app


def configure(app: Flask, config: Config) -> None:
    config.validate(debug=app.debug, serving=serves_requests())
    app.config.from_object(config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(config.DATABASE_URL, app.instance_path)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], config, serving=serves_requests()
    )
    if not app.config["EMBED_PROCESSES"]:  # a web worker embeds a question in its own process
        app.config["EMBED_PROCESSES"] = 1 if serves_requests() else os.cpu_count() or 1
    if app.config.get("SECRET_KEY") is None:  # debug or a CLI command: validate() refused a production server
        app.config["SECRET_KEY"] = secrets.token_hex(32)


def serves_requests() -> bool:
    """False when a Flask CLI command other than ``flask run`` builds the app (it signs no cookie)."""
    context = click.get_current_context(silent=True)
    return context is None or context.info_name == "run"


def configure_logging(app: Flask) -> None:
    """Structured ``key=value`` lines with the request id, secrets redacted: see log.py."""
    from .log import configure_logging as configure

    configure(app)


def register_extensions(app: Flask) -> None:
    from .extensions import csrf, db, enable_sqlite_foreign_keys, migrate
    from .runtime import init_runtime

    db.init_app(app)
    with app.app_context():
        enable_sqlite_foreign_keys(db.engine)
    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)
    init_runtime(app)


def register_blueprints(app: Flask) -> None:
    from .api import bp as api_bp
    from .extensions import csrf
    from .web import bp as web_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp, url_prefix="/api")
    csrf.exempt(api_bp)


def register_security(app: Flask) -> None:
    """Proxy headers, security headers, cookies, body limits, rate limits: see security.py."""
    from .security import register_security as register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import accounts_cli, demo, import_cli, worker

    app.cli.add_command(accounts_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(demo)
    app.cli.add_command(worker)


def register_error_handlers(app: Flask) -> None:
    from .errors import init_error_handlers

    init_error_handlers(app)
