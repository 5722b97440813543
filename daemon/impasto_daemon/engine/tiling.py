"""Overlapping tiles for layers too large to optimise at once, and seamless stitching.

Tiles share the layer's global style targets and start from the coarser scale's whole-image
result, so they agree; overlaps are cross-faded with linear ramps so no border shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Tile:
    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if tile >= length:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    step = (length - tile) / (count - 1)
    return [round(i * step) for i in range(count)]


def plan_tiles(height: int, width: int, max_pixels: int, overlap: int) -> list[Tile]:
    """Square-ish tiles of at most ``max_pixels`` covering the image with ``overlap`` px shared.

    Raises ValueError when even a tile of twice the overlap would not fit.
    """
    if height * width <= max_pixels:
        return [Tile(0, height, 0, width)]
    side = int(math.sqrt(max_pixels))
    if side < 2 * overlap + 16:
        raise ValueError(
            f"a {side}x{side} px tile is too small to tile with {overlap} px overlaps"
        )
    th, tw = min(side, height), min(side, width)
    if th < side:  # a short, wide image: spend the spare pixels on width
        tw = min(width, max_pixels // th)
    elif tw < side:
        th = min(height, max_pixels // tw)
    return [
        Tile(y, y + th, x, x + tw)
        for y in _starts(height, th, overlap)
        for x in _starts(width, tw, overlap)
    ]


def feather(tile: Tile, height: int, width: int, overlap: int) -> torch.Tensor:
    """1x1xHxW weights rising linearly across overlaps, flat 1 inside and at image borders."""

    def ramp(n: int, at_start: bool, at_end: bool) -> torch.Tensor:
        w = torch.ones(n)
        r = min(overlap, n // 2)
        if r > 0:
            edge = (torch.arange(r, dtype=torch.float32) + 0.5) / r
            if not at_start:
                w[:r] = edge
            if not at_end:
                w[n - r :] = edge.flip(0)
        return w

    wy = ramp(tile.height, tile.y0 == 0, tile.y1 == height)
    wx = ramp(tile.width, tile.x0 == 0, tile.x1 == width)
    return (wy[:, None] * wx[None, :])[None, None]


class Canvas:
    """Accumulates weighted tiles; ``result`` divides by the summed weights."""

    def __init__(self, channels: int, height: int, width: int, overlap: int, blend: bool = True):
        self.sum = torch.zeros(1, channels, height, width)
        self.weight = torch.zeros(1, 1, height, width)
        self.overlap = overlap if blend else 0
        self.height, self.width = height, width

    def add(self, tile: Tile, pixels: torch.Tensor) -> None:
        w = feather(tile, self.height, self.width, self.overlap)
        if self.overlap == 0:  # unblended: later tiles simply overwrite (for comparison only)
            self.sum[..., tile.y0 : tile.y1, tile.x0 : tile.x1] = pixels.cpu().float()
            self.weight[..., tile.y0 : tile.y1, tile.x0 : tile.x1] = 1
            return
        self.sum[..., tile.y0 : tile.y1, tile.x0 : tile.x1] += pixels.cpu().float() * w
        self.weight[..., tile.y0 : tile.y1, tile.x0 : tile.x1] += w

    def result(self) -> torch.Tensor:
        return self.sum / self.weight.clamp_min(1e-8)
