"""Fixtures for the install.sh tests: a temporary HOME, the real GIMP's profile, and a "GIMP
Python" that lacks zmq and msgpack.

``install_home``   a fresh HOME (+ XDG_RUNTIME_DIR) and the environment install.sh runs in: no
                   GPU, no internet except the package registries, the wheel cache shared with
                   later runs (~/.cache/impasto/wheels) so that reruns work offline and fast
``gimp_runner``    a ``GimpRunner`` of its own (tests/gimp/harness.py): its ``.profile`` is the
                   GIMP 3 profile install.sh installs into; ``install_home`` is visible inside
                   GIMP's root, as a user's HOME is to a distribution GIMP (the daemon
                   configuration and the weights live there)
``gimp_python``    a wrapper script that runs the GIMP root's own python3 with the Debian
                   python3-zmq/python3-msgpack hidden, exactly as the harness hides them from GIMP
                   (``hide_python_modules``): install.sh must notice and vendor wheels for 3.13
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from install_helpers import (
    HERE,
    HIDDEN,
    REPO,
    VENV,
    Home,
    harness,
    make_home,
    venv_is_editable_checkout,
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "install_slow: ./install.sh from nothing (torch download, minutes, GBs); runs "
                   "only with IMPASTO_SLOW_INSTALL=1 (benchmarks/slow_install.sh)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents and \
                "gimp_runner" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gimp)


@pytest.fixture(scope="module")
def install_home(tmp_path_factory) -> Home:
    if not venv_is_editable_checkout():
        pytest.skip(f"{VENV} is not an editable install of {REPO} (install.sh would pip "
                    "install into it)")
    return make_home(tmp_path_factory.mktemp("install"))


@pytest.fixture(scope="module")
def gimp_runner(install_home):
    ok, why = harness.can_run()
    if not ok:
        pytest.skip(f"real-GIMP tests need root or user namespaces: {why}")
    runner = harness.GimpRunner(harness.ensure_gimp(), timeout=240,
                                binds=[REPO, sys.prefix, sys.base_prefix, install_home.home])
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture(scope="module")
def gimp_python(gimp_runner) -> Path:
    """GIMP's python3 without zmq/msgpack. Uses the harness's own namespace+mount recipe
    (``_hide_farm``/``_command``) so it hides exactly what ``hide_python_modules`` hides."""
    farm = gimp_runner._hide_farm(HIDDEN)
    cmd = gimp_runner._command(["python3"], {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, farm)
    script = gimp_runner.xchg.parent / "gimp-python-without-zmq"
    script.write_text("#!/bin/sh\n# the GIMP root's python3 with zmq and msgpack hidden\n"
                      f"exec {shlex.join(cmd)} \"$@\"\n")
    script.chmod(0o755)
    return script
