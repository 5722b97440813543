"""Turn an ONNX export of a VGG16/VGG19 into an "impasto-vgg/1" file torchvision can load.

The typical source is a Keras or Caffe VGG (BGR, 0-255, Caffe means subtracted): its input
convention is folded into the first convolution (see `convention`), every deeper
convolution is carried over unchanged, and the fully-connected head is ignored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .architecture import CONV_COUNT, check_features, check_model_name, conv_keys
from .commands import pip_install_command
from .convention import fold_caffe_input
from .fileformat import save_impasto_weights
from .hashing import sha256_file
from .info import WeightsError, WeightsInfo
from .onnx_graph import OnnxConv, read_convs

CONVENTIONS = ("caffe", "torchvision")


def import_onnx_vgg(
    onnx_path: str | Path,
    out_path: str | Path,
    model: str | None = None,
    *,
    input_convention: str = "caffe",
    provenance: str | None = None,
    force: bool = False,
) -> WeightsInfo:
    """Import the convolutions of `onnx_path` into `out_path`; return what was written.

    model: "vgg16" / "vgg19", or None to infer it from the number of convolutions
    (13 / 16). input_convention: "caffe" (Keras/Caffe: BGR 0-255 minus Caffe means, folded
    into the first convolution) or "torchvision" (already RGB 0-1 ImageNet-normalised, as a
    PyTorch export would be; copied unchanged). provenance: the text the label shows after
    the model name; by default it names the ONNX file and its hash. force: replace another
    user's symlink at `out_path` (``impasto_wire.safe_files``; never written through).
    Raises WeightsError (with the reason) for anything that is not a VGG16/VGG19.
    """
    try:
        import onnx  # noqa: F401  (only to give a clear message when it is missing)
    except ImportError as exc:
        raise WeightsError(
            f"importing ONNX needs the onnx package: {pip_install_command('onnx')}"
        ) from exc
    if input_convention not in CONVENTIONS:
        raise WeightsError(f"input_convention must be one of {CONVENTIONS}")
    src = Path(onnx_path).expanduser()
    convs = read_convs(src)
    name = _which_model(convs, model, src)
    features = _features(convs, name, input_convention)
    check_features(features, name, f"{src} (as {name.upper()})")
    source_sha = sha256_file(src)
    text = provenance or (
        f"imported from ONNX {src.name} (sha256 {source_sha[:12]}, "
        f"{input_convention} input convention)"
    )
    out = Path(out_path).expanduser()
    save_impasto_weights(out, name, features, text, force=force)
    return WeightsInfo(
        name, "file", f"{name.upper()} {text}", False, sha256_file(out), str(out.resolve())
    )


def _which_model(convs: list[OnnxConv], model: str | None, src: Path) -> str:
    by_count = {count: name for name, count in CONV_COUNT.items()}
    found = by_count.get(len(convs))
    if model is None:
        if found is None:
            raise WeightsError(
                f"{src} has {len(convs)} convolutions; a VGG16 has 13 and a VGG19 has 16"
            )
        return found
    name = check_model_name(model)
    if len(convs) != CONV_COUNT[name]:
        raise WeightsError(
            f"{src} has {len(convs)} convolutions, but a {name.upper()} has {CONV_COUNT[name]}"
        )
    return name


def _features(convs: list[OnnxConv], model: str, convention: str) -> dict[str, torch.Tensor]:
    features: dict[str, torch.Tensor] = {}
    for index, (key, conv) in enumerate(zip(conv_keys(model), convs, strict=True)):
        weight, bias = conv.weight, conv.bias
        if index == 0 and convention == "caffe":
            if weight.shape[1] != 3:
                raise WeightsError(
                    f"first Conv {conv.name!r} has weight shape {weight.shape}; "
                    f"an RGB VGG needs (64, 3, 3, 3)"
                )
            weight, bias = fold_caffe_input(weight, bias)
        features[f"{key}.weight"] = torch.from_numpy(np.array(weight, dtype=np.float32))
        features[f"{key}.bias"] = torch.from_numpy(np.array(bias, dtype=np.float32))
    return features
