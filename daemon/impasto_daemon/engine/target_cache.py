"""Style Gram targets kept across jobs: the daemon is warm so a repeated style costs nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable

import numpy as np
import torch

from ..bounded_cache import BoundedCache

Targets = dict[str, torch.Tensor]


def pixels_key(pixels: np.ndarray) -> str:
    """Content hash of an image: identical pixels share targets whatever their origin."""
    digest = hashlib.sha256(np.ascontiguousarray(pixels).data)
    digest.update(repr(pixels.shape).encode())
    return digest.hexdigest()


class TargetCache(BoundedCache[Hashable, Targets]):
    """A least-recently-used map bounded by the bytes its tensors occupy."""

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        super().__init__(max_bytes, _nbytes)


def _nbytes(targets: Targets) -> int:
    return sum(t.numel() * t.element_size() for t in targets.values())
