"""The ``impasto`` command end to end in a subprocess: files in, file out, exit codes."""

from __future__ import annotations

import argparse
import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pictures import smooth_image
from PIL import Image

IMPASTO = [sys.executable, "-m", "impasto_daemon.cli.main"]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*IMPASTO, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def images(tmp_path: Path, rng) -> tuple[Path, Path]:
    content = smooth_image(rng, 40, 52, 4)
    content[..., 3] = 200
    Image.fromarray(content, "RGBA").save(tmp_path / "content.png")
    Image.fromarray(smooth_image(rng, 32, 32)).save(tmp_path / "style.jpg")
    return tmp_path / "content.png", tmp_path / "style.jpg"


def test_local_stylize_writes_result_with_alpha_and_warns_about_random_weights(images, tmp_path):
    content, style = images
    out = tmp_path / "out.png"
    r = run("stylize", str(content), str(style), "-o", str(out), "--local", "--weights",
            "random", "--size", "48", "--iterations", "3", "--seed", "5")
    assert r.returncode == 0, r.stderr
    assert "RANDOM weights" in r.stderr and "done in" in r.stderr
    result = np.asarray(Image.open(out))
    assert result.shape == (40, 52, 4) and (result[..., 3] == 200).all()


def test_unreadable_image_is_exit_3(images, tmp_path):
    content, _ = images
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    r = run("stylize", str(content), str(not_image), "-o", str(tmp_path / "o.png"), "--local")
    assert r.returncode == 3 and "cannot read it as an image" in r.stderr


def test_bad_option_values_are_exit_2(images, tmp_path):
    content, style = images
    r = run("stylize", str(content), str(style), "-o", "o.png", "--model", "resnet")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = run("stylize", str(content), str(style), "-o", "o.png", "--size", "5", "--local")
    assert r.returncode == 2 and "size must be between" in r.stderr
    r = run("stylize", str(content), str(style), "-o", "o.png", "--style-blend", "1,2", "--local")
    assert r.returncode == 2 and "2 weights for 1 style" in r.stderr


def test_missing_weights_is_exit_4_with_instructions(images, tmp_path):
    content, style = images
    r = run("stylize", str(content), str(style), "-o", str(tmp_path / "o.png"), "--local",
            env={"TORCH_HOME": str(tmp_path / "empty-torch-home")})
    assert r.returncode == 4
    assert "download.pytorch.org" in r.stderr and "--weights" in r.stderr


def test_help_explains_the_options():
    r = run("stylize", "--help")
    assert r.returncode == 0
    for option in ("--preserve-colors", "--style-blend", "--style-scale", "--optimizer",
                   "--init", "--pooling", "--device", "--weights", "--local"):
        assert option in r.stdout


def test_strength_is_the_default_control_and_a_style_weight_replaces_it():
    from impasto_daemon.cli.main import build_parser
    from impasto_daemon.cli.stylize_cmd import settings_from_args

    def settings(*extra: str):
        return settings_from_args(build_parser().parse_args(
            ["stylize", "c.png", "s.png", "-o", "o.png", "--model", "vgg16", *extra]))

    assert (settings().strength, settings().style_weight) == (50.0, None)
    assert settings("--strength", "80").strength == 80.0
    assert settings("--style-weight", "3").style_weight == 3.0  # fixed: no governor


def test_the_closing_line_names_the_style_weight_the_strength_chose():
    from impasto_daemon.cli.progress_bar import done_line

    stats = dict(seconds=2.0, device="cpu", iterations=40, seed=0, model="vgg16",
                 weights="RANDOM", style_weight=1.7)
    assert "style weight 1.7," in done_line(stats)
    held = done_line(dict(stats, photo_kept=0.6712, kept_asked=0.45))
    assert "style weight 1.7 (photo kept 0.67 where the strength asks 0.45)," in held
    given = done_line(dict(stats, photo_kept=None, kept_asked=None))  # a weight given: no ask
    assert "photo kept" not in given


# --- hardening (issue 10): what a user does by mistake, told in one line, before any work ---


