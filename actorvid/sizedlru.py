"""A thread-safe least-recently-used map bounded by the bytes of what it holds.

Shared by the caches that keep bytes between requests or scenes: rendered answers
(``api/answers.py``) and photos cut to a model's shape (``providers/replicate.py``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SizedLRU(Generic[K, V]):
    """At most ``max_bytes`` of values (each counted by ``size_of``); the least recently used
    goes first. A value over ``max_item_bytes`` (default: the whole bound) is not kept, so one
    huge value never evicts everything else."""

    def __init__(self, max_bytes: int, *, size_of: Callable[[V], int],
                 max_item_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_item_bytes = max_bytes if max_item_bytes is None else max_item_bytes
        self._size_of = size_of
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._bytes = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> None:
        size = self._size_of(value)
        if size > self.max_item_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= self._size_of(old)
            self._entries[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= self._size_of(evicted)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)
