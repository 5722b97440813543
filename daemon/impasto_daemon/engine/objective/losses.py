"""The Gatys objective's pieces, each defined here once: the Gram matrix, the relative error,
and the loss modules that hold their targets as buffers (so they move with ``.to(device)``).

Content and style losses are relative errors (MSE divided by the target's mean square), so one
set of default weights works whatever the scale of the network's activations: torchvision's
VGG, an imported Caffe-convention VGG (activations ~100x larger) and random weights alike.

The whole-image objective (whole.py) and the tiled one (tiled.py) are both built from
these: a Gram is a sum over positions (``gram_sums``) normalised once (``gram_from_sums``), so
an image read in strips or tiles gives the same Gram as one read whole.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gram_sums(features: torch.Tensor) -> torch.Tensor:
    """Unnormalised channel correlations B x C x C, summed over positions, in fp32."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w).float()
    with torch.autocast(device_type=features.device.type, enabled=False):
        return torch.bmm(flat, flat.transpose(1, 2))


def gram_from_sums(sums: torch.Tensor, positions: int) -> torch.Tensor:
    """The normalised Gram: sums divided by channels x positions (independent of image size)."""
    return sums / (sums.shape[-1] * max(positions, 1))


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel correlations normalised by C·H·W, accumulated in fp32 even under autocast."""
    return gram_from_sums(gram_sums(features), features.shape[-2] * features.shape[-1])


def inverse_mean_square(target: torch.Tensor) -> torch.Tensor:
    """What makes an error relative: 1 / mean(target²), per item of the leading dimension."""
    return 1.0 / target.float().pow(2).flatten(1).mean(1).clamp_min(1e-12)


class ContentLoss(nn.Module):
    """Squared error between features and the content image's, relative to the target's size.

    With a batch of layers each is measured against its own target and the losses averaged,
    so every layer gets the gradient it would get alone (divided by the batch size).
    """

    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        target = target.detach().float()
        self.register_buffer("target", target)
        self.register_buffer("scale", inverse_mean_square(target))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        error = (features.float() - self.target).pow(2).flatten(1).mean(1)
        return (error * self.scale).mean()

    def part(self, features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss's share from some positions of a one-layer target (``target`` their part
        of it): the shares of positions that do not overlap add up to the whole's loss, which
        is how the tiled objective scores its cores."""
        error = (features.float() - target).pow(2).sum()
        return error * self.scale[0] / self.target.numel()


class StyleLoss(nn.Module):
    """Squared error between Gram matrices relative to the target Gram's size; the target may
    blend several style images. ``compare`` scores a Gram directly (the tiled objective sums
    its Gram over tiles first)."""

    def __init__(self, target_gram: torch.Tensor) -> None:
        super().__init__()
        target = target_gram.detach().float()
        self.register_buffer("target", target)
        self.register_buffer("scale", inverse_mean_square(target)[0])

    def compare(self, gram: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(gram, self.target.expand_as(gram)) * self.scale

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.compare(gram_matrix(features))


#: How far inside 0..1 RangeLoss's bounds lie: two levels of 255. A quadratic penalty leaves a
#: pixel the style pulls outward a little beyond its bound, where the pulls balance; with the
#: bounds at 0 and 1 those pixels still rounded to 0 or 255 (docs/MEASUREMENTS.md).
HEADROOM = 2 / 255


class RangeLoss(nn.Module):
    """Mean squared excess of the pixels beyond HEADROOM..1-HEADROOM. L-BFGS moves the pixels
    freely, parks some beyond the range, and the final clamp then flattens them into clipped
    patches; with this term they stay inside (weighted by objective.RANGE_WEIGHT)."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        image = image.float()
        return (image - image.detach().clamp(HEADROOM, 1 - HEADROOM)).pow(2).mean()


class TVLoss(nn.Module):
    """Total variation: mean squared difference of neighbouring pixels, against speckle."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        dx = image[..., :, 1:] - image[..., :, :-1]
        dy = image[..., 1:, :] - image[..., :-1, :]
        return dx.float().pow(2).mean() + dy.float().pow(2).mean()
