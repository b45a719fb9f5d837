"""Error pages and JSON errors: a clear message and a fitting status, never a traceback."""

from __future__ import annotations

from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, SecurityError

from .exceptions import HypoTweetError, RateLimited
from .extensions import db
from .responses import MESSAGES, QUEUE_DOWN, error_response
from .security import body_limit_message


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(HypoTweetError)
    def domain_error(exc: HypoTweetError):
        headers = {}
        if isinstance(exc, RateLimited) and exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
        return error_response(exc.message, exc.status, headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = MESSAGES.get(exc.code or 500) or exc.description or exc.name
        if exc.code == 413:
            message = body_limit_message()
        if isinstance(exc, SecurityError):  # a Host header outside TRUSTED_HOSTS
            message = "This server does not answer for that host name."
        if exc.code == 400 and exc.description and "CSRF" in exc.description:
            message = "The form expired or was sent from elsewhere (CSRF check failed). Reload the page and try again."
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return error_response(message, exc.code or 500, headers)

    @app.errorhandler(OperationalError)
    def database_down(exc: OperationalError):
        app.logger.error("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
        try:
            db.session.rollback()
        except OperationalError:
            pass
        return error_response(MESSAGES[503], 503, {"Retry-After": "30"})

    def queue_down(exc: Exception):
        """Redis (the job queue) unreachable: a 503 to retry shortly."""
        app.logger.error("job queue unavailable: %s", type(exc).__name__)
        return error_response(QUEUE_DOWN, 503, {"Retry-After": "15"})

    app.register_error_handler(RedisConnectionError, queue_down)
    app.register_error_handler(RedisTimeoutError, queue_down)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response(MESSAGES[500], 500)