def no_daemon_env(tmp_path: Path) -> dict[str, str]:
    """An endpoint where nothing listens, and a daemon command that fails at once."""
    return {"IMPASTO_ENDPOINT": f"ipc://{tmp_path}/nobody.sock", "IMPASTO_DAEMON": "false",
            "XDG_RUNTIME_DIR": str(tmp_path)}


def test_an_output_folder_that_does_not_exist_is_refused_before_the_daemon_is_asked(images,
                                                                                    tmp_path):
    content, style = images
    out = tmp_path / "no-such-folder" / "out.png"
    r = run("stylize", str(content), str(style), "-o", str(out), env=no_daemon_env(tmp_path))
    assert r.returncode == 3, r.stderr  # not 7: the daemon was never contacted
    assert r.stderr.strip() == (f"impasto: cannot write {out}: the folder {out.parent} does not "
                                "exist")


def test_an_output_name_pillow_cannot_write_is_refused_before_the_daemon_is_asked(images,
                                                                                  tmp_path):
    content, style = images
    r = run("stylize", str(content), str(style), "-o", str(tmp_path / "out.xyz"),
            env=no_daemon_env(tmp_path))
    assert r.returncode == 3 and "name the output .png" in r.stderr


def test_cancel_of_an_overlong_id_is_refused_at_once_quoting_the_protocol_limit(
        tmp_path, capsys, monkeypatch):
    from impasto_daemon.cli import exit_codes, remote_cmds
    from impasto_wire.protocol import MAX_ID_LENGTH

    def no_daemon(args):  # refused before any daemon is asked: no wait, nobody blamed
        raise AssertionError("the daemon was contacted")

    monkeypatch.setattr(remote_cmds, "_client", no_daemon)
    args = argparse.Namespace(endpoint=f"ipc://{tmp_path}/nobody.sock", timeout=5.0,
                              job_id="j" * 200)
    assert remote_cmds.cancel_cmd(args) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert f"1 to {MAX_ID_LENGTH} characters, this one 200" in err and "daemon" not in err


@pytest.mark.parametrize("problem", ["missing", "world-readable", "server key unset"])
def test_a_bad_client_key_setting_is_one_line_with_the_fix_not_a_traceback(tmp_path, problem):
    from impasto_wire.curve import create_key_pair

    _, secret = create_key_pair(tmp_path / "keys", "me")
    server_pub, _ = create_key_pair(tmp_path / "keys", "server")
    env = {"IMPASTO_ENDPOINT": "tcp://127.0.0.1:9", "IMPASTO_CURVE_CLIENT_KEY": str(secret),
           "IMPASTO_CURVE_SERVER_KEY": str(server_pub)}
    if problem == "missing":
        env["IMPASTO_CURVE_CLIENT_KEY"] = str(tmp_path / "keys" / "gone.key_secret")
        fix = "`impasto keys DIR` makes a pair"
    elif problem == "world-readable":
        os.chmod(secret, 0o644)
        fix = f"chmod 600 {secret}"
    else:
        env["IMPASTO_CURVE_SERVER_KEY"] = ""
        fix = "IMPASTO_CURVE_SERVER_KEY is not"
    r = run("status", "--timeout", "1", env=env)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("impasto: IMPASTO_CURVE_") and fix in r.stderr


def test_the_result_replaces_the_old_file_whole_and_keeps_its_mode(tmp_path, rng):
    from impasto_daemon.cli.image_io import write_image

    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    os.chmod(out, 0o640)
    picture = smooth_image(rng, 20, 30, 4)
    write_image(out, picture)
    assert np.array_equal(np.asarray(Image.open(out)), picture)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temporary left


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A real 200 KiB tmpfs, so a write really runs out of space."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_a_full_disk_leaves_the_previous_result_untouched_and_no_temporary(tiny_filesystem, rng):
    from impasto_daemon.cli.image_io import ImageFileError, write_image

    out = tiny_filesystem / "out.png"
    Image.fromarray(smooth_image(rng, 24, 24, 4)).save(out)
    good = out.read_bytes()
    fd = os.open(tiny_filesystem / "filler", os.O_WRONLY | os.O_CREAT)
    try:  # fill the disk to the last block
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    os.truncate(tiny_filesystem / "filler", os.path.getsize(tiny_filesystem / "filler") - 4096)
    noise = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)  # ~16 KiB as PNG: cannot fit
    with pytest.raises(ImageFileError, match="No space left on device.*previous file is "
                                             "unchanged"):
        write_image(out, noise)
    assert out.read_bytes() == good
    assert sorted(p.name for p in tiny_filesystem.iterdir()) == ["filler", "out.png"]


