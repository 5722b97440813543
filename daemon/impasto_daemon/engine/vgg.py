"""VGG as a feature extractor: the layers users know by name, average pooling, frozen.

Built from torchvision's architecture so any torchvision-format weights load unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models as tv_models

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Convolutions per block; the only difference between the two networks.
BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}

PADDINGS = ("zeros", "replicate", "reflect")

#: Where the photo is held: relu3_1, a layer shallower than Gatys' relu4_2, whose features hold
#: so little of a flat photo that the style either barely moved it or took it over; at relu3_1
#: the strength control is gradual and the photo keeps more of its edges (docs/MEASUREMENTS.md).
CONTENT_LAYER = "relu3_1"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

#: Pixels of the picture mirrored around it before the network sees it; the features of the
#: mirrored band are dropped. Zero padding makes VGG see a dark frame at the borders, and the
#: optimisation paints one (a frame a few pixels inside the edges); with the picture's own
#: reflection there, the border pixels are judged in context. A multiple of 16, so the band
#: is whole feature positions at every layer (its cost and effect: docs/MEASUREMENTS.md).
MARGIN = 16


def margin_for(height: int, width: int) -> int:
    """The mirrored band for an image of this size: none where a side is too thin to mirror."""
    return MARGIN if min(height, width) > MARGIN else 0


def seen_pixels(height: int, width: int) -> int:
    """The pixels the network reads for an image of this size, its mirrored band included."""
    margin = margin_for(height, width)
    return (height + 2 * margin) * (width + 2 * margin)


def mirror(image: torch.Tensor, margin: int) -> torch.Tensor:
    """``image`` inside a band of its own reflection ``margin`` pixels wide."""
    return F.pad(image, (margin,) * 4, mode="reflect") if margin else image


def layer_stride(name: str) -> int:
    """How many image pixels one position of layer ``name`` (convK_i / reluK_i) stands for."""
    return 2 ** (int(name[4]) - 1)


def layer_channels(name: str) -> int:
    """Channels of layer ``name`` (convK_i / reluK_i): 64 in block 1, doubling to 512."""
    return min(64 * layer_stride(name), 512)


def layer_names(model: str) -> list[str]:
    """Names of torchvision's ``features`` modules in order: conv1_1, relu1_1, …, pool5."""
    names = []
    for block, convs in enumerate(BLOCKS[model], start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


class VGGFeatures(nn.Module):
    """Maps an RGB image in [0, 1] to the named activations asked for.

    ImageNet normalisation happens inside, so callers never think about it; the network is cut
    after the deepest layer in use, and its parameters never receive gradients.
    """

    def __init__(
        self,
        model: str,
        state_dict: Mapping[str, torch.Tensor],
        layers: Iterable[str],
        pooling: str = "avg",
        padding: str = "zeros",
    ) -> None:
        super().__init__()
        if model not in BLOCKS:
            raise ValueError(f"unknown model {model!r}; choose from {', '.join(BLOCKS)}")
        names = layer_names(model)
        wanted = set(layers)
        missing = wanted - set(names)
        if missing:
            raise ValueError(f"{model} has no layer(s) {', '.join(sorted(missing))}")
        # Built on the meta device: torchvision's layout without initialising 140M parameters
        # (mostly the classifier we drop) that the state dict replaces anyway.
        with torch.device("meta"):
            features = getattr(tv_models, model)(weights=None).features
        features.load_state_dict(dict(state_dict), assign=True)
        depth = max(names.index(n) for n in wanted) + 1
        self.names = names[:depth]
        self.layers = nn.ModuleList(_adapt(m, pooling, padding) for m in list(features)[:depth])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def forward(
        self, image: torch.Tensor, wanted: Iterable[str], margin: int = 0
    ) -> dict[str, torch.Tensor]:
        """The named activations of ``image``, seen with ``margin`` pixels of its reflection
        around it (see MARGIN) and cropped back to the image's own positions."""
        if margin:
            out = self.forward(mirror(image, margin), wanted)
            return {k: _crop(f, margin // layer_stride(k)) for k, f in out.items()}
        wanted = set(wanted)
        out: dict[str, torch.Tensor] = {}
        x = (image - self.mean) / self.std
        if x.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)  # tensor cores' preferred layout
        for name, layer in zip(self.names, self.layers):
            x = layer(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break
        return out


def _crop(features: torch.Tensor, band: int) -> torch.Tensor:
    return features[..., band : features.shape[-2] - band, band : features.shape[-1] - band]


def _adapt(module: nn.Module, pooling: str, padding: str) -> nn.Module:
    """Pooling as asked; ReLU not in place; convolutions padded by ``padding``. "zeros" (as the
    network was trained) is the default: replicate padding gave worse frames, because every
    border pixel then gets the gradient of its padded copies too (docs/MEASUREMENTS.md)."""
    if isinstance(module, nn.Conv2d):
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {', '.join(PADDINGS)}, got {padding!r}")
        module.padding_mode = padding
        return module
    if isinstance(module, nn.ReLU):
        return nn.ReLU(inplace=False)  # in-place would overwrite activations we read
    if isinstance(module, nn.MaxPool2d):
        if pooling == "avg":
            return nn.AvgPool2d(kernel_size=2, stride=2)
        if pooling != "max":
            raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
    return module
