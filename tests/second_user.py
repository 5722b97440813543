"""A real second local user for the hostile-user tests (issue 19), and a folder both can write in.

The user is made with ``useradd`` for the test and removed after it, so an attack is a real
process under a real other uid, not a mock. Without root (or without useradd/setpriv) the
tests that need it are skipped, saying why.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class OtherUser:
    name: str
    uid: int
    gid: int

    def run(self, *argv: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
        """Run ``argv`` as this user (setpriv: real and effective uid and gid, no groups)."""
        return subprocess.run(
            ["setpriv", "--reuid", str(self.uid), "--regid", str(self.gid), "--clear-groups",
             *argv], capture_output=True, text=True, timeout=timeout, cwd="/", **kwargs)

    def python(self, code: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """Run Python ``code`` as this user; fails the test when it fails."""
        done = self.run(sys.executable, "-c", code, *args, **kwargs)
        assert done.returncode == 0, f"the other user's script failed: {done.stderr}"
        return done


def make_other_user() -> Iterator[OtherUser]:
    """Generator for a fixture: a fresh user, deleted (with its files' owner left as a number)
    afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a second local user (useradd) to attack as")
    for tool in ("useradd", "userdel", "setpriv"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} to act as a second local user")
    name = "impx" + secrets.token_hex(4)
    made = subprocess.run(["useradd", "--no-create-home", "--user-group",
                           "--shell", "/usr/sbin/nologin", name], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"useradd failed: {made.stderr.strip()}")
    try:
        pw = pwd.getpwnam(name)
        yield OtherUser(name, pw.pw_uid, pw.pw_gid)
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def make_shared_folder(sticky: bool = False) -> Iterator[Path]:
    """A world-writable folder (non-sticky unless asked) that both users can reach: pytest's
    own temp folders are private to root, so this one lives directly in the system temp."""
    folder = Path(tempfile.mkdtemp(prefix="impasto-shared-"))
    os.chmod(folder, 0o1777 if sticky else 0o777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
