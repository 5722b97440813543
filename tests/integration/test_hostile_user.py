"""Issue 19, tried as a hostile local user would: files another user can make us change (items
1-3), a runtime folder or token another user controls (items 5, 6), a CurveZMQ client that
would start an unauthenticated daemon (item 7). Every attack is a real process, and a real
second uid (made with useradd for the test) where the problem is another user; races are made
deterministic by doing the attacker's move from a hook at the moment it matters."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx_models
import pytest
from daemon_support import IMPASTO, env_without_endpoint, one_line, picture
from PIL import Image as PILImage
from second_user import make_other_user, make_shared_folder

SWAP_TO_SYMLINK = """
import os, sys
folder, prefix, victim = sys.argv[1:]
[tmp] = [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".tmp")]
os.symlink(victim, os.path.join(folder, "planted"))
os.rename(os.path.join(folder, "planted"), os.path.join(folder, tmp))
"""


@pytest.fixture
def other_user():
    yield from make_other_user()


@pytest.fixture
def shared():
    """A world-writable folder without the sticky bit: anyone may rename anyone's files."""
    yield from make_shared_folder(sticky=False)


@pytest.fixture
def sticky_shared():
    yield from make_shared_folder(sticky=True)




def images(folder: Path) -> tuple[Path, Path]:
    content, style = folder / "content.png", folder / "style.png"
    PILImage.fromarray(picture(20, 24, 4), "RGBA").save(content)
    PILImage.fromarray(picture(32, 32, 3, 4)).save(style)
    return content, style


def victims_file(tmp_path: Path, mode: int = 0o600) -> Path:
    victim = tmp_path / "diary.txt"
    victim.write_text("the victim's own words\n")
    os.chmod(victim, mode)
    return victim


# --- item 1: a temporary file swapped for a symlink between the write and the chmod ----------

def test_a_temporary_file_swapped_for_a_symlink_never_changes_the_victims_file(
        tmp_path, other_user, shared, monkeypatch):
    from impasto_daemon.cli.image_io import ImageFileError, write_image

    victim = victims_file(tmp_path)
    out = shared / "out.png"
    real_fsync, swapped = os.fsync, []

    def fsync_then_attacker_swaps(fd: int) -> None:
        real_fsync(fd)
        if not swapped:  # the moment between writing the temporary file and setting its mode
            swapped.append(other_user.python(SWAP_TO_SYMLINK, str(shared), ".out.png.",
                                             str(victim)))

    monkeypatch.setattr(os, "fsync", fsync_then_attacker_swaps)
    try:
        write_image(out, np.zeros((4, 4, 4), np.uint8))
        refused = None
    except ImageFileError as exc:
        refused = str(exc)
    monkeypatch.undo()
    assert swapped, "the attacker never got to move"
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o600, "the victim's file changed mode"
    assert victim.read_text() == "the victim's own words\n"
    assert refused is not None and "replaced by someone else" in refused
    assert not out.exists()  # nothing of the attacker's was renamed into place


def test_an_output_another_user_made_does_not_lend_its_mode_to_the_result(
        other_user, shared):
    from impasto_daemon.cli.image_io import write_image

    out = shared / "out.png"
    other_user.python("import os, sys; open(sys.argv[1], 'w').close(); os.chmod(sys.argv[1], "
                      "0o777)", str(out))
    write_image(out, np.zeros((4, 4, 4), np.uint8))
    st = os.lstat(out)
    assert st.st_uid == os.geteuid() and stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) & 0o022 == 0, oct(st.st_mode)  # never 0777 like theirs


# --- item 2: import-onnx's predictable OUT.tmp --------------------------------------------

