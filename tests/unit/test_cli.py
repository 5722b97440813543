"""The ``impasto`` command end to end in a subprocess: files in, file out, exit codes."""

from __future__ import annotations

import os
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
