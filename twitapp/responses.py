"""Error answers in the form the client asked for: a JSON ``{"error": ...}`` or the error page.

A leaf module: the error handlers (``errors.py``) and the security checks (``security.py``) both answer
through it, and it imports neither.
"""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask.globals import request_ctx
from flask.typing import ResponseReturnValue

MESSAGES = {
    400: "The request could not be understood.",
    404: "There is nothing at this address.",
    405: "This address does not accept that kind of request.",
    413: "The upload is larger than this server accepts.",
    429: "Too many requests from your address; wait a moment and try again.",
    500: "Something went wrong on our side. It has been logged.",
    503: "The database is not reachable right now. Try again in a minute.",
}
QUEUE_DOWN = "The job queue is not reachable right now, so nothing was started or read. Try again in a minute."


def wants_json() -> bool:
    """True for the JSON API and for clients that prefer JSON to HTML."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(message: str, status: int, headers: dict[str, str] | None = None) -> ResponseReturnValue:
    """``message`` with ``status``, as JSON or as the error page."""
    if wants_json():
        return jsonify(error=message), status, headers or {}
    if request_ctx.url_adapter is None:  # not even routed (a Host outside TRUSTED_HOSTS): a page could link nowhere
        return message, status, {"Content-Type": "text/plain; charset=utf-8"} | (headers or {})
    return render_template("errors/error.html", message=message, status=status), status, headers or {}
