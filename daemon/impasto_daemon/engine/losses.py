"""Loss modules, each holding its target as a buffer so they move with ``.to(device)``.

Content and style losses are relative errors (MSE divided by the target's mean square), so one
set of default weights works whatever the scale of the network's activations: torchvision's
VGG, an imported Caffe-convention VGG (activations ~100x larger) and random weights alike.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel correlations normalised by C·H·W, accumulated in fp32 even under autocast."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w).float()
    with torch.autocast(device_type=features.device.type, enabled=False):
        return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def _inverse_mean_square(target: torch.Tensor) -> torch.Tensor:
    return 1.0 / target.float().pow(2).mean().clamp_min(1e-12)


class ContentLoss(nn.Module):
    """Squared error between features and the content image's, relative to the target's size.

    With a batch of layers each is measured against its own target and the losses averaged,
    so every layer gets the gradient it would get alone (divided by the batch size).
    """

    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        target = target.detach().float()
        self.register_buffer("target", target)
        per_layer = target.pow(2).flatten(1).mean(1).clamp_min(1e-12)
        self.register_buffer("scale", 1.0 / per_layer)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        error = (features.float() - self.target).pow(2).flatten(1).mean(1)
        return (error * self.scale).mean()


class StyleLoss(nn.Module):
    """Squared error between Gram matrices relative to the target Gram's size; the target may
    blend several style images."""

    def __init__(self, target_gram: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("target", target_gram.detach().float())
        self.register_buffer("scale", _inverse_mean_square(target_gram))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        gram = gram_matrix(features)
        return F.mse_loss(gram, self.target.expand_as(gram)) * self.scale


class TVLoss(nn.Module):
    """Total variation: mean squared difference of neighbouring pixels, against speckle."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        dx = image[..., :, 1:] - image[..., :, :-1]
        dy = image[..., 1:, :] - image[..., :-1, :]
        return dx.float().pow(2).mean() + dy.float().pow(2).mean()
