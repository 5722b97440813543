"""Photographs the wide quality harness needs but no offline package ships: painted here.

No offline package ships a face photograph we may use, nor a night street or a line drawing;
these stand in, deterministic and soft-edged
like a photo, with the features a takeover erases first: eyes and a mouth, lit windows on a
dark street, thin black lines on white.

    python benchmarks/painted_photos.py OUT_DIR     # writes them as PNGs to look at
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def portrait(width: int = 384, height: int = 480, seed: int = 21) -> np.ndarray:
    """A head and shoulders against a graded grey-blue backdrop: skin, dark hair, eyes with
    irises, brows, a nose shadow, lips, a collar."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / height
    backdrop = np.stack([110 + 40 * x, 125 + 35 * x, 150 + 30 * y], axis=2)
    img = Image.fromarray(np.clip(backdrop, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    w, h = width, height
    d.ellipse([0.12 * w, 0.78 * h, 0.88 * w, 1.4 * h], fill=(60, 70, 95))  # shoulders
    d.polygon([(0.42 * w, 0.78 * h), (0.5 * w, 0.9 * h), (0.58 * w, 0.78 * h)],
              fill=(235, 232, 225))  # collar
    d.rectangle([0.43 * w, 0.6 * h, 0.57 * w, 0.8 * h], fill=(205, 160, 135))  # neck
    d.ellipse([0.26 * w, 0.1 * h, 0.74 * w, 0.52 * h], fill=(55, 38, 30))  # hair
    d.ellipse([0.31 * w, 0.2 * h, 0.69 * w, 0.7 * h], fill=(225, 180, 150))  # face
    d.chord([0.29 * w, 0.12 * h, 0.71 * w, 0.42 * h], 180, 360, fill=(55, 38, 30))  # fringe
    for cx in (0.41, 0.59):
        d.ellipse([(cx - 0.05) * w, 0.4 * h, (cx + 0.05) * w, 0.45 * h], fill=(250, 248, 245))
        d.ellipse([(cx - 0.022) * w, 0.402 * h, (cx + 0.022) * w, 0.448 * h], fill=(70, 110, 90))
        d.ellipse([(cx - 0.01) * w, 0.415 * h, (cx + 0.01) * w, 0.435 * h], fill=(15, 12, 10))
        d.line([((cx - 0.06) * w, 0.375 * h), ((cx + 0.05) * w, 0.365 * h)],
               fill=(60, 40, 30), width=max(2, w // 80))  # brows
    d.polygon([(0.5 * w, 0.45 * h), (0.47 * w, 0.55 * h), (0.53 * w, 0.55 * h)],
              fill=(200, 150, 125))  # nose shadow
    d.chord([0.43 * w, 0.57 * h, 0.57 * w, 0.63 * h], 0, 180, fill=(175, 75, 80))  # lips
    d.line([(0.43 * w, 0.6 * h), (0.57 * w, 0.6 * h)], fill=(120, 50, 55), width=2)
    soft = np.asarray(img.filter(ImageFilter.GaussianBlur(w / 300)), np.float64)
    return np.clip(soft + rng.normal(0, 3, soft.shape), 0, 255).astype(np.uint8)


def night_street(width: int = 480, height: int = 320, seed: int = 22) -> np.ndarray:
    """Dusk-blue sky over black building silhouettes with lit yellow windows, street lamps
    with a glow, and their reflections on a wet road."""
    rng = np.random.default_rng(seed)
    y = np.mgrid[0:height, 0:width][0] / height
    sky = np.stack([10 + 25 * (1 - y), 15 + 35 * (1 - y), 40 + 60 * (1 - y)], axis=2)
    img = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    x = 0.0
    while x < width:
        bw, top = rng.uniform(0.08, 0.18) * width, rng.uniform(0.15, 0.5) * height
        d.rectangle([x, top, x + bw, 0.72 * height], fill=(8, 8, 12))
        for wy in np.arange(top + 8, 0.68 * height, 14):
            for wx in np.arange(x + 5, x + bw - 8, 12):
                if rng.random() < 0.35:
                    d.rectangle([wx, wy, wx + 6, wy + 7], fill=(250, 210, 110))
        x += bw + rng.uniform(0, 0.02) * width
    d.rectangle([0, 0.72 * height, width, height], fill=(18, 18, 24))  # road
    glow = Image.new("RGB", (width, height))
    g = ImageDraw.Draw(glow)
    for lx in np.linspace(0.1, 0.9, 4) * width:
        d.line([(lx, 0.45 * height), (lx, 0.75 * height)], fill=(40, 40, 45), width=3)
        g.ellipse([lx - 18, 0.45 * height - 18, lx + 18, 0.45 * height + 18],
                  fill=(255, 200, 120))
        g.rectangle([lx - 4, 0.76 * height, lx + 4, 0.98 * height], fill=(120, 90, 50))
    lit = np.asarray(img, np.float64) + np.asarray(glow.filter(ImageFilter.GaussianBlur(9)))
    return np.clip(lit + rng.normal(0, 2, lit.shape), 0, 255).astype(np.uint8)


def sketch(width: int = 448, height: int = 336, seed: int = 23) -> np.ndarray:
    """A line drawing: black strokes on white paper (a house, a tree, a path, hills, the sun)."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (width, height), (250, 250, 247))
    d = ImageDraw.Draw(img)
    w, h, ink, line = width, height, (25, 25, 30), max(2, width // 200)
    d.line([(0, 0.7 * h), (0.3 * w, 0.62 * h), (0.6 * w, 0.68 * h), (w, 0.6 * h)], fill=ink,
           width=line)
    d.rectangle([0.2 * w, 0.42 * h, 0.45 * w, 0.75 * h], outline=ink, width=line)
    d.polygon([(0.17 * w, 0.43 * h), (0.325 * w, 0.22 * h), (0.48 * w, 0.43 * h)], outline=ink,
              width=line)
    d.rectangle([0.3 * w, 0.58 * h, 0.36 * w, 0.75 * h], outline=ink, width=line)
    for wx in (0.23, 0.39):
        d.rectangle([wx * w, 0.48 * h, (wx + 0.04) * w, 0.54 * h], outline=ink, width=line)
    d.line([(0.7 * w, 0.8 * h), (0.71 * w, 0.45 * h)], fill=ink, width=line + 1)
    d.ellipse([0.6 * w, 0.2 * h, 0.82 * w, 0.5 * h], outline=ink, width=line)
    d.ellipse([0.85 * w, 0.08 * h, 0.95 * w, 0.21 * h], outline=ink, width=line)
    d.line([(0.33 * w, 0.75 * h), (0.25 * w, h)], fill=ink, width=line)
    d.line([(0.36 * w, 0.75 * h), (0.5 * w, h)], fill=ink, width=line)
    for _ in range(25):  # grass strokes
        gx, gy = rng.random() * w, (0.8 + 0.18 * rng.random()) * h
        d.line([(gx, gy), (gx + rng.normal(0, 3), gy - 8)], fill=ink, width=1)
    return np.asarray(img.filter(ImageFilter.GaussianBlur(0.6)))


PHOTOS = {"portrait": portrait, "night_street": night_street, "sketch": sketch}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for name, paint in PHOTOS.items():
        Image.fromarray(paint()).save(out / f"{name}.png")
