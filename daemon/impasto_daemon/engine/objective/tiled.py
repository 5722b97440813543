"""The whole-image Gatys loss and its exact gradient, computed tile by tile.

For layers too large for one forward/backward pass. The image is cut into non-overlapping
*cores*; each is processed inside a *crop* that adds a halo of context around it. Every term of
the loss is a sum over feature positions, so each crop contributes the terms of its core's
features, and the gradients of all crops are added into one full-size gradient:

- style: the global Gram matrix G is first summed over all cores (no gradient needed); then the
  gradient of the whole-image style loss reaches each core's features through the surrogate
  <dS/dG, F Fᵀ>, whose gradient equals the true one (S depends on F only through G);
- content, total variation and the range penalty are plain sums over positions.

So one optimiser step sees the same gradient as an untiled step, up to the receptive field
cut off at the halo: the tiles cannot disagree, and there are no seams to blend. As untiled, the
network sees the image inside a band of its own reflection (vgg.MARGIN): the crops are cut from
the padded image, those at its edges reach into the band, and the padding's gradient is folded
back onto the pixels it mirrors.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..planning.tiles import Tile
from ..vgg import CONTENT_LAYER, STYLE_LAYERS, VGGFeatures, margin_for, mirror
from .losses import ContentLoss, StyleLoss, gram_from_sums, gram_sums
from .whole import LossParts, PixelTerms


def _in_band(tile: Tile, margin: int, height: int, width: int) -> Tile:
    """``tile`` in the coordinates of the image padded by ``margin``; crops at an edge take
    the band."""
    def edge(low: int, high: int, size: int) -> tuple[int, int]:
        return low + margin * (low > 0), high + margin + margin * (high == size)

    cy0, cy1 = edge(tile.cy0, tile.cy1, height)
    cx0, cx1 = edge(tile.cx0, tile.cx1, width)
    return Tile(tile.y0 + margin, tile.y1 + margin, tile.x0 + margin, tile.x1 + margin,
                cy0, cy1, cx0, cx1)


def _core_slice(tile: Tile, feature: torch.Tensor, image_height: int, image_width: int):
    """The feature positions of a crop's feature map that belong to its core."""
    fh, fw = feature.shape[-2:]
    sy = (tile.cy1 - tile.cy0) / fh if fh else 1
    sx = (tile.cx1 - tile.cx0) / fw if fw else 1
    down_y, down_x = round(sy), round(sx)
    top, left = (tile.y0 - tile.cy0) // down_y, (tile.x0 - tile.cx0) // down_x
    bottom = fh if tile.y1 == image_height else (tile.y1 - tile.cy0) // down_y
    right = fw if tile.x1 == image_width else (tile.x1 - tile.cx0) // down_x
    return feature[..., top:bottom, left:right]


