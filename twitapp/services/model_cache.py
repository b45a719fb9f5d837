"""A bounded, thread-safe cache of fitted models, one per set of accounts and their stored tweets.

The key names every account with its content version, so a model is refitted as soon as any of its
accounts gains posts, and never served stale. At most ``maxsize`` models stay in memory, least recently
used evicted first. Two requests in this process for the same missing key fit once: the second waits.
Behind it, an optional shared store (:mod:`.model_store`) hands a model fitted by one process to the others.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from .model_store import SignedModels

T = TypeVar("T")
Source = Literal["memory", "shared", "fitted"]  # where a model came from: this process, another, a fit now


class ModelCache(Generic[T]):
    def __init__(self, maxsize: int = 8, shared: SignedModels | None = None):
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.shared = shared
        self.shared_hits = 0
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self._fitting: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def has(self, key: Hashable) -> bool:
        """Whether ``key``'s model is here or in the shared store (a prediction of it needs no fit)."""
        return key in self._items or (self.shared is not None and self.shared.has(key))

    def get_or_build(self, key: Hashable, build: Callable[[], T]) -> tuple[T, bool]:
        """Return ``(value, was_cached)``, building and storing the value on a miss."""
        value, source = self.lookup(key, build)
        return value, source != "fitted"

    def lookup(self, key: Hashable, build: Callable[[], T]) -> tuple[T, Source]:
        """The value of ``key`` and where it came from: this process's memory, the shared store, or
        ``build()`` now (then kept in both)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key], "memory"
            key_lock = self._fitting.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:  # built by another thread while this one waited
                    self._items.move_to_end(key)
                    self.hits += 1
                    return self._items[key], "memory"
            source: Source = "shared"
            try:
                value = self.shared.get(key) if self.shared is not None else None
                if value is None:
                    value, source = build(), "fitted"
                    if self.shared is not None:
                        self.shared.put(key, value)
            finally:
                with self._lock:
                    self._fitting.pop(key, None)
            with self._lock:
                if source == "shared":
                    self.shared_hits += 1
                else:
                    self.misses += 1
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
            return value, source

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
