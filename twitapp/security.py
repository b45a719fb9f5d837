"""What makes the app safe on the open internet, in one place; ``create_app`` calls ``register_security``.

* The client's real address and scheme: ProxyFix trusts ``X-Forwarded-For`` and ``X-Forwarded-Proto``
  from exactly ``TRUSTED_PROXIES`` proxies (by default 1 on Heroku, its router; else 0).
* The ``Host`` header: with ``TRUSTED_HOSTS`` set, Flask answers any other host with a 400, so a forged
  host never reaches a redirect or an absolute URL of the API.
* Headers on every response: a Content-Security-Policy with no inline script or style, nosniff,
  Referrer-Policy, no framing, and HSTS when the request came over HTTPS.
* Session cookie Secure (production only: not under ``--debug`` or in tests over http), HttpOnly, SameSite.
* Request bodies: ``MAX_REQUEST_KB`` for every route but the upload (which has ``MAX_UPLOAD_MB``).
* Rate limits per client address (Flask-Limiter, ``extensions.limiter``): :func:`rate_limited` on the
  views that spend the X API quota, the CPU or the disk; a 429 page or JSON with ``Retry-After``.
* The admin password (:func:`admin_required`) for deleting and bulk actions; without ``ADMIN_PASSWORD``
  those actions are off and their buttons hidden. Compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import wraps

from flask import Flask, Request, current_app, request
from flask_limiter.errors import RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from .exceptions import AdminRefused
from .extensions import limiter
from .formatting import human_duration
from .redis_client import connection_options
from .responses import error_response

#: Endpoints that accept a file upload (up to MAX_UPLOAD_MB); every other body is held to MAX_REQUEST_KB.
UPLOAD_ENDPOINTS = frozenset({"web.import_file", "api.import_file"})
#: Endpoints that take up to 200 posts at once (or a small file of them): up to PREDICT_BODY_KB.
PREDICT_ENDPOINTS = frozenset({"web.predict", "api.predict"})
#: 200 posts of 280 characters, each written as a 12-byte JSON escape pair, with room to spare
PREDICT_BODY_KB = 1024
ADMIN_FIELD = "admin_password"  # the form field of the delete and demo buttons
ADMIN_HEADER = "X-Admin-Password"  # the same for a JSON client

#: Where profile pictures are shown from: X's and Bluesky's image hosts. Other platforms' pictures (each
#: Mastodon instance has its own host) show as initials, so the CSP names no host a stranger chose.
PICTURE_HOSTS = ("https://pbs.twimg.com", "https://cdn.bsky.app")
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: " + " ".join(PICTURE_HOSTS),
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def register_security(app: Flask) -> None:
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    if app.debug:  # `flask --debug run` serves http://127.0.0.1: a Secure cookie would never come back
        app.config["SESSION_COOKIE_SECURE"] = False
    app.request_class = BoundedRequest
    _accept_heroku_redis_certificate(app)
    limiter.init_app(app)
    app.after_request(_security_headers)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)

    @app.context_processor
    def _admin():
        return {"admin_enabled": admin_enabled(), "admin_field": ADMIN_FIELD}


def _accept_heroku_redis_certificate(app: Flask) -> None:
    """The limiter's Redis client takes the queue's connection options (``redis_client``): unverified,
    every count would fail on Heroku Redis, and with errors swallowed nothing would be limited at all."""
    options = connection_options(str(app.config.get("RATELIMIT_STORAGE_URI") or ""))
    if options:
        app.config["RATELIMIT_STORAGE_OPTIONS"] = options | app.config.get("RATELIMIT_STORAGE_OPTIONS", {})


def _security_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    seconds = current_app.config.get("HSTS_SECONDS") or 0
    if request.is_secure and seconds > 0:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={seconds}; includeSubDomains")
    return response


class BoundedRequest(Request):
    """A request whose body limit depends on the route: the upload's, or MAX_REQUEST_KB."""

    _override: int | None = None

    @property
    def max_content_length(self) -> int | None:
        if self._override is not None:
            return self._override
        config = current_app.config
        upload = config.get("MAX_CONTENT_LENGTH")
        if self.endpoint in UPLOAD_ENDPOINTS:
            return upload
        small = (PREDICT_BODY_KB if self.endpoint in PREDICT_ENDPOINTS else config.get("MAX_REQUEST_KB") or 64) * 1024
        return min(small, upload) if upload else small

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._override = value


