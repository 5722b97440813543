"""Style pictures for the quality harness, painted at run time (deterministic, seeded).

Each stresses a known weakness of Gatys-type engines: a dark star field (washed-out grey
blotches, speckle on black), bold flat colour strokes (colour speckle between flat areas) and a
mosaic of flat tiles with dark grout (fringes, clipped colours). The swirl painting is
tests/data/swirl_strokes.png (make_style_image.py).

    python tests/data/quality_styles.py OUT_DIR     # writes the three as PNGs to look at
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def star_field(size: int = 384, seed: int = 11) -> np.ndarray:
    """Near-black sky with a faint blue-violet nebula and a few thousand white and tinted
    stars of different sizes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    glow = np.exp(-((x - 0.6) ** 2 / 0.08 + (y - 0.4) ** 2 / 0.02 - 0.5 * (x - 0.6) * (y - 0.4)))
    sky = np.stack([8 + 30 * glow, 8 + 12 * glow, 20 + 45 * glow], axis=2)
    sky += rng.normal(0, 2.5, sky.shape)
    img = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    tints = [(255, 255, 255), (255, 240, 210), (200, 220, 255), (255, 210, 170)]
    for _ in range(size * size // 100):
        cx, cy = rng.random(2) * size
        r = rng.choice([0.5, 0.5, 0.5, 1.0, 1.5, 2.5], p=[0.4, 0.2, 0.2, 0.1, 0.07, 0.03])
        level = rng.uniform(0.35, 1.0)
        colour = tuple(int(c * level) for c in tints[rng.integers(len(tints))])
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    return np.asarray(img.filter(ImageFilter.GaussianBlur(0.6)))


def bold_strokes(size: int = 384, seed: int = 12) -> np.ndarray:
    """Wide, flat, saturated strokes (red, orange, teal, ultramarine, cream) on a warm ground,
    crossing at a few dominant angles."""
    rng = np.random.default_rng(seed)
    palette = [(200, 40, 35), (240, 150, 30), (20, 130, 130), (30, 50, 160), (245, 230, 200),
               (30, 30, 30)]
    img = Image.new("RGB", (size, size), (230, 200, 150))
    draw = ImageDraw.Draw(img)
    angles = rng.uniform(0, np.pi, 3)
    for _ in range(size // 2):
        x, y = rng.random(2) * size
        a = angles[rng.integers(3)] + rng.normal(0, 0.15)
        length = rng.uniform(0.1, 0.35) * size
        dx, dy = np.cos(a) * length / 2, np.sin(a) * length / 2
        width = int(rng.integers(size // 40, size // 14))
        colour = palette[rng.integers(len(palette))]
        draw.line([(x - dx, y - dy), (x + dx, y + dy)], fill=colour, width=width)
    return np.asarray(img.filter(ImageFilter.SMOOTH))


def mosaic(size: int = 384, seed: int = 13, tiles: int = 260) -> np.ndarray:
    """Voronoi tiles of flat jewel colours separated by dark grout lines."""
    rng = np.random.default_rng(seed)
    centres = rng.random((tiles, 2)) * size
    palette = np.array([(180, 30, 60), (30, 90, 170), (230, 180, 40), (40, 140, 80),
                        (220, 220, 210), (120, 60, 150), (210, 100, 40)], np.float64)
    colours = palette[rng.integers(len(palette), size=tiles)] + rng.normal(0, 10, (tiles, 3))
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    first = np.full((size, size), np.inf)
    second = np.full((size, size), np.inf)
    nearest = np.zeros((size, size), int)
    for i, (cx, cy) in enumerate(centres):  # keep the two nearest centres, one tile at a time
        d = np.hypot(x - cx, y - cy)
        closer = d < first
        second = np.where(closer, first, np.minimum(second, d))
        nearest = np.where(closer, i, nearest)
        first = np.where(closer, d, first)
    grout = (second - first) < 2.2
    rgb = colours[nearest]
    rgb[grout] = (35, 30, 28)
    return np.clip(rgb, 0, 255).astype(np.uint8)


STYLES = {"star_field": star_field, "bold_strokes": bold_strokes, "mosaic": mosaic}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for name, paint in STYLES.items():
        Image.fromarray(paint()).save(out / f"{name}.png")
