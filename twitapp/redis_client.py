"""The app's Redis: one client per process and URL, and the connection options every user of it shares
(the job queue, the rate limiter)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import current_app

if TYPE_CHECKING:
    from redis import Redis


def connection_options(url: str) -> dict[str, Any]:
    """Options for a client of ``url``: Heroku Redis serves TLS (``rediss://``) with a self-signed
    certificate, which a client must not verify (with verification every call fails)."""
    return {"ssl_cert_reqs": None} if url.startswith("rediss://") else {}


def redis_connection() -> Redis:
    """The current app's Redis client for ``REDIS_URL`` (one per process and URL)."""
    from redis import Redis

    url = current_app.config["REDIS_URL"]
    clients = current_app.extensions.setdefault("hypotweet_redis", {})
    if url not in clients:
        clients[url] = Redis.from_url(url, **connection_options(url))
    return clients[url]
