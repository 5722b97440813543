"""Fixtures for the real-GIMP tests (see harness.py for the API).

``gimp``          session-scoped, warmed ``GimpRunner`` (one profile per pytest process/worker)
``gimp_install``  what get_gimp.sh provided (``.mode``, ``.root``)
``gimp_harness``  the harness module itself (``GimpBatchError``, ``REPO_ROOT``, ...)
``daemon``, ``impasto``  the plug-in tests' real daemon and GIMP profile (see plugin_fixtures.py)

The GIMP root is built on first use by tests/gimp/get_gimp.sh (about a minute from scratch, a few
seconds from its cached tarball). Tests are skipped only when this process can neither run as
root nor create a user namespace; any other failure to get GIMP is an error, not a skip.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from plugin_fixtures import daemon, impasto  # noqa: E402, F401  (one per session, not per module)


def pytest_collection_modifyitems(config, items):
    # Everything in this folder needs a real GIMP.
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.gimp)


@pytest.fixture(scope="session")
def gimp_harness():
    return harness


@pytest.fixture(scope="session")
def gimp_install() -> harness.GimpInstall:
    ok, why = harness.can_run()
    if not ok:
        if os.geteuid() != 0:
            pytest.skip(f"real-GIMP tests need root or user namespaces: {why}")
        pytest.fail(f"cannot run GIMP as root here: {why}")
    return harness.ensure_gimp()


@pytest.fixture(scope="session")
def gimp(gimp_install):
    runner = harness.GimpRunner(gimp_install)
    try:
        runner.warm()
        yield runner
    finally:
        runner.close()
