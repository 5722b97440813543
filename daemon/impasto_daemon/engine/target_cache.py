"""Style Gram targets kept across jobs: the daemon is warm so a repeated style costs nothing."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np
import torch

Targets = dict[str, torch.Tensor]


def pixels_key(pixels: np.ndarray) -> str:
    """Content hash of an image: identical pixels share targets whatever their origin."""
    digest = hashlib.sha256(np.ascontiguousarray(pixels).data)
    digest.update(repr(pixels.shape).encode())
    return digest.hexdigest()


class TargetCache:
    """A least-recently-used map bounded by the bytes its tensors occupy."""

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, Targets] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Targets | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Hashable, targets: Targets) -> None:
        size = sum(t.numel() * t.element_size() for t in targets.values())
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= _nbytes(old)
            self._items[key] = targets
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= _nbytes(evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes


def _nbytes(targets: Targets) -> int:
    return sum(t.numel() * t.element_size() for t in targets.values())