class TiledObjective:
    """Loss and gradient of a CPU image, one crop at a time on the device.

    Built from the same pieces as the whole-image objective (losses.py): the Gram of the whole
    image is summed over the cores with ``gram_sums`` and scored by the same ``StyleLoss``
    modules, whose gradient with respect to the Gram is then pushed into each crop.
    """

    def __init__(
        self,
        net: VGGFeatures,
        content: torch.Tensor,
        style_targets: Mapping[str, torch.Tensor],
        tiles: list[Tile],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        device: torch.device,
        autocast: bool,
    ) -> None:
        self.net, self.device, self.autocast = net, device, autocast
        height, width = content.shape[-2:]
        self.margin = margin_for(height, width)
        # Everything below works in the coordinates of the padded image.
        self.tiles = [_in_band(t, self.margin, height, width) for t in tiles]
        self.height, self.width = height + 2 * self.margin, width + 2 * self.margin
        self.weights = (content_weight, style_weight)
        self.style_losses = {k: StyleLoss(v).to(device) for k, v in style_targets.items()}
        self.pixel_terms = PixelTerms(style_weight, tv_weight)
        with torch.no_grad():
            padded = mirror(content, self.margin)
            targets = [self._features(padded, tile, [CONTENT_LAYER])[CONTENT_LAYER].float().cpu()
                       for tile in self.tiles]
        # One content loss over the whole target (kept on the CPU); each tile's target is a
        # view of its part, scored with ContentLoss.part.
        self.content_loss = ContentLoss(torch.cat([t.flatten() for t in targets])[None])
        flat, offset, self.content_targets = self.content_loss.target[0], 0, []
        for t in targets:
            self.content_targets.append(flat[offset : offset + t.numel()].view(t.shape))
            offset += t.numel()

    def _features(self, image: torch.Tensor, tile: Tile, layers) -> dict[str, torch.Tensor]:
        crop = image[..., tile.cy0 : tile.cy1, tile.cx0 : tile.cx1].to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            feats = self.net(crop, layers)
        return {k: _core_slice(tile, f, self.height, self.width) for k, f in feats.items()}

    def __call__(self, image: torch.Tensor) -> tuple[LossParts, torch.Tensor]:
        """Whole-image loss parts and the gradient with respect to ``image`` (both on CPU)."""
        content_w, style_w = self.weights
        padded = mirror(image, self.margin)
        sums, positions = self._gram_sums(padded)
        # The style loss of the whole image and its gradient dS/dG, the same for every tile.
        style = torch.zeros((), device=self.device)
        d_gram = {}
        for k, loss in self.style_losses.items():
            gram = gram_from_sums(sums[k], positions[k]).requires_grad_(True)
            value = loss.compare(gram)
            (d_gram[k],) = torch.autograd.grad(value, gram)
            style = style + value.detach()
        grad = torch.zeros_like(padded)
        content = torch.zeros((), device=self.device)
        for tile, target in zip(self.tiles, self.content_targets):
            crop = padded[..., tile.cy0 : tile.cy1, tile.cx0 : tile.cx1]
            crop = crop.to(self.device, copy=True).contiguous().requires_grad_(True)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                feats = self.net(crop, {CONTENT_LAYER, *STYLE_LAYERS})
            core = {k: _core_slice(tile, f, self.height, self.width).float()
                    for k, f in feats.items()}
            c_term = self.content_loss.part(core[CONTENT_LAYER], target.to(self.device))
            # <dS/dG, this core's share of G>: its gradient is the true one for these features.
            surrogate = content_w * c_term
            for k, dg in d_gram.items():
                share = gram_from_sums(gram_sums(core[k]), positions[k])
                surrogate = surrogate + style_w * (dg * share).sum()
            surrogate.backward()
            grad[..., tile.cy0 : tile.cy1, tile.cx0 : tile.cx1] += crop.grad.float().cpu()
            content = content + c_term.detach()
        grad = self._fold(image, grad)
        # The terms on the pixels themselves, on the CPU image at once.
        pixels = image.detach().requires_grad_(True)
        tv, on_pixels = self.pixel_terms(pixels)
        on_pixels.backward()
        grad += pixels.grad
        total = content_w * content.cpu() + style_w * style.cpu() + on_pixels.detach()
        return LossParts(total, content.cpu(), style.cpu(), tv.detach()), grad

    def _fold(self, image: torch.Tensor, padded_grad: torch.Tensor) -> torch.Tensor:
        """The gradient for the padded image as one for ``image``: the band's share goes to
        the pixels it mirrors (the padding's own backward pass)."""
        if not self.margin:
            return padded_grad
        pixels = image.detach().requires_grad_(True)
        mirror(pixels, self.margin).backward(padded_grad)
        return pixels.grad

    def backward(self, image: torch.Tensor, autocast: bool = False) -> LossParts:
        """Same contract as StyleObjective.backward: loss parts, gradient left in image.grad."""
        del autocast  # fixed at construction
        parts, grad = self(image.detach())
        image.grad = grad
        return parts

    @torch.no_grad()
    def _gram_sums(self, padded: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict]:
        """The whole (padded) image's Gram sums and feature positions per style layer, core
        by core."""
        sums: dict[str, torch.Tensor] = {}
        positions = dict.fromkeys(self.style_losses, 0)
        for tile in self.tiles:
            for k, f in self._features(padded, tile, list(self.style_losses)).items():
                sums[k] = sums.get(k, 0) + gram_sums(f)
                positions[k] += f.shape[-2] * f.shape[-1]
        return sums, positions