def test_quiet_silences_progress_but_never_a_failure():
    import io

    from impasto_daemon.cli.progress_bar import ProgressBar
    from impasto_wire.progress import ProgressEvent

    quiet = io.StringIO()
    bar = ProgressBar(stream=quiet, enabled=False)
    bar.update(ProgressEvent(stage="optimising", fraction=0.5, scale=1, scales=2, step=3,
                             steps=10))
    bar.close("done in 1.0s")
    assert quiet.getvalue() == ""
    bar.fail("impasto: the loss became NaN/infinite\n(lower the style weight)")
    assert quiet.getvalue() == "impasto: the loss became NaN/infinite (lower the style weight)\n"


def test_the_bar_draws_the_time_fraction_scale_step_and_eta():
    import io

    from impasto_daemon.cli.progress_bar import ProgressBar
    from impasto_wire.progress import ProgressEvent

    log = io.StringIO()
    bar = ProgressBar(stream=log, width=10)
    bar.update(ProgressEvent(stage="optimising", fraction=0.42, eta=130.0, scale=2, scales=3,
                             step=4, steps=50, loss=1.5, elapsed=12.0))
    line = log.getvalue()
    assert line.startswith("[####......]  42% optimising scale 2/3 step 4 (at most 50) loss 1.5")
    assert line.rstrip().endswith("eta 2m10s")


def test_the_bar_shows_the_users_step_count_and_no_100_before_the_end():
    """Issue 22: "100% ... eta 0s" for the last tenth of a job, and "/450" on a coarse scale
    when the user set 300 iterations."""
    import io

    from impasto_daemon.cli.progress_bar import ProgressBar
    from impasto_wire.progress import ProgressEvent

    log = io.StringIO()
    bar = ProgressBar(stream=log, width=10)
    bar.update(ProgressEvent(stage="optimising", fraction=0.999, scale=3, scales=3, step=40,
                             steps=300, loss=1.5, elapsed=12.0))
    line = log.getvalue()
    assert " 99% optimising scale 3/3 step 40/300 " in line
    assert line.rstrip().endswith("estimating…")  # no estimate yet: said, not left blank


def test_the_bar_words_steps_and_time_left_as_impasto_wire_does():
    """The CLI and the GIMP plug-in say which step count it is and that the time left is being
    estimated in the one wording of ``impasto_wire`` (the plug-in's tests check its side)."""
    import io

    from impasto_daemon.cli.progress_bar import ProgressBar
    from impasto_wire.progress import ProgressEvent, eta_text, step_text

    coarse = ProgressEvent(stage="optimising", fraction=0.2, scale=1, scales=2, step=40,
                           steps=450)
    finest = ProgressEvent(stage="optimising", fraction=0.6, scale=2, scales=2, step=40,
                           steps=300, eta=130.0)
    assert (step_text(coarse), eta_text(coarse.eta)) == ("step 40 (at most 450)", "estimating…")
    assert (step_text(finest), eta_text(finest.eta)) == ("step 40/300", "eta 2m10s")
    for scale in (0, 1):  # one scale: its cap is the user's iterations, whatever its index
        single = ProgressEvent(stage="optimising", scale=scale, scales=1, step=3, steps=9)
        assert step_text(single) == "step 3/9"
    for event in (coarse, finest):
        log = io.StringIO()
        ProgressBar(stream=log, width=10).update(event)
        assert f" {step_text(event)} " in log.getvalue()
        assert log.getvalue().rstrip().endswith(eta_text(event.eta))
