"""The ipc lock file beside the daemon's socket is never opened through a symlink (issue 19,
"one safe file writer": the lock file is the one file the daemon opens itself, so it refuses a
link planted at its name): a real daemon process, one line, nothing created where it pointed."""

from __future__ import annotations

import os
import subprocess

from daemon_support import DAEMON


def test_a_symlink_at_the_lock_files_name_is_refused_in_one_line(tmp_path):
    folder = tmp_path / "sock"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    os.symlink(victim, folder / "d.sock.lock")
    out = subprocess.run([DAEMON, "--endpoint", f"ipc://{folder}/d.sock", "--device", "cpu",
                          "--weights", "random"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert f"lock file {folder}/d.sock.lock" in lines[0] and "remove it" in lines[0]
    assert not victim.exists()  # the old open created the file the link pointed to
