"""Which torch ./install.sh installs, decided before anything is downloaded: on a machine without
an NVIDIA GPU whose torch CPU index cannot be reached, PyPI's default torch (it runs on the CPU),
its cost said once, and no question asked; --no-cuda-torch stops instead.

Fast: the decision is the same function in a dry run and a real one (``choose_torch``); the
real-run variant stops before a venv exists. The index is made unreachable with a proxy that
refuses connections (urllib honours ``https_proxy``), so this holds on any network; the full
install with PyPI's torch is the slow tier (test_install_slow.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from install_helpers import INSTALL_SH, Home, make_home

COST = re.compile(r"about [0-9.]+ GB to download, [0-9.]+ GB on disk")
DEFAULT_INDEX = "https://download.pytorch.org/whl/cpu"


def _home(tmp_path: Path, gpu: bool = False) -> Home:
    home = make_home(tmp_path)
    for key in list(home.env):
        if key.lower() in ("http_proxy", "https_proxy", "no_proxy"):
            del home.env[key]
    home.env["https_proxy"] = "http://127.0.0.1:9"  # refused at once: the index is unreachable
    fake = tmp_path / "bin"
    fake.mkdir()
    if gpu:
        smi = fake / "nvidia-smi"
        smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA Test GPU (UUID: GPU-0)'\n")
        smi.chmod(0o755)
    home.env["PATH"] = f"{fake}:{home.env['PATH']}"
    if not gpu:
        assert not shutil.which("nvidia-smi", path=home.env["PATH"])
    return home


def _install(home: Home, *args: str) -> subprocess.CompletedProcess:
    """./install.sh with no answer on standard input (as from a script or CI)."""
    return subprocess.run(["bash", str(INSTALL_SH), *args], env=home.env, cwd=str(home.home),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def test_no_gpu_and_no_cpu_index_chooses_pypis_torch_and_says_the_cost_once(tmp_path):
    home = _home(tmp_path)
    proc = _install(home, "--dry-run", "--no-detect")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert f"CPU index {DEFAULT_INDEX} cannot be reached: would install PyPI's default torch" \
        in out, out
    assert len(COST.findall(out)) == 1, out
    assert "--no-cuda-torch" in out, "the way to stop instead is said"
    # the old flag is still accepted (what it asked for is the default now)
    again = _install(home, "--dry-run", "--no-detect", "--allow-cuda-torch")
    assert again.returncode == 0 and len(COST.findall(again.stdout)) == 1, again.stderr


def test_no_cuda_torch_stops_before_creating_the_venv(tmp_path):
    home = _home(tmp_path)
    venv = tmp_path / "venv"
    proc = _install(home, "--venv", str(venv), "--no-cuda-torch", "--no-weights", "--no-detect",
                    "--no-service", "--no-doctor")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "stopping as --no-cuda-torch asks" in proc.stderr, proc.stderr
    assert len(COST.findall(proc.stderr)) == 1 and "--torch-index URL" in proc.stderr
    assert not venv.exists(), "nothing downloaded, no venv made"
    assert _install(home, "--uninstall").returncode == 0


def test_a_reachable_choice_needs_no_cost_note(tmp_path):
    """With a GPU, PyPI's default (CUDA) torch is what is wanted: no warning about its size."""
    home = _home(tmp_path, gpu=True)
    proc = _install(home, "--dry-run", "--no-detect")
    assert proc.returncode == 0, proc.stderr
    assert "torch: PyPI's default build (CUDA)" in proc.stdout
    assert not COST.search(proc.stdout), proc.stdout


def test_explicit_cpu_torch_is_not_swapped_for_the_cuda_build(tmp_path):
    home = _home(tmp_path)
    proc = _install(home, "--dry-run", "--no-detect", "--torch", "cpu")
    assert proc.returncode == 1, proc.stdout
    assert "--torch cpu: torch's CPU index" in proc.stderr and "--torch-index URL" in proc.stderr
