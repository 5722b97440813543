"""Where a scale too large for one pass is cut: cores on the feature grid, each inside a crop
that adds a halo of context (objective/tiled.py computes the loss over them)."""

from __future__ import annotations

from dataclasses import dataclass

from ..vgg import seen_pixels

ALIGN = 16  # relu5_1 sees the image at 1/16: cores start on this grid so features line up


@dataclass(frozen=True)
class Tile:
    """A core [y0, y1) x [x0, x1) and the crop around it that gives it context."""

    y0: int
    y1: int
    x0: int
    x1: int
    cy0: int
    cy1: int
    cx0: int
    cx1: int

    @property
    def crop_pixels(self) -> int:
        return (self.cy1 - self.cy0) * (self.cx1 - self.cx0)


def plan_tiles(height: int, width: int, max_pixels: int, halo: int) -> list[Tile]:
    """Cores on the 16-px grid whose crops (core + halo) hold at most ``max_pixels``.

    One tile covering everything when the image and its mirrored band fit. A crop at the
    image's edge reaches into the band instead of the halo it lacks there (the band is never
    wider than the halo). Raises ValueError if no core fits.
    """
    if seen_pixels(height, width) <= max_pixels:
        return [Tile(0, height, 0, width, 0, height, 0, width)]
    side = int(max_pixels**0.5) - 2 * halo
    core = side // ALIGN * ALIGN
    if core < ALIGN:
        raise ValueError(f"tiles of {max_pixels} px leave no room inside a {halo} px halo")
    ch, cw = min(core, height), min(core, width)
    tiles = []
    for y0 in range(0, height, ch):
        for x0 in range(0, width, cw):
            y1, x1 = min(y0 + ch, height), min(x0 + cw, width)
            tiles.append(Tile(y0, y1, x0, x1, max(0, y0 - halo), min(height, y1 + halo),
                              max(0, x0 - halo), min(width, x1 + halo)))
    return tiles


def halo_for(max_pixels: int) -> int:
    """Context around each core: a quarter of the tile side, on the grid, 16 to 128 px."""
    return max(ALIGN, min(128, int(max_pixels**0.5) // 4 // ALIGN * ALIGN))
