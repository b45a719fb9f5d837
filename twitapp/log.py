"""Structured logs: one ``key=value`` line per event, with the request id, and secrets redacted.

Every line of the app's logger looks like::

    ts=2024-05-01T12:00:00.123Z level=info logger=twitapp request_id=5f0c... event=request method=POST
    path=/predict status=200 ms=41

A request id is taken from an incoming ``X-Request-ID`` header when it is sane (Heroku's router sets one),
or made here, and echoed in the response's ``X-Request-ID``. The formatter replaces every secret the app
knows (SECRET_KEY, X_BEARER_TOKEN, ADMIN_PASSWORD, the database and Redis passwords) with ``[redacted]``
in the whole line, traceback included: a secret that slips into an exception message never reaches a log.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from flask import Flask, g, has_request_context, request

HANDLER_NAME = "hypotweet"
REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
REDACTED = "[redacted]"
_BARE = re.compile(r"^[^\s\"=\\]+$")
# user:password@ in any URL (a database or Redis URL in an exception message), known to the app or not
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@")


def request_id() -> str | None:
    """The current request's id, or None outside a request."""
    if not has_request_context():
        return None
    return g.get("request_id")


def secrets_of(config) -> list[str]:
    """Every secret value in the settings, in the forms it may be printed (raw and URL-quoted)."""
    values = [config.get("SECRET_KEY"), config.get("X_BEARER_TOKEN"), config.get("ADMIN_PASSWORD")]
    for key in ("SQLALCHEMY_DATABASE_URI", "DATABASE_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI"):
        values.append(_url_password(config.get(key)))
    found: set[str] = set()
    for value in values:
        if isinstance(value, str) and len(value) >= 3:
            found.update({value, quote(value, safe=""), unquote(value)})
    return sorted((v for v in found if len(v) >= 3), key=len, reverse=True)  # longest first


def _url_password(url) -> str | None:
    if not isinstance(url, str) or "://" not in url:
        return None
    netloc = url.split("://", 1)[1].split("/", 1)[0]
    if "@" not in netloc:
        return None
    userinfo = netloc.rsplit("@", 1)[0]
    return userinfo.split(":", 1)[1] if ":" in userinfo else None


def _value(value) -> str:
    text = str(value)
    if text and _BARE.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


class KeyValueFormatter(logging.Formatter):
    """``key=value`` lines; ``extra={"fields": {...}}`` adds keys; secrets become ``[redacted]``."""

    def __init__(self, secrets: list[str] | None = None):
        super().__init__()
        self.secrets = list(secrets or [])

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        fields: dict[str, object] = {
            "ts": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        rid = getattr(record, "request_id", None) or request_id()
        if rid:
            fields["request_id"] = rid
        fields.update(getattr(record, "fields", None) or {})
        message = record.getMessage()
        if message:
            fields["msg"] = message
        if record.exc_info:
            fields["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            fields["exc"] = record.exc_text or self.formatException(record.exc_info)
        line = " ".join(f"{key}={_value(value)}" for key, value in fields.items() if value is not None)
        return self.redact(line)

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + "@", text)


class RedactingFilter(logging.Filter):
    """On the app's logger: the record itself is redacted (message and traceback text), so that any other
    handler attached to the logger (a test's log capture, an APM agent) never sees a secret either."""

    def __init__(self, secrets: list[str]):
        super().__init__(HANDLER_NAME)
        self.secrets = secrets
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` (so gunicorn, Heroku and test capture all see it)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stderr

    @stream.setter
    def stream(self, value):
        self._stream = value if value is not sys.stderr else None


def configure_logging(app: Flask) -> logging.Handler:
    """Give the app's logger one structured handler (replacing Flask's default) and log each request."""
    from flask.logging import default_handler

    logger = app.logger
    logger.removeHandler(default_handler)
    for old in [h for h in logger.handlers if h.get_name() == HANDLER_NAME]:
        logger.removeHandler(old)
    handler = _StderrHandler()
    handler.set_name(HANDLER_NAME)
    secrets = secrets_of(app.config)
    handler.setFormatter(KeyValueFormatter(secrets))
    logger.addHandler(handler)
    for old_filter in [f for f in logger.filters if isinstance(f, RedactingFilter)]:
        logger.removeFilter(old_filter)
    logger.addFilter(RedactingFilter(secrets))
    logger.setLevel(app.config.get("LOG_LEVEL") or "INFO")
    logger.propagate = False
    for name in ("flask-limiter",):  # the limiter's warnings (storage down) as structured lines too
        other = logging.getLogger(name)
        other.handlers = [h for h in other.handlers if h.get_name() != HANDLER_NAME] + [handler]
        other.propagate = False

    def _start():
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    # First of all before-request hooks: a request refused by the CSRF check still gets its id.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    @app.after_request
    def _finish(response):
        rid = g.get("request_id")
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        started = g.get("request_started")
        app.logger.info(
            "",
            extra={
                "fields": {
                    "event": "request",
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
                    "remote_addr": request.remote_addr,
                }
            },
        )
        return response

    return handler
