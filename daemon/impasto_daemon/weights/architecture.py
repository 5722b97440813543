"""The torchvision VGG feature-extractor layouts every weights source is checked against."""

from __future__ import annotations

from functools import cache

import torch

from ..settings import MODELS
from .info import WeightsError

CONV_COUNT = {"vgg16": 13, "vgg19": 16}


def check_model_name(model: str) -> str:
    """Normalise a model name, refusing anything but the two VGGs the engine knows."""
    name = model.strip().lower()
    if name not in MODELS:
        raise WeightsError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    return name


@cache
def feature_shapes(model: str) -> dict[str, tuple[int, ...]]:
    """Shapes of torchvision's `vggNN().features` state dict, keyed "0.weight", "0.bias", ...

    Built on the meta device so it costs no memory and no init time, yet stays exactly
    torchvision's own architecture rather than a copy of it that could drift.
    """
    import torchvision

    name = check_model_name(model)
    with torch.device("meta"):
        features = getattr(torchvision.models, name)(weights=None).features
    return {key: tuple(t.shape) for key, t in features.state_dict().items()}


def conv_keys(model: str) -> list[str]:
    """The feature-module indices of the convolutions, in network order ("0", "2", "5", ...)."""
    keys = [k[: -len(".weight")] for k in feature_shapes(model) if k.endswith(".weight")]
    return sorted(keys, key=int)


def check_features(state: dict[str, torch.Tensor], model: str, origin: str) -> None:
    """Refuse a features dict whose keys or shapes are not torchvision's for `model`.

    The message names the first offending key and both shapes, so a user who picked the
    wrong file (VGG16 for VGG19, a batch-norm variant, another network) sees why at once.
    """
    expected = feature_shapes(model)
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}")
        if extra:
            parts.append(f"unexpected {', '.join(extra[:4])}{' ...' if len(extra) > 4 else ''}")
        raise WeightsError(
            f"{origin} does not hold {model.upper()} features ({'; '.join(parts)}); "
            f"is it a {'VGG19' if model == 'vgg16' else 'VGG16'} or batch-norm file?"
        )
    for key, shape in expected.items():
        tensor = state[key]
        if not isinstance(tensor, torch.Tensor):
            raise WeightsError(f"{origin}: {key} is a {type(tensor).__name__}, not a tensor")
        if tuple(tensor.shape) != shape:
            raise WeightsError(
                f"{origin}: {key} has shape {tuple(tensor.shape)}, but {model.upper()} "
                f"needs {shape}"
            )
        if not tensor.is_floating_point():
            raise WeightsError(f"{origin}: {key} has dtype {tensor.dtype}, not a float type")
        if not bool(torch.isfinite(tensor).all()):
            raise WeightsError(f"{origin}: {key} holds NaN or infinite values (corrupt file?)")