def test_import_onnx_never_writes_through_a_symlink_planted_at_a_predictable_name(
        tmp_path, other_user, shared):
    pytest.importorskip("onnx")
    victim = victims_file(tmp_path, 0o644)
    model = onnx_models.plain_vgg16(tmp_path / "vgg16.onnx")
    out = shared / "vgg16.pth"
    other_user.python("import os, sys; os.symlink(sys.argv[1], sys.argv[2])", str(victim),
                      str(shared / "vgg16.pth.tmp"))
    run = subprocess.run([IMPASTO, "import-onnx", str(model), "-o", str(out)],
                         env=env_without_endpoint(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert victim.read_bytes() == b"the victim's own words\n", "written through the planted link"
    assert not out.is_symlink() and os.lstat(out).st_uid == os.geteuid()
    check = subprocess.run([IMPASTO, "check-weights", f"{out}", "--model", "vgg16"],
                           env=env_without_endpoint(), capture_output=True, text=True, timeout=300)
    assert check.returncode == 0 and "imported from ONNX vgg16.onnx" in check.stdout


# --- item 3: the output path is another user's symlink ------------------------------------

@pytest.mark.parametrize("points_to", ["the victim's file", "the attacker's file"])
def test_stylize_refuses_an_output_symlink_another_user_planted(
        tmp_path, other_user, shared, points_to):
    victim = victims_file(tmp_path, 0o644)
    if points_to == "the attacker's file":  # a link of ours to their file is no better
        theirs = shared / "theirs.png"
        other_user.python("open(__import__('sys').argv[1], 'w').close()", str(theirs))
        os.symlink(theirs, shared / "out.png")
        victim = theirs
    else:
        other_user.python("import os, sys; os.symlink(sys.argv[1], sys.argv[2])", str(victim),
                          str(shared / "out.png"))
    before = victim.read_bytes()
    content, style = images(tmp_path)
    run = subprocess.run(
        [IMPASTO, "stylize", str(content), str(style), "-o", str(shared / "out.png"),
         "--iterations", "1", "-q"],
        env=env_without_endpoint(IMPASTO_DAEMON="false"), capture_output=True, text=True,
        timeout=120)
    assert run.returncode == 3
    line = one_line(run.stderr)
    assert "symbolic link" in line and "--force" in line
    assert victim.read_bytes() == before


def test_stylize_force_replaces_another_users_link_and_leaves_its_target_alone(
        tmp_path, other_user, shared):
    victim = victims_file(tmp_path, 0o644)
    out = shared / "out.png"
    other_user.python("import os, sys; os.symlink(sys.argv[1], sys.argv[2])", str(victim),
                      str(out))
    content, style = images(tmp_path)
    run = subprocess.run(
        [IMPASTO, "stylize", str(content), str(style), "-o", str(out), "--force", "--local",
         "--weights", "random", "--device", "cpu", "--iterations", "1", "--size", "32",
         "--no-multiscale", "-q"],
        env=env_without_endpoint(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert victim.read_text() == "the victim's own words\n"
    assert not out.is_symlink() and PILImage.open(out).size == (24, 20)


# --- item 5: a folder above the runtime folder belongs to another user ---------------------

def test_a_runtime_folder_under_another_users_folder_is_refused(
        tmp_path, other_user, sticky_shared):
    # ~/.cache world-writable: the attacker made ~/.cache/impasto first and may swap `run`
    other_user.python("import os, sys; os.mkdir(sys.argv[1], 0o777); os.chmod(sys.argv[1], "
                      "0o777)", str(sticky_shared / "impasto"))
    run = subprocess.run([IMPASTO, "status"], capture_output=True, text=True, timeout=60,
                         env=env_without_endpoint(XDG_CACHE_HOME=str(sticky_shared),
                                       IMPASTO_DAEMON="false"))
    assert run.returncode == 2
    line = one_line(run.stderr)
    assert f"{sticky_shared / 'impasto'}, a folder above" in line
    assert f"belongs to user {other_user.name}" in line
    assert not (sticky_shared / "impasto" / "run").exists()  # nothing of ours created in it


# --- item 6: the token read from a folder another user controls ----------------------------

@pytest.mark.parametrize("planted", ["fifo", "link to /dev/zero"])
def test_a_token_planted_by_another_user_neither_hangs_nor_exhausts_memory(
        other_user, sticky_shared, planted):
    port = 47299
    other_user.python(
        "import os, sys; d = os.path.join(sys.argv[1], 'impasto'); os.mkdir(d, 0o777); "
        "os.chmod(d, 0o777); t = os.path.join(d, 'tcp-%s.token' % sys.argv[2]); "
        "os.mkfifo(t) if sys.argv[3] == 'fifo' else os.symlink('/dev/zero', t)",
        str(sticky_shared), str(port), "fifo" if planted == "fifo" else "zero")
    try:
        run = subprocess.run(
            [IMPASTO, "status"], capture_output=True, text=True, timeout=60,
            env=env_without_endpoint(XDG_RUNTIME_DIR=str(sticky_shared),
                          IMPASTO_ENDPOINT=f"tcp://127.0.0.1:{port}"))
    except subprocess.TimeoutExpired:
        pytest.fail("impasto status hung on the planted token")
    assert run.returncode == 2
    line = one_line(run.stderr)
    assert f"belongs to user {other_user.name}" in line


# --- item 7: a CurveZMQ client never starts a daemon without keys ---------------------------

def test_a_curve_client_never_starts_an_unauthenticated_daemon(tmp_path):
    from impasto_wire.curve import create_key_pair

    keys = tmp_path / "keys"
    _, client_secret = create_key_pair(keys, "client")
    server_public, _ = create_key_pair(keys, "server")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    started = tmp_path / "a-daemon-was-started"
    content, style = images(tmp_path)
    run = subprocess.run(
        [IMPASTO, "stylize", str(content), str(style), "-o", str(tmp_path / "out.png"), "-q"],
        capture_output=True, text=True, timeout=120,
        env=env_without_endpoint(XDG_RUNTIME_DIR=str(runtime),
                      IMPASTO_CURVE_CLIENT_KEY=str(client_secret),
                      IMPASTO_CURVE_SERVER_KEY=str(server_public),
                      IMPASTO_DAEMON=f"{sys.executable} -c \"open('{started}', 'w')\""))
    assert not started.exists(), "the CurveZMQ client started a daemon without keys"
    assert run.returncode == 7
    line = one_line(run.stderr)
    assert "CurveZMQ" in line and "never starts a daemon" in line


# --- item 12: folders the user may not enter are one line, not a PermissionError traceback ----

@pytest.mark.parametrize("which", ["input", "output"])
def test_a_folder_the_user_cannot_enter_is_one_line_not_a_traceback(
        tmp_path, other_user, shared, which):
    private = tmp_path / "private"  # root's, 0700: the other user may not enter it
    private.mkdir(mode=0o700)
    content, style = images(shared)
    for p in (shared, content, style):
        os.chmod(p, 0o777 if p == shared else 0o644)
    if which == "input":
        content = private / "content.png"
        PILImage.fromarray(picture(20, 24, 4), "RGBA").save(content)
        out = shared / "out.png"
    else:
        out = private / "out.png"
    run = other_user.run(IMPASTO, "stylize", str(content), str(style), "-o", str(out),
                         "--iterations", "1", "-q",
                         env=env_without_endpoint(IMPASTO_DAEMON="false"))
    assert run.returncode == 3
    line = one_line(run.stderr)
    assert "Permission denied" in line and str(content if which == "input" else out) in line
