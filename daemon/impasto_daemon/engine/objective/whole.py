"""The Gatys objective: one forward pass of VGG, weighted content + style + TV losses, and a
penalty on pixels outside 0..1."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..vgg import VGGFeatures, margin_for
from .losses import ContentLoss, RangeLoss, StyleLoss, TVLoss, gram_from_sums, gram_sums

#: The weight of RangeLoss per unit of style weight: only the style pushes pixels out of range
#: (the content pulls them back to the photo's), so the penalty keeps its share at every
#: strength; a fixed weight let strong styles clip (figures: docs/MEASUREMENTS.md).
RANGE_WEIGHT = 500.0


class PixelTerms(nn.Module):
    """The terms on the pixels themselves: smoothing (TV) and the range penalty, both weighted
    per unit of style weight (speckle and out-of-range pixels are the style's doing, so each
    keeps its share at every strength and a glaze stays as sharp as the photo). One definition
    for the whole-image objective and the tiled one (which takes their gradient on the CPU
    image at once, beside the tiles')."""

    def __init__(self, style_weight: float, tv_weight: float) -> None:
        super().__init__()
        self.tv_weight = tv_weight * style_weight
        self.range_weight = RANGE_WEIGHT * style_weight
        self.tv_loss = TVLoss()
        self.range_loss = RangeLoss()

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The TV loss (unweighted, for reports) and the weighted sum of both terms."""
        tv = self.tv_loss(image) if self.tv_weight > 0 else image.new_zeros(())
        return tv, self.tv_weight * tv + self.range_weight * self.range_loss(image)


@dataclass
class LossParts:
    total: torch.Tensor
    content: torch.Tensor
    style: torch.Tensor
    tv: torch.Tensor


class StyleObjective(nn.Module):
    """Scores an image against fixed targets; only the image passed in gets a gradient.
    ``tv_weight`` is per unit of style weight (PixelTerms)."""

    def __init__(
        self,
        net: VGGFeatures,
        content_layer: str,
        content_target: torch.Tensor,
        style_targets: Mapping[str, torch.Tensor],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
    ) -> None:
        super().__init__()
        self.net = net
        self.content_layer = content_layer
        self.content_loss = ContentLoss(content_target)
        self.style_losses = nn.ModuleDict({k: StyleLoss(v) for k, v in style_targets.items()})
        self.pixel_terms = PixelTerms(style_weight, tv_weight)
        self.weights = (content_weight, style_weight)
        self.wanted = {content_layer, *style_targets}

    def forward(self, image: torch.Tensor, autocast: bool = False) -> LossParts:
        content_w, style_w = self.weights
        with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=autocast):
            feats = self.net(image, self.wanted, margin_for(*image.shape[-2:]))
        content = self.content_loss(feats[self.content_layer])
        style = sum(loss(feats[k]) for k, loss in self.style_losses.items())
        tv, on_pixels = self.pixel_terms(image)
        total = content_w * content + style_w * style + on_pixels
        return LossParts(total, content, style, tv)

    def backward(self, image: torch.Tensor, autocast: bool = False) -> LossParts:
        """Evaluate and leave the gradient in ``image.grad`` (the optimiser's one entry point)."""
        parts = self(image, autocast=autocast)
        parts.total.backward()
        return parts


@torch.no_grad()
def style_grams(
    net: VGGFeatures,
    image: torch.Tensor,
    layers: Sequence[str],
    autocast: bool = False,
    strips: Sequence[tuple[int, int]] | None = None,
) -> dict[str, torch.Tensor]:
    """Gram matrices of one style image, the only thing the optimisation needs from it.

    A Gram matrix is a sum over positions, so a style image too large for one pass is read in
    ``strips`` of rows (planning/plan.py decides them) and the sums are added: exact but for
    the strips' borders.
    """
    device = next(net.parameters()).device
    sums: dict[str, torch.Tensor] = {}
    positions = dict.fromkeys(layers, 0)
    for y0, y1 in strips or [(0, image.shape[-2])]:
        strip = image[..., y0:y1, :].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            feats = net(strip, layers)
        for k in layers:
            sums[k] = sums.get(k, 0) + gram_sums(feats[k])
            positions[k] += feats[k].shape[-2] * feats[k].shape[-1]
    return {k: gram_from_sums(sums[k], positions[k]) for k in layers}


@torch.no_grad()
def content_features(
    net: VGGFeatures, image: torch.Tensor, layer: str, autocast: bool = False
) -> torch.Tensor:
    with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=autocast):
        return net(image, [layer], margin_for(*image.shape[-2:]))[layer].float()
