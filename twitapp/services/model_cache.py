"""A bounded, thread-safe cache of fitted models, one per set of accounts and their stored tweets.

The key names every account with its tweet count and newest tweet, so a model is refitted as soon as
any of its accounts gains tweets, and never served stale. At most ``maxsize`` models stay in memory,
least recently used evicted first. Two requests for the same missing key fit once: the second waits.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class ModelCache(Generic[T]):
    def __init__(self, maxsize: int = 8):
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self._fitting: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def get_or_build(self, key: Hashable, build: Callable[[], T]) -> tuple[T, bool]:
        """Return ``(value, was_cached)``, building and storing the value on a miss."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key], True
            key_lock = self._fitting.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:  # built by another thread while this one waited
                    self._items.move_to_end(key)
                    self.hits += 1
                    return self._items[key], True
            try:
                value = build()
            finally:
                with self._lock:
                    self._fitting.pop(key, None)
            with self._lock:
                self.misses += 1
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
            return value, False

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
