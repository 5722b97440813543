"""The one entry point the engine calls: pick the weights source and return checked tensors."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .architecture import check_model_name
from .file_source import load_file_features
from .info import WeightsError, WeightsInfo
from .random_source import random_features
from .torchvision_source import load_torchvision_features


def load_vgg_features(
    model: str, source: str | Mapping[str, str] = "torchvision", seed: int = 0
) -> tuple[dict[str, torch.Tensor], WeightsInfo]:
    """Convolution weights keyed like torchvision's `vggNN().features` state dict.

    source: "torchvision" (torch hub's cache only, SHA-256 verified, never downloaded here),
    "random" (seeded by `seed`, labelled as not a real model), or a path to a .pth/.pt file,
    optionally "PATH#sha256=HEX" to enforce its hash; or a mapping model -> source (the daemon
    configuration's per-model weights; an absent model means torchvision). All tensors are
    float32 on the CPU; every failure is a WeightsError whose message says how to get working
    weights.
    """
    name = check_model_name(model)
    if isinstance(source, Mapping):
        source = source.get(name, "torchvision")
    if not isinstance(source, str) or not source.strip():
        raise WeightsError("empty weights source: use 'torchvision', 'random' or a file path")
    source = source.strip()
    if source == "torchvision":
        return load_torchvision_features(name)
    if source == "random":
        return random_features(name, seed)
    return load_file_features(name, source)
