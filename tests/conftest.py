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
