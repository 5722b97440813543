"""The one safe file writer (impasto_wire.safe_files): what it promises on its own, before the
hostile-user tests (tests/integration/test_hostile_user.py) attack it as a second uid."""

from __future__ import annotations

import os
import stat

import pytest

from impasto_wire import safe_files


def test_a_name_planted_at_every_temporary_name_is_never_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    out = tmp_path / "out.bin"
    names = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(safe_files.secrets, "token_hex", lambda n: next(names))
    os.symlink(victim, tmp_path / ".out.bin.aaaa.tmp")  # planted where the first try goes
    safe_files.write_file(out, b"result")
    assert victim.read_bytes() == b"precious"
    assert out.read_bytes() == b"result" and not out.is_symlink()
    assert os.path.islink(tmp_path / ".out.bin.aaaa.tmp")  # someone else's name: left alone
    assert not (tmp_path / ".out.bin.bbbb.tmp").exists()


def test_the_mode_is_set_on_the_descriptor_and_an_own_files_mode_kept(tmp_path):
    out = tmp_path / "out.bin"
    safe_files.write_file(out, b"x", mode=0o600)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    os.chmod(out, 0o640)
    safe_files.write_file(out, b"y")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640 and out.read_bytes() == b"y"


def test_an_own_symlink_is_followed_and_exclusive_never_replaces(tmp_path):
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    link = tmp_path / "link.png"
    os.symlink(real, link)
    safe_files.write_file(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    with pytest.raises(FileExistsError):
        safe_files.write_file(real, b"newer", exclusive=True)
    assert real.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    out = tmp_path / "out.bin"
    out.write_bytes(b"old")

    def fail(f):
        f.write(b"half")
        raise ValueError("encoder broke")

    with pytest.raises(ValueError):
        safe_files.write_file(out, fail)
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_a_folder_is_not_a_target(tmp_path):
    with pytest.raises(IsADirectoryError):
        safe_files.write_file(tmp_path, b"x")
