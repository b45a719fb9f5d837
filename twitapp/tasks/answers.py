"""The answers of background predictions: the whole prediction (the result page draws it), kept in Redis an
hour under its job's id, pickled and signed with SECRET_KEY like a shared model (the job's own result is
JSON, which cannot hold the map and the highlighted words)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..redis_client import redis_connection
from ..services.model_store import RedisStore, SignedModels

KEPT_SECONDS = 3600  # long enough to read the answer; the question is not kept longer
MAX_BYTES = 64 * 1024 * 1024  # all answers waiting to be read, least recently used evicted first


def _answers() -> SignedModels:
    store = RedisStore(redis_connection(), MAX_BYTES, prefix="hypotweet:answer:", ttl=KEPT_SECONDS)
    return SignedModels(store, current_app.config["SECRET_KEY"])


def keep(answer_id: str, prediction: Any) -> None:
    _answers().put(answer_id, prediction)


def read(answer_id: str) -> Any | None:
    """The prediction kept under ``answer_id``, or None (not finished, expired, or its signature is wrong)."""
    return _answers().get(answer_id)