def body_limit_message() -> str:
    """The 413 message: what was too large, and the limit of this route."""
    limit = request.max_content_length or 0
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{max(limit // 1024, 1)} KB"
    if request.endpoint in UPLOAD_ENDPOINTS:
        return f"The upload is larger than this server accepts ({size} at most)."
    if request.endpoint in PREDICT_ENDPOINTS:
        return f"The request is larger than this server accepts ({size} at most): send at most 200 posts."
    return f"The request is larger than this server accepts ({size} at most); a tweet has at most 280 characters."


# --- rate limits -------------------------------------------------------------------------------------


def rate_limited(setting: str, scope: str):
    """Decorator: the limits in setting ``setting`` (e.g. "5 per minute;50 per day"), per client address,
    shared by every view decorated with the same ``scope``."""
    return limiter.shared_limit(lambda: current_app.config[setting], scope=scope)


def _too_many_requests(exc: RateLimitExceeded):
    current = limiter.current_limit
    retry_after = max(1, current.reset_at - int(time.time())) if current is not None else 60
    current_app.logger.warning(
        "",
        extra={
            "fields": {
                "event": "rate_limited",
                "endpoint": request.endpoint,
                "limit": str(exc.limit.limit),
                "remote_addr": request.remote_addr,
                "retry_after": retry_after,
            }
        },
    )
    message = (
        f"Too many requests from your address (at most {exc.limit.limit}). Try again in {human_duration(retry_after)}."
    )
    return error_response(message, 429, {"Retry-After": str(retry_after)})


# --- admin password ----------------------------------------------------------------------------------


def admin_enabled() -> bool:
    return bool(current_app.config.get("ADMIN_PASSWORD"))


def admin_password_ok(given: str | None) -> bool:
    """True when ``given`` is the admin password. Constant time: both sides are hashed to the same length
    first, so neither the content nor the length of the password shows in the timing."""
    expected = current_app.config.get("ADMIN_PASSWORD")
    if not expected:
        return False
    given_digest = hashlib.sha256((given or "").encode("utf-8", "surrogatepass")).digest()
    expected_digest = hashlib.sha256(expected.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(given_digest, expected_digest) and bool(given)


def admin_permission(given: str | None, action: str) -> bool:
    """Whether an optional admin password grants ``action``: False when none is given; AdminRefused
    (logged like a refused admin action) when one is given and wrong, so a typo is not silently ignored."""
    if not given:
        return False
    if not admin_enabled():
        raise AdminRefused(f"{action} is turned off on this server (no ADMIN_PASSWORD is set).")
    if not admin_password_ok(given):
        _log_admin_refused(password_given=True)
        raise AdminRefused(f"{action} needs the admin password; the one given was wrong. Nothing was imported.")
    return True


def _log_admin_refused(password_given: bool) -> None:
    current_app.logger.warning(
        "",
        extra={
            "fields": {
                "event": "admin_refused",
                "endpoint": request.endpoint,
                "remote_addr": request.remote_addr,
                "password_given": password_given,
            }
        },
    )


def admin_required(action: str):
    """Decorator for a view that deletes or acts in bulk: it needs the admin password, from the form
    field ``admin_password`` or the header ``X-Admin-Password``. ``action`` names it in messages."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not admin_enabled():
                return error_response(f"{action} is turned off on this server (no ADMIN_PASSWORD is set).", 403)
            given = request.headers.get(ADMIN_HEADER) or request.form.get(ADMIN_FIELD)
            if not admin_password_ok(given):
                _log_admin_refused(password_given=bool(given))
                return error_response(f"{action} needs the admin password; it was missing or wrong.", 403)
            return view(*args, **kwargs)

        return wrapper

    return decorator
