"""Fitted models shared by every process: Redis when ``REDIS_URL`` is set, else the instance folder.

A model is pickled, and pickles run code when read, so every stored model is signed with HMAC-SHA256
under ``SECRET_KEY`` and read back only when its signature checks out: a store that someone else can write
(a shared Redis, a folder) can make this app refit, never run their code. Keys carry a digest of the
model's code, so a new release never reads an older release's models. Both stores are bounded, least
recently used evicted first.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import pickle
import time
import zlib
from collections.abc import Hashable
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

SIGNATURE_BYTES = 32  # HMAC-SHA256
COMPRESSION = 1  # zlib's fastest level: a 4 x 3,200-post model's 21 MiB pickle stored in 11
MODEL_CODE = ("authorship", "services/prediction.py", "services/charts.py")  # what a stored model depends on


class ModelStore(Protocol):
    def get(self, name: str) -> bytes | None: ...

    def has(self, name: str) -> bool: ...

    def put(self, name: str, blob: bytes) -> None: ...


class SignedModels:
    """Pickles values into a :class:`ModelStore` under a name derived from their key, signed with ``secret``."""

    def __init__(self, store: ModelStore, secret: str | bytes):
        self.store = store
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self.refused = 0  # stored blobs whose signature did not check out

    def name(self, key: Hashable) -> str:
        return hashlib.sha256(f"{code_digest()}|{key!r}".encode()).hexdigest()

    def get(self, key: Hashable) -> Any | None:
        name = self.name(key)
        try:
            blob = self.store.get(name)
        except Exception as exc:  # a store that fails is a miss: the caller fits
            log.warning("event=model_store_unavailable error=%s", type(exc).__name__)
            return None
        if blob is None:
            return None
        signature, payload = blob[:SIGNATURE_BYTES], blob[SIGNATURE_BYTES:]
        if not hmac.compare_digest(signature, self._sign(name, payload)):
            self.refused += 1
            log.warning("event=model_store_bad_signature name=%s", name[:16])
            return None
        return pickle.loads(zlib.decompress(payload))

    def has(self, key: Hashable) -> bool:
        """Whether a model of ``key`` is stored (unchecked: reading it may still refuse it)."""
        try:
            return self.store.has(self.name(key))
        except Exception:
            return False

    def put(self, key: Hashable, value: Any) -> int:
        """Store ``value``; its size in bytes (0 when the store failed)."""
        name = self.name(key)
        payload = zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), COMPRESSION)
        try:
            self.store.put(name, self._sign(name, payload) + payload)
        except Exception as exc:
            log.warning("event=model_store_unavailable error=%s", type(exc).__name__)
            return 0
        return len(payload)

    def _sign(self, name: str, payload: bytes) -> bytes:
        return hmac.new(self._secret, name.encode() + b"\0" + payload, hashlib.sha256).digest()


class FolderStore:
    """Models as files in a folder (the instance folder's ``models/``), at most ``max_bytes`` in all."""

    def __init__(self, folder: str | Path, max_bytes: int):
        self.folder = Path(folder)
        self.max_bytes = max_bytes

    def get(self, name: str) -> bytes | None:
        path = self.folder / f"{name}.model"
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        os.utime(path)  # recently used
        return blob

    def has(self, name: str) -> bool:
        return (self.folder / f"{name}.model").exists()

    def put(self, name: str, blob: bytes) -> None:
        if len(blob) > self.max_bytes:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{name}.{os.getpid()}.tmp"
        temporary.write_bytes(blob)
        temporary.replace(self.folder / f"{name}.model")  # (atomic: a reader sees all of it or nothing)
        self._evict()

    def _evict(self) -> None:
        files = []
        for path in self.folder.glob("*.model"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size


class RedisStore:
    """Models in Redis under ``prefix``, at most ``max_bytes`` in all, least recently used evicted first
    (a sorted set of names by last use), each expiring after ``ttl`` seconds unused."""

    def __init__(self, redis, max_bytes: int, prefix: str = "hypotweet:model:", ttl: int = 7 * 24 * 3600):
        self.redis = redis
        self.max_bytes = max_bytes
        self.prefix = prefix
        self.ttl = ttl

    def get(self, name: str) -> bytes | None:
        blob = self.redis.get(self.prefix + name)
        if blob is not None:
            with self.redis.pipeline() as pipe:
                pipe.expire(self.prefix + name, self.ttl)
                pipe.zadd(self.prefix + "used", {name: time.time()})
                pipe.execute()
        return blob

    def has(self, name: str) -> bool:
        return bool(self.redis.exists(self.prefix + name))

    def put(self, name: str, blob: bytes) -> None:
        if len(blob) > self.max_bytes:
            return
        with self.redis.pipeline() as pipe:
            pipe.set(self.prefix + name, blob, ex=self.ttl)
            pipe.zadd(self.prefix + "used", {name: time.time()})
            pipe.hset(self.prefix + "sizes", name, len(blob))
            pipe.execute()
        self._evict()

    def _evict(self) -> None:
        sizes = {k.decode(): int(v) for k, v in self.redis.hgetall(self.prefix + "sizes").items()}
        total = sum(sizes.values())
        for raw in self.redis.zrange(self.prefix + "used", 0, -1):  # oldest use first
            if total <= self.max_bytes:
                break
            name = raw.decode()
            with self.redis.pipeline() as pipe:
                pipe.delete(self.prefix + name)
                pipe.zrem(self.prefix + "used", name)
                pipe.hdel(self.prefix + "sizes", name)
                pipe.execute()
            total -= sizes.get(name, 0)


_DIGEST: list[str] = []


def code_digest() -> str:
    """A digest of the source of what a stored model is made of, computed once per process."""
    if not _DIGEST:
        root = Path(__file__).resolve().parents[1]
        digest = hashlib.sha256()
        for part in MODEL_CODE:
            for path in sorted((root / part).rglob("*.py")) if (root / part).is_dir() else [root / part]:
                digest.update(path.name.encode() + path.read_bytes())
        _DIGEST.append(digest.hexdigest()[:16])
    return _DIGEST[0]
