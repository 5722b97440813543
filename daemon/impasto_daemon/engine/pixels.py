"""Conversions between artists' pixels (uint8 arrays, any channel count) and model tensors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class SplitImage:
    """An image split into what the network sees (RGB) and what it must never touch (alpha)."""

    rgb: torch.Tensor  # 1x3xHxW float in [0, 1]
    alpha: np.ndarray | None  # HxW uint8, None when the source had no alpha


def split_pixels(pixels: np.ndarray) -> SplitImage:
    """Accept grey, grey+alpha, RGB or RGBA uint8 pixels."""
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, got {pixels.dtype}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"pixels must be HxWxC with C in 1..4, got shape {pixels.shape}")
    h, w, c = pixels.shape
    if h < 1 or w < 1:
        raise ValueError("image is empty")
    alpha = pixels[:, :, c - 1].copy() if c in (2, 4) else None
    colour = pixels[:, :, :3] if c >= 3 else np.repeat(pixels[:, :, :1], 3, axis=2)
    rgb = torch.from_numpy(np.array(colour)).permute(2, 0, 1)[None].float() / 255.0  # own copy
    rgb = rgb.contiguous()
    return SplitImage(rgb=rgb, alpha=alpha)


def to_rgba(rgb: torch.Tensor, alpha: np.ndarray | None) -> np.ndarray:
    """1x3xHxW float → HxWx4 uint8 with the source alpha copied back untouched."""
    out = (rgb[0].clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    h, w, _ = out.shape
    a = alpha if alpha is not None else np.full((h, w), 255, np.uint8)
    return np.ascontiguousarray(np.dstack([out, a]))


def as_picture(rgb: torch.Tensor) -> np.ndarray:
    """One 3xHxW float image in [0, 1] as an HxWx3 float array in 0..255, as the pictures'
    own measures (strength/photo_kept.py) take them, without rounding to uint8."""
    return (rgb.detach().float().clamp(0, 1) * 255.0).permute(1, 2, 0).cpu().numpy()


def resize(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Area-averaging when shrinking (no aliasing), bicubic when growing."""
    h, w = image.shape[-2:]
    if (h, w) == (height, width):
        return image
    if height <= h and width <= w:
        return F.interpolate(image, size=(height, width), mode="area")
    grown = F.interpolate(image, size=(height, width), mode="bicubic", align_corners=False)
    return grown.clamp(0, 1)


def fit_long_side(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) scaled so the longer side is ``long_side``, the other side at least 1."""
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


#: long side of a live-progress preview frame when the caller names none
PREVIEW_SIZE = 128


def preview(rgb: torch.Tensor, max_side: int = PREVIEW_SIZE) -> np.ndarray:
    """A small HxWx3 uint8 thumbnail for live progress."""
    h, w = rgb.shape[-2:]
    ph, pw = fit_long_side(h, w, min(max_side, max(h, w)))
    small = resize(rgb.detach().float(), ph, pw)
    return to_rgba(small, None)[:, :, :3].copy()
