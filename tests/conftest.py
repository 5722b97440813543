"""Shared fixtures: one warm random-weights engine per test session (CPU, tiny images), the
suite's own configuration folder, and a short private folder for tests that put a socket in it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

_OWN_CONFIG: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    """The suite never reads the developer's own Impasto configuration: after ./install.sh
    (the README's first command) ~/.config/impasto/daemon.toml names the installed weights and
    models, and every daemon a test starts would load those. Each test that installs gives
    its own HOME (and XDG_CONFIG_HOME) instead."""
    os.environ.pop("IMPASTO_CONFIG", None)
    _OWN_CONFIG["dir"] = os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(
        prefix="impasto-test-config-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_OWN_CONFIG.pop("dir", ""), ignore_errors=True)


@pytest.fixture
def short_tmp():
    """A private folder with a short path, for tests whose Unix socket lands below it: a socket
    path must fit 100 bytes, and pytest's tmp_path grows with the user's name, the run's number
    and pytest-xdist's worker."""
    root = Path(tempfile.mkdtemp(prefix="imp-", dir="/tmp"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def engine():
    from impasto_daemon.engine import StyleEngine

    return StyleEngine(device="cpu", weights="random", models=("vgg19", "vgg16"), seed=0)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
