"""Per-process collaborators of the services (embedder, model cache, X client), kept on the app.

Nothing here is built at import time: the spaCy model loads on the first embedding, the X client on
the first call that needs it.
"""

from __future__ import annotations

import os

from flask import Flask, current_app

from .redis_client import connection_options, redis_connection
from .services.embedding import Embedder
from .services.model_cache import ModelCache
from .services.model_store import FolderStore, ModelStore, RedisStore, SignedModels
from .services.x_budget import Counter, DatabaseCounter, RedisCounter, XBudget, utc_now
from .sources.bluesky import BlueskyClient
from .sources.mastodon import MastodonClient
from .sources.x import XClient

KEY = "hypotweet"


def init_runtime(app: Flask) -> None:
    app.extensions[KEY] = {
        "embedder": Embedder(app.config["SPACY_MODEL"], app.config["EMBED_PROCESSES"]),
        "models": ModelCache(app.config["MODEL_CACHE_SIZE"], shared_models(app)),
    }


def shared_models(app: Flask) -> SignedModels | None:
    """The store every process shares fitted models through: Redis with ``REDIS_URL``, else the instance
    folder; None when ``MODEL_STORE_MB`` is 0."""
    limit = app.config["MODEL_STORE_MB"] * 1024 * 1024
    if not limit:
        return None
    url = app.config.get("REDIS_URL")
    store: ModelStore
    if url:
        from redis import Redis

        store = RedisStore(Redis.from_url(url, socket_timeout=5, **connection_options(url)), limit)
    else:
        store = FolderStore(app.config.get("MODEL_STORE_FOLDER") or os.path.join(app.instance_path, "models"), limit)
    return SignedModels(store, app.config["SECRET_KEY"])


def embedder() -> Embedder:
    return current_app.extensions[KEY]["embedder"]


def model_cache() -> ModelCache:
    return current_app.extensions[KEY]["models"]


def x_client() -> XClient:
    """A new X client from the current settings, counting its reads against the day's budget (cheap: tweepy
    opens no connection until used)."""
    return XClient.from_config(current_app.config, x_budget())


def x_budget() -> XBudget:
    """The daily cap on posts read from X, counted in Redis with ``REDIS_URL``, else in the database; its
    clock is ``app.extensions[KEY]["clock"]`` when set (tests), else the system's."""
    from .extensions import db

    counter: Counter
    counter = RedisCounter(redis_connection()) if current_app.config.get("REDIS_URL") else DatabaseCounter(db.engine)
    clock = current_app.extensions[KEY].get("clock") or utc_now
    return XBudget(counter, current_app.config.get("X_MAX_READS_PER_DAY"), clock)


def bluesky_client() -> BlueskyClient:
    """A new Bluesky client from the current settings (it opens no connection until used)."""
    return BlueskyClient.from_config(current_app.config)


def mastodon_client() -> MastodonClient:
    """A new Mastodon client from the current settings (it opens no connection until used)."""
    return MastodonClient.from_config(current_app.config)


def fetch_client(platform: str) -> XClient | BlueskyClient | MastodonClient:
    """The client that reads accounts of ``platform`` (``x``, ``bluesky`` or ``mastodon``)."""
    if platform == "mastodon":
        return mastodon_client()
    return bluesky_client() if platform == "bluesky" else x_client()
