"""Paint the test style image: swirling thick brush strokes in a night-sky palette.

No painting ships with any package this project can install offline, so the quality check
uses this deterministic, painting-like picture instead: strong strokes, a small palette and
clear orientation, which is exactly what Gram statistics capture.

    python tests/data/make_style_image.py tests/data/swirl_strokes.png
"""

from __future__ import annotations

import math
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PALETTE = [(18, 38, 94), (32, 70, 150), (64, 110, 190), (120, 160, 210), (235, 205, 80),
           (245, 230, 150), (250, 250, 235), (20, 60, 70), (200, 140, 40)]


def flow_angle(x: float, y: float) -> float:
    """Stroke direction: two vortices over a gentle horizontal drift."""
    angle = 0.3 * math.sin(3 * y)
    for cx, cy, spin in ((0.3, 0.35, 1.0), (0.72, 0.62, -1.0)):
        dx, dy = x - cx, y - cy
        r2 = dx * dx + dy * dy
        weight = math.exp(-r2 / 0.03)
        angle = (1 - weight) * angle + weight * (math.atan2(dy, dx) + spin * math.pi / 2)
    return angle


def paint(size: int = 512, strokes: int = 4500, seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), PALETTE[0])
    draw = ImageDraw.Draw(img)
    for _ in range(strokes):
        x, y = rng.random(2)
        vortices = ((0.3, 0.35), (0.72, 0.62))
        near_vortex = any(math.hypot(x - cx, y - cy) < 0.12 for cx, cy in vortices)
        base = PALETTE[rng.choice([4, 5, 6]) if near_vortex and rng.random() < 0.7
                       else rng.integers(0, len(PALETTE))]
        colour = tuple(int(np.clip(c + rng.normal(0, 14), 0, 255)) for c in base)
        width = int(rng.integers(3, 9))
        points = [(x * size, y * size)]
        for _ in range(int(rng.integers(3, 8))):  # follow the flow for a curved stroke
            a = flow_angle(x, y)
            x, y = x + 0.012 * math.cos(a), y + 0.012 * math.sin(a)
            points.append((x * size, y * size))
        shade = tuple(max(0, c - 45) for c in colour)
        draw.line(points, fill=shade, width=width + 2, joint="curve")
        draw.line(points, fill=colour, width=width, joint="curve")
    return img.filter(ImageFilter.SMOOTH)


if __name__ == "__main__":
    paint().save(sys.argv[1] if len(sys.argv) > 1 else "swirl_strokes.png")
