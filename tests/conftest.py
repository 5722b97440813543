"""Shared fixtures: one warm random-weights engine per test session (CPU, tiny images)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def engine():
    from impasto_daemon.engine import StyleEngine

    return StyleEngine(device="cpu", weights="random", models=("vgg19", "vgg16"), seed=0)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def smooth_image(rng: np.random.Generator, h: int, w: int, c: int = 3) -> np.ndarray:
    """A blurry random picture: gradients plus blobs, closer to a photo than white noise."""
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(6 * x + k) * np.cos(4 * y - k) for k in range(c)], axis=2)
    base += 0.3 * rng.standard_normal((h, w, c))
    base = (base - base.min()) / (base.max() - base.min())
    return (base * 255).astype(np.uint8)
