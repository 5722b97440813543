"""Style pictures for the quality harness, painted at run time (deterministic, seeded).

Each stresses a known weakness of Gatys-type engines: a dark star field (washed-out grey
blotches, speckle on black), bold flat colour strokes (colour speckle between flat areas) and a
mosaic of flat tiles with dark grout (fringes, clipped colours). The next ones invite a takeover
(the style's layout replacing the photo's): a dark, mostly empty field, a bright disc on black,
flat colour fields, ink line art and small icons on a flat beige ground. The swirl painting is
tests/data/swirl_strokes.png (make_style_image.py).

    python tests/data/quality_styles.py OUT_DIR     # writes them as PNGs to look at
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


def dark_void(size: int = 384, seed: int = 14) -> np.ndarray:
    """Almost black, nearly empty: a faint violet wisp in one corner and a few dim streaks,
    over sensor-like grain; nine tenths of it is darkness with nothing to copy."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    wisp = np.exp(-((x - 0.8) ** 2 / 0.02 + (y - 0.2) ** 2 / 0.006 - 1.2 * (x - 0.8) * (y - 0.2)))
    sky = np.stack([6 + 40 * wisp, 5 + 14 * wisp, 10 + 55 * wisp], axis=2)
    sky += rng.normal(0, 2.0, sky.shape)
    img = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(7):
        x0, y0 = rng.random(2) * size
        a, length = rng.uniform(0, np.pi), rng.uniform(0.05, 0.2) * size
        level = int(rng.uniform(40, 90))
        draw.line([(x0, y0), (x0 + np.cos(a) * length, y0 + np.sin(a) * length)],
                  fill=(level, level, int(level * 1.2)), width=1)
    return np.asarray(img.filter(ImageFilter.GaussianBlur(0.8)))


def glowing_disc(size: int = 384, seed: int = 15) -> np.ndarray:
    """A bright orange-red disc on black, mottled, lighter at a yellow spot off centre and
    crossed by dark branching lines: one large object whose layout a takeover copies."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    r = np.hypot(x - 0.5, y - 0.5)
    inside = np.clip((0.42 - r) * size / 2, 0, 1)  # a soft rim two pixels wide
    mottle = np.asarray(Image.fromarray((rng.random((24, 24)) * 255).astype(np.uint8))
                        .resize((size, size), Image.BICUBIC)) / 255.0
    spot = np.exp(-((x - 0.62) ** 2 + (y - 0.45) ** 2) / 0.004)
    shade = 1 - 0.6 * (r / 0.42) ** 2
    disc = np.stack([225 * shade + 30 * spot, 90 * shade + 150 * spot, 35 * shade + 60 * spot],
                    axis=2) * (0.85 + 0.3 * mottle[..., None])
    img = Image.fromarray(np.clip(disc * inside[..., None], 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(9):  # lines branching out from the spot
        px, py = 0.62 * size, 0.45 * size
        a = rng.uniform(0, 2 * np.pi)
        for _ in range(12):
            a += rng.normal(0, 0.3)
            nx, ny = px + np.cos(a) * size / 40, py + np.sin(a) * size / 40
            if np.hypot(nx / size - 0.5, ny / size - 0.5) > 0.4:
                break
            draw.line([(px, py), (nx, ny)], fill=(110, 25, 15), width=3)
            px, py = nx, ny
    return np.asarray(img.filter(ImageFilter.GaussianBlur(0.7)))


def colour_fields(size: int = 384, seed: int = 16) -> np.ndarray:
    """Three large soft-edged rectangles of flat colour on a flat ground, no texture at all."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), (150, 40, 30))
    draw = ImageDraw.Draw(img)
    for top, bottom, colour in ((0.06, 0.34, (230, 120, 40)), (0.40, 0.55, (60, 20, 40)),
                                (0.61, 0.94, (200, 60, 50))):
        draw.rectangle([0.08 * size, top * size, 0.92 * size, bottom * size], fill=colour)
    grain = rng.normal(0, 1.5, (size, size, 3))
    soft = np.asarray(img.filter(ImageFilter.GaussianBlur(size / 120)), np.float64)
    return np.clip(soft + grain, 0, 255).astype(np.uint8)


def line_art(size: int = 384, seed: int = 17) -> np.ndarray:
    """Black ink on white paper: wavy contour lines and patches of cross-hatching."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), (246, 243, 235))
    draw = ImageDraw.Draw(img)
    for k in range(14):  # contour lines
        base, amp, freq = (k + 0.5) / 14 * size, rng.uniform(5, 20), rng.uniform(2, 6)
        xs = np.linspace(0, size, 60)
        draw.line([(x, base + amp * np.sin(freq * x / size * 2 * np.pi + k)) for x in xs],
                  fill=(20, 20, 25), width=2)
    for _ in range(10):  # hatched patches
        cx, cy, half = *(rng.random(2) * size), rng.uniform(0.04, 0.1) * size
        for angle in (np.pi / 4, -np.pi / 4)[: int(rng.integers(1, 3))]:
            for t in np.arange(-half, half, 4):
                dx, dy = np.cos(angle), np.sin(angle)
                draw.line([(cx + t * dy - half * dx, cy - t * dx - half * dy),
                           (cx + t * dy + half * dx, cy - t * dx + half * dy)],
                          fill=(30, 30, 35), width=1)
    return np.asarray(img.filter(ImageFilter.SMOOTH))


def icons_on_beige(size: int = 384, seed: int = 18) -> np.ndarray:
    """Small bright icons (dots, squares, stars, rings) scattered sparsely on a flat beige
    field: most of the picture is one flat colour."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), (232, 218, 190))
    draw = ImageDraw.Draw(img)
    palette = [(200, 50, 40), (40, 110, 180), (60, 150, 70), (240, 180, 30), (90, 50, 120)]
    for _ in range(40):
        cx, cy = rng.random(2) * size
        r = rng.uniform(0.015, 0.03) * size
        colour = palette[rng.integers(len(palette))]
        kind = rng.integers(4)
        if kind == 0:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        elif kind == 1:
            draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=colour)
        elif kind == 2:
            star = [(cx + (r if i % 2 == 0 else r / 2.5) * np.cos(i * np.pi / 5 - np.pi / 2),
                     cy + (r if i % 2 == 0 else r / 2.5) * np.sin(i * np.pi / 5 - np.pi / 2))
                    for i in range(10)]
            draw.polygon(star, fill=colour)
        else:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=colour, width=3)
    return np.asarray(img.filter(ImageFilter.SMOOTH))


STYLES = {"star_field": star_field, "bold_strokes": bold_strokes, "mosaic": mosaic,
          "dark_void": dark_void, "glowing_disc": glowing_disc, "colour_fields": colour_fields,
          "line_art": line_art, "icons_on_beige": icons_on_beige}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for name, paint in STYLES.items():
        Image.fromarray(paint()).save(out / f"{name}.png")
