"""The shapes of weight files we accept, and our own "impasto-vgg/1" format that we write.

Accepted on load (all read with `torch.load(..., weights_only=True)`, never plain pickle):
  * torchvision's full VGG state dict ("features.0.weight", ..., classifier keys ignored);
  * a features-only state dict ("0.weight", "0.bias", ...);
  * our format: {"format": "impasto-vgg/1", "model": "vgg16", "features": {...},
    "provenance": "..."}, written by the ONNX importer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from .architecture import MODELS, feature_shapes
from .info import WeightsError

FORMAT = "impasto-vgg/1"


@dataclass(frozen=True)
class FileContents:
    """A weight file reduced to what every consumer needs."""

    features: dict[str, torch.Tensor]
    model: str | None  # declared by our format; None for plain state dicts
    provenance: str | None


def save_impasto_weights(
    path: Path, model: str, features: Mapping[str, torch.Tensor], provenance: str
) -> None:
    """Write features in our format, atomically so a crash never leaves half a file behind."""
    payload = {
        "format": FORMAT,
        "model": model,
        "features": {k: v.detach().to(torch.float32).contiguous() for k, v in features.items()},
        "provenance": provenance,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def read_weights_file(path: Path) -> FileContents:
    """Load a weight file safely and reduce any accepted layout to a features dict."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"weights file not found: {path}") from None
    except Exception as exc:  # torch raises several types for foreign or unsafe files
        raise WeightsError(
            f"cannot read {path} as a PyTorch weights file with weights_only=True "
            f"(only plain tensors and dicts are accepted, never pickled objects): {exc}"
        ) from exc
    return _normalise(obj, path)


def guess_model(features: Mapping[str, object]) -> str | None:
    """Which VGG a features dict fits by its key set, so errors can name the right model."""
    for model in MODELS:
        if set(features) == set(feature_shapes(model)):
            return model
    return None


def _normalise(obj: object, path: Path) -> FileContents:
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, not a state dict")
    if "format" in obj:
        return _ours(obj, path)
    if any(isinstance(k, str) and k.startswith("features.") for k in obj):
        features = {
            k[len("features.") :]: v
            for k, v in obj.items()
            if isinstance(k, str) and k.startswith("features.")
        }
        return FileContents(_tensors(features, path), None, None)
    return FileContents(_tensors(obj, path), None, None)


def _ours(obj: Mapping, path: Path) -> FileContents:
    if obj.get("format") != FORMAT:
        raise WeightsError(
            f"{path} has format {obj.get('format')!r}; this version reads {FORMAT!r} only"
        )
    model = obj.get("model")
    features = obj.get("features")
    if model not in MODELS or not isinstance(features, Mapping):
        raise WeightsError(f"{path}: {FORMAT} file without a valid 'model' or 'features' entry")
    provenance = obj.get("provenance")
    return FileContents(_tensors(features, path), model, str(provenance) if provenance else None)


def _tensors(state: Mapping, path: Path) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise WeightsError(f"{path}: entry {key!r} is not a named tensor")
        if not value.is_floating_point():
            raise WeightsError(f"{path}: {key} has dtype {value.dtype}, not a float type")
        out[key] = value.detach().to(torch.float32).contiguous()
    return out
