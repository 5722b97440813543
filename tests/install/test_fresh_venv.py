"""install.sh from nothing: it creates its own venv and pip-installs the project (non-editable)
with torch, reuses it on the next run, and --uninstall removes it.

Off by default: it downloads/installs torch (minutes, several GB). The other install tests reuse
the repository's venv instead. Run it with IMPASTO_TEST_FRESH_INSTALL=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from install_helpers import REPO, make_home, run_install, snapshot

pytestmark = pytest.mark.skipif(
    os.environ.get("IMPASTO_TEST_FRESH_INSTALL") != "1",
    reason="installs torch into a new venv (minutes, GBs): set IMPASTO_TEST_FRESH_INSTALL=1")


def test_fresh_install_creates_reuses_and_removes_its_venv(tmp_path):
    # a copy of the checkout, as a fresh clone would be (and safe from edits made meanwhile)
    src = tmp_path / "impasto"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "*.egg-info", "__pycache__", ".*_cache", "build"))
    home = make_home(tmp_path / "user")
    before = snapshot(home.home)
    args = ["--no-weights", "--no-detect", "--no-service"]
    venv = home.home / ".local" / "share" / "impasto" / "venv"
    try:
        proc = run_install(home, args, timeout=3600, script=src / "install.sh")
        assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
        assert "created" in proc.stdout and (venv / "bin" / "impasto-daemon").is_file()
        code = "import impasto_daemon; print(impasto_daemon.__file__)"
        where = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True,
                               text=True, cwd="/", timeout=120).stdout.strip()
        assert where.startswith(str(venv)), f"not a regular install inside the venv: {where}"
        assert f"tree\t{venv}\n" in home.manifest.read_text()

        again = run_install(home, args, timeout=600, script=src / "install.sh")
        assert again.returncode == 0, again.stdout[-3000:]
        assert "reusing it: already installed from these sources" in again.stdout
    finally:
        out = run_install(home, ["--uninstall"], timeout=600, script=src / "install.sh")
    assert out.returncode == 0 and not venv.exists()
    assert snapshot(home.home).keys() == before.keys()
