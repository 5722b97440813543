"""Weights from a local .pth/.pt file: hash-checked, shape-checked, never unpickled."""

from __future__ import annotations

from pathlib import Path

import torch

from .architecture import check_features, check_model_name
from .commands import fetch_command
from .fileformat import FileContents, guess_model, read_weights_file
from .hashing import check_hash, hash_prefix_in_name, sha256_file, split_expected_hash
from .info import WeightsError, WeightsInfo

# torchvision's own files, recognised by name so they get a plain label.
TORCHVISION_FILES = {"vgg16-397923af.pth": "vgg16", "vgg19-dcbb9e9d.pth": "vgg19"}


def load_checked(
    path: Path, model: str, expected: str | None = None, why: str = ""
) -> tuple[dict[str, torch.Tensor], str, FileContents]:
    """Hash, load and shape-check one file; return its features, SHA-256 and contents.

    The hash is checked before torch.load sees the bytes, so a tampered file is refused
    without being parsed at all.
    """
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}\n  Real weights for {model.upper()}: "
                           f"{fetch_command(model)} (it updates the daemon configuration)")
    sha256 = sha256_file(path)
    if expected:
        check_hash(path, sha256, expected, why)
    contents = read_weights_file(path)
    if contents.model is not None and contents.model != model:
        raise WeightsError(
            f"{path} holds {contents.model.upper()} weights, but {model.upper()} was asked for"
        )
    fits = guess_model(contents.features)
    if fits is not None and fits != model:
        raise WeightsError(
            f"{path} holds {fits.upper()} features, but {model.upper()} was asked for: "
            f"choose model {fits} or a {model.upper()} file"
        )
    check_features(contents.features, model, str(path))
    return contents.features, sha256, contents


def load_file_features(model: str, source: str) -> tuple[dict[str, torch.Tensor], WeightsInfo]:
    """Load "PATH" or "PATH#sha256=HEX" for `model`.

    Three hash rules, strongest first: an explicit #sha256= is enforced; else a torch-hub
    style name ("name-<8+ hex>.pth") must match its embedded prefix; else the SHA-256 is
    only reported in the WeightsInfo so the user can compare it by eye.
    """
    name = check_model_name(model)
    raw, expected = split_expected_hash(source)
    path = Path(raw).expanduser()
    why = "the #sha256= in the weights source"
    if expected is None:
        expected = hash_prefix_in_name(path)
        why = "the hash in the file name"
    features, sha256, contents = load_checked(path, name, expected, why)
    return features, WeightsInfo(
        name, "file", _label(name, path, sha256, contents), False, sha256, str(path.resolve())
    )


def _label(model: str, path: Path, sha256: str, contents: FileContents) -> str:
    if TORCHVISION_FILES.get(path.name) == model:
        return f"{model.upper()} ImageNet (torchvision file)"
    if contents.provenance:
        return f"{model.upper()} {contents.provenance}"
    return f"{model.upper()} from {path.name} (sha256 {sha256[:12]})"
