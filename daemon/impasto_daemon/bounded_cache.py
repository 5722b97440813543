"""One least-recently-used map bounded by bytes (and optionally by count), shared by the
daemon's caches: decoded style files, finished job outcomes and the engine's style targets.

Thread-safe. An entry larger than the whole budget is not kept (``put`` returns False), so one
huge value can never flush everything else. ``on_evict`` hears about every entry pushed out to
make room, e.g. to leave a tombstone behind.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """``get``/``put``/``pop`` with LRU eviction once ``max_bytes`` or ``max_items`` is passed."""

    def __init__(self, max_bytes: int, size_of: Callable[[V], int], *,
                 max_items: int | None = None,
                 on_evict: Callable[[K, V], None] | None = None) -> None:
        self.max_bytes, self.max_items = max_bytes, max_items
        self._size_of, self._on_evict = size_of, on_evict
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        """The value (now the most recently used), or None; counts a hit or a miss."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[0]

    def peek(self, key: K) -> V | None:
        """The value without touching its age or the counters."""
        with self._lock:
            found = self._items.get(key)
            return None if found is None else found[0]

    def put(self, key: K, value: V) -> bool:
        """Keep ``value`` (replacing any under ``key``); False when it alone exceeds the budget."""
        size = self._size_of(value)
        if size > self.max_bytes:
            return False
        evicted: list[tuple[K, V]] = []
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while self._items and (self._bytes > self.max_bytes or (
                    self.max_items is not None and len(self._items) > self.max_items)):
                old_key, (old_value, old_size) = self._items.popitem(last=False)
                self._bytes -= old_size
                evicted.append((old_key, old_value))
        if self._on_evict is not None:
            for old_key, old_value in evicted:
                self._on_evict(old_key, old_value)
        return True

    def pop(self, key: K) -> V | None:
        with self._lock:
            found = self._items.pop(key, None)
            if found is None:
                return None
            self._bytes -= found[1]
            return found[0]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes
