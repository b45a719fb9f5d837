"""Per-process collaborators of the services (embedder, model cache, X client), kept on the app.

Nothing here is built at import time: the spaCy model loads on the first embedding, the X client on
the first call that needs it.
"""

from __future__ import annotations

from flask import Flask, current_app

from .services.embedding import Embedder
from .services.model_cache import ModelCache
from .sources.bluesky import BlueskyClient
from .sources.x import XClient

KEY = "hypotweet"


def init_runtime(app: Flask) -> None:
    app.extensions[KEY] = {
        "embedder": Embedder(app.config["SPACY_MODEL"]),
        "models": ModelCache(app.config["MODEL_CACHE_SIZE"]),
    }


def embedder() -> Embedder:
    return current_app.extensions[KEY]["embedder"]


def model_cache() -> ModelCache:
    return current_app.extensions[KEY]["models"]


def x_client() -> XClient:
    """A new X client from the current settings (cheap: tweepy opens no connection until used)."""
    return XClient.from_config(current_app.config)


def bluesky_client() -> BlueskyClient:
    """A new Bluesky client from the current settings (it opens no connection until used)."""
    return BlueskyClient.from_config(current_app.config)


def fetch_client(platform: str) -> XClient | BlueskyClient:
    """The client that reads accounts of ``platform`` (``x`` or ``bluesky``)."""
    return bluesky_client() if platform == "bluesky" else x_client()
