"""Small synthetic pictures for tests (a plain module: conftest names collide across folders)."""

from __future__ import annotations

import numpy as np


def smooth_image(rng: np.random.Generator, h: int, w: int, c: int = 3) -> np.ndarray:
    """A blurry random picture: gradients plus blobs, closer to a photo than white noise."""
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(6 * x + k) * np.cos(4 * y - k) for k in range(c)], axis=2)
    base += 0.3 * rng.standard_normal((h, w, c))
    base = (base - base.min()) / (base.max() - base.min())
    return (base * 255).astype(np.uint8)
