"""Seeded random VGG weights for tests and offline demos, never mistakable for a real model."""

from __future__ import annotations

import math

import torch

from .architecture import check_model_name, feature_shapes
from .info import WeightsInfo


def random_features(model: str, seed: int = 0) -> tuple[dict[str, torch.Tensor], WeightsInfo]:
    """Kaiming-normal (fan_in, ReLU gain) convolutions with zero bias, from a seeded generator.

    fan_in keeps the activation variance roughly constant through all 16 convolutions, so
    features and Gram matrices stay finite and varied at every style layer. A private CPU
    generator makes the result the same on every run and device, and leaves the global RNG
    alone.
    """
    name = check_model_name(model)
    generator = torch.Generator().manual_seed(int(seed))
    features: dict[str, torch.Tensor] = {}
    for key, shape in feature_shapes(name).items():
        if key.endswith(".bias"):
            features[key] = torch.zeros(shape)
            continue
        fan_in = math.prod(shape[1:])
        std = math.sqrt(2.0 / fan_in)
        features[key] = torch.randn(shape, generator=generator) * std
    label = f"RANDOM weights (seed {seed}) - not a real model"
    return features, WeightsInfo(name, "random", label, True, None, None)
