"""Colour helpers: the start's colours moved toward the style's, and the original colours put
back at the end (keep the stylised luminance, restore the content's chroma)."""

from __future__ import annotations

import torch

# ITU-R BT.601 YIQ; the inverse is computed so the round trip is exact to float precision.
_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]]
)
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


def rgb_to_yiq(rgb: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", _RGB_TO_YIQ.to(rgb), rgb)


def yiq_to_rgb(yiq: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", _YIQ_TO_RGB.to(yiq), yiq)


def preserve_colors(stylised: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance of ``stylised`` with the chroma (I, Q) of ``content``; same shapes required."""
    y = rgb_to_yiq(stylised)[:, :1]
    iq = rgb_to_yiq(content)[:, 1:]
    return yiq_to_rgb(torch.cat([y, iq], dim=1))


def channel_moments(rgb: torch.Tensor) -> torch.Tensor:
    """Each channel's mean and mean square over all pixels, 2 x 3. Moments add: a weighted sum
    of several images' moments is their blend's, as a weighted sum of Grams is."""
    dims = (0, 2, 3)  # reduced in place: a large style image is not copied
    positions = rgb.numel() // rgb.shape[1]
    mean_square = torch.linalg.vector_norm(rgb, dim=dims).pow(2) / positions
    return torch.stack([rgb.mean(dims), mean_square]).float()


def toward_colours(image: torch.Tensor, moments: torch.Tensor, share: float) -> torch.Tensor:
    """``image`` (N x 3 x h x w) with each channel shifted and scaled toward the mean and spread
    that ``moments`` describe, by ``share`` (0 unchanged, 1 matched), each picture on its own.
    Only the colours move; the picture's shapes stay where they are."""
    mean, mean_square = moments.to(image).view(2, 1, 3, 1, 1)
    spread = (mean_square - mean.pow(2)).clamp_min(0).sqrt()
    own_mean = image.mean((2, 3), keepdim=True)
    own_spread = image.std((2, 3), keepdim=True, unbiased=False).clamp_min(1 / 255)
    matched = ((image - own_mean) / own_spread * spread + mean).clamp(0, 1)
    return image + share * (matched - image)
