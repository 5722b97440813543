"""install.sh writes its configuration (and its manifest, unit and the plug-in's pointer file)
through the project's one safe writer, impasto_wire.safe_files (issue 19, "one safe file
writer"). Its old writer copied into the predictable ``FILE.new.$$`` with ``cp``, which writes
through a symlink planted there: another user could make the installing user overwrite any file
of theirs. These tests run install.sh's own writer functions (their text, taken from install.sh)
in bash, paused at the moment the old name became predictable, while the attacker, a real second
uid where root can make one, plants the link."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from install_helpers import INSTALL_SH, REPO

sys.path.insert(0, str(REPO / "tests"))
from second_user import make_other_user, make_shared_folder  # noqa: E402

WRITER_FUNCTIONS = ("die", "replace_if_changed", "safe_write", "write_if_changed")
CONTENT = '[daemon]\nprogram = "/opt/impasto/bin/impasto-daemon"\n'
PRECIOUS = "the victim's own file\n"


def writer_functions(script: Path = INSTALL_SH) -> str:
    """The definitions of install.sh's file-writing functions, as they are in install.sh."""
    text = script.read_text()
    found = []
    for name in WRITER_FUNCTIONS:
        m = re.search(rf"^{name}\(\) \{{.*?\}}$" if name == "die" else
                      rf"^{name}\(\) \{{.*?^\}}$", text, re.M | re.S)
        if m is not None:
            found.append(m.group(0))
    return "\n".join(found)


def paused_writer(path: Path) -> subprocess.Popen:
    """bash running install.sh's ``write_if_changed PATH 644`` after stopping itself: its pid is
    the ``$$`` install.sh used to name its temporary file."""
    script = "\n".join([
        "set -euo pipefail",
        f"REPO={REPO}; VENV={Path(sys.prefix)}; PYTHON={sys.executable}",
        writer_functions(),
        "kill -STOP $$",
        'if write_if_changed "$1" 644 <<<"$2"; then echo changed; else echo unchanged; fi',
    ])
    proc = subprocess.Popen(["bash", "-c", script, "bash", str(path), CONTENT.rstrip("\n")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while _state(proc.pid) not in ("T", None):
        pass  # it stops itself at once
    return proc


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


def resume(proc: subprocess.Popen) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGCONT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def victim_file(folder: Path) -> Path:
    victim = folder / "victim.txt"
    victim.write_text(PRECIOUS)
    victim.chmod(0o600)
    return victim


def assert_written_safely(config: Path, victim: Path, result: tuple[int, str, str]) -> None:
    status, out, err = result
    assert victim.read_text() == PRECIOUS, "the write went through the planted symlink"
    assert status == 0 and out.strip() == "changed", err
    st = config.lstat()
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o644
    assert config.read_text() == CONTENT


@pytest.fixture
def other_user():
    yield from make_other_user()


@pytest.fixture
def shared():
    """A world-writable folder without the sticky bit (so the kernel's protected_symlinks does
    not stop a link another user made there from being followed)."""
    yield from make_shared_folder(sticky=False)


def test_the_configuration_is_not_written_through_a_link_at_its_temporary_name(tmp_path):
    config, victim = tmp_path / "daemon.toml", victim_file(tmp_path)
    proc = paused_writer(config)
    os.symlink(victim, f"{config}.new.{proc.pid}")  # the name the old writer would use
    assert_written_safely(config, victim, resume(proc))


def test_another_user_cannot_make_install_sh_overwrite_the_installing_users_file(
        other_user, shared, tmp_path):
    config, victim = shared / "daemon.toml", victim_file(tmp_path)
    proc = paused_writer(config)
    try:
        other_user.python("import os, sys; os.symlink(sys.argv[1], sys.argv[2])",
                          str(victim), f"{config}.new.{proc.pid}")
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    assert_written_safely(config, victim, resume(proc))


def test_a_link_another_user_planted_at_the_configuration_is_refused_in_one_line(
        other_user, shared, tmp_path):
    config, victim = shared / "daemon.toml", victim_file(tmp_path)
    other_user.python("import os, sys; os.symlink(sys.argv[1], sys.argv[2])",
                      str(victim), str(config))
    status, out, err = resume(paused_writer(config))
    assert victim.read_text() == PRECIOUS
    assert status == 1 and "changed" not in out, (out, err)
    lines = err.strip().splitlines()
    assert "symbolic link made by user " + other_user.name in lines[0], err
    assert lines[-1] == f"install.sh: error: cannot write {config} (above)", err
    assert os.path.islink(config)  # left as it was, for its owner to remove


def test_an_unchanged_configuration_is_left_alone(tmp_path):
    config = tmp_path / "daemon.toml"
    assert resume(paused_writer(config))[1].strip() == "changed"
    before = config.stat().st_mtime_ns, config.stat().st_ino
    assert resume(paused_writer(config))[1].strip() == "unchanged"
    assert (config.stat().st_mtime_ns, config.stat().st_ino) == before


def test_the_writer_command_line_refuses_a_bad_mode_and_names_an_unwritable_folder(tmp_path):
    def write(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "impasto_wire.safe_files", *args],
                              input=b"x", capture_output=True)

    assert write("write", str(tmp_path / "f"), "9").returncode == 2
    missing = tmp_path / "no" / "f"
    done = write("write", str(missing), "644")
    assert done.returncode == 1 and done.stderr.decode().startswith(f"cannot write {missing}: ")
    assert write("write", str(tmp_path / "f"), "600").returncode == 0
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o600
