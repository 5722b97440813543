"""The wide quality harness's pictures and pairs, and the fixed rule that splits them.

Chosen to be hard (issue 23): photos with faces, a small subject on a plain ground, night
scenes, high-key scenes, text and line drawings; styles that are dark and mostly empty, a
bright disc on black, flat colour fields, photographs, line art, busy textures and paintings.
Every picture says where it comes from. Third-party pictures are read from where their
package installed them, never committed; one that is missing raises ``PictureMissing`` naming
the package, and the harness reports the pair as missing instead of leaving it out quietly.

The pictures the team handbook keeps aside for an independent check of quality are never
used here.

The split: a pair is in the check half when the first byte of SHA-256("photo:style") is odd,
in the tuning half when it is even. Written once, before anything was measured; never move a
pair between halves, and judge by the check half.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(DATA))
import painted_photos  # noqa: E402
import quality_styles  # noqa: E402

SKIMAGE = "scikit-image (pip, in the dev venv)"
PLASMA = "Debian plasma-workspace-wallpapers (apt-get install plasma-workspace-wallpapers)"
GIMP = "GIMP 3's patterns in the project's GIMP root (tests/gimp/get_gimp.sh)"
PAINTED = "painted by committed code"
WALLPAPERS = Path("/usr/share/wallpapers")
GIMP_DATA = Path(os.environ.get("IMPASTO_GIMP_ROOT", Path.home() / ".cache/impasto/gimp-root"),
                 "usr/share/gimp/3.0")
MIN_STYLE_SIDE = 512  # GIMP's small patterns are tiled up to this


class PictureMissing(Exception):
    """A picture whose package is not installed here; the message names the package."""


@dataclass(frozen=True)
class Picture:
    """One photo or style: what it is for, where it comes from and how to read it."""

    name: str
    kind: str  # the hard case it stands for
    source: str  # the package or code that provides it
    load: Callable[[], np.ndarray]


def _rgb(pixels: np.ndarray) -> np.ndarray:
    a = np.asarray(pixels)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    return np.ascontiguousarray(a[..., :3]).astype(np.uint8)


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from skimage import data

        return _rgb(getattr(data, name)())

    return load


def _file(path: Path, source: str) -> np.ndarray:
    if not path.is_file():
        raise PictureMissing(f"{path} is not installed: {source}")
    return _rgb(np.asarray(Image.open(path).convert("RGB")))


def _wallpaper(theme: str, size: str) -> Callable[[], np.ndarray]:
    return lambda: _file(WALLPAPERS / theme / "contents" / "images" / size, PLASMA)


def read_gimp_pattern(path: Path) -> np.ndarray:
    """A GIMP .pat file (big-endian header: header size, version, width, height, bytes per
    pixel, 'GPAT', name; then the pixels) as uint8 RGB."""
    raw = path.read_bytes()
    header, _version, width, height, depth = struct.unpack(">5I", raw[:20])
    if raw[20:24] != b"GPAT" or depth not in (1, 2, 3, 4):
        raise ValueError(f"{path} is not a GIMP pattern")
    pixels = np.frombuffer(raw[header:header + width * height * depth], np.uint8)
    pixels = pixels.reshape(height, width, depth)
    return _rgb(pixels[..., :1] if depth <= 2 else pixels[..., :3])


def _gimp_pattern(relative: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        path = GIMP_DATA / "patterns" / relative
        if not path.is_file():
            raise PictureMissing(f"{path} is not installed: {GIMP}")
        tile = read_gimp_pattern(path)
        reps = [-(-MIN_STYLE_SIDE // n) for n in tile.shape[:2]]
        return np.tile(tile, (*reps, 1))

    return load


def _painted(paint: Callable[[], np.ndarray]) -> Callable[[], np.ndarray]:
    return lambda: _rgb(paint())


PHOTOS = {p.name: p for p in (
    Picture("chelsea", "a face (cat)", SKIMAGE, _skimage("chelsea")),
    Picture("camera", "a person, grey", SKIMAGE, _skimage("camera")),
    Picture("portrait", "a face", PAINTED, _painted(painted_photos.portrait)),
    Picture("horse", "a silhouette on plain white", SKIMAGE, _skimage("horse")),
    Picture("kite", "a small subject on a plain sky", PLASMA, _wallpaper("Kite", "640x480.jpg")),
    Picture("page", "text", SKIMAGE, _skimage("page")),
    Picture("text", "text over a photo", SKIMAGE, _skimage("text")),
    Picture("sketch", "a line drawing", PAINTED, _painted(painted_photos.sketch)),
    Picture("coins", "many small objects", SKIMAGE, _skimage("coins")),
    Picture("moon", "a grey surface, dark", SKIMAGE, _skimage("moon")),
    Picture("night_street", "a night scene", PAINTED, _painted(painted_photos.night_street)),
    Picture("darkest_hour", "a night scene, dark blue", PLASMA,
            _wallpaper("DarkestHour", "640x480.jpg")),
    Picture("cold_ripple", "a high-key scene (fog)", PLASMA,
            _wallpaper("ColdRipple", "640x480.jpg")),
    Picture("evening_glow", "boats at dusk", PLASMA, _wallpaper("EveningGlow", "640x480.jpg")),
)}

_SWIRL = DATA / "swirl_strokes.png"
STYLES = {p.name: p for p in (
    Picture("dark_void", "dark, mostly empty", PAINTED, _painted(quality_styles.dark_void)),
    Picture("star_field", "dark with many small lights", PAINTED,
            _painted(quality_styles.star_field)),
    Picture("milky_way", "dark with bokeh lights (a photo)", PLASMA,
            _wallpaper("MilkyWay", "1080x1920.png")),
    Picture("glowing_disc", "a bright disc on black", PAINTED,
            _painted(quality_styles.glowing_disc)),
    Picture("colour_fields", "flat colour fields", PAINTED,
            _painted(quality_styles.colour_fields)),
    Picture("icons_on_beige", "small icons on a flat field", PAINTED,
            _painted(quality_styles.icons_on_beige)),
    Picture("line_art", "ink line art", PAINTED, _painted(quality_styles.line_art)),
    Picture("grey_facade", "a photograph (architecture, lines)", PLASMA,
            _wallpaper("Grey", "640x480.jpg")),
    Picture("colorful_cups", "a photograph (circles)", PLASMA,
            _wallpaper("ColorfulCups", "2560x1600.jpg")),
    Picture("one_stands_out", "a busy photograph", PLASMA,
            _wallpaper("OneStandsOut", "640x480.jpg")),
    Picture("gravel", "a busy texture", SKIMAGE, _skimage("gravel")),
    Picture("leopard", "a busy texture", GIMP, _gimp_pattern("Animal/leopard.pat")),
    Picture("walnut", "dark wood grain", GIMP, _gimp_pattern("Wood/walnut.pat")),
    Picture("autumn", "a painting", PLASMA, _wallpaper("Autumn", "640x480.jpg")),
    Picture("swirl", "a painting", "tests/data/swirl_strokes.png (make_style_image.py)",
            lambda: _file(_SWIRL, "tests/data/make_style_image.py")),
    Picture("bold_strokes", "a painting (flat strokes)", PAINTED,
            _painted(quality_styles.bold_strokes)),
    Picture("mosaic", "flat tiles, dark grout", PAINTED, _painted(quality_styles.mosaic)),
)}

#: each photo against two or three styles that threaten it most
PAIRS = (
    ("chelsea", "glowing_disc"), ("chelsea", "dark_void"), ("chelsea", "walnut"),
    ("camera", "star_field"), ("camera", "colour_fields"), ("camera", "autumn"),
    ("portrait", "glowing_disc"), ("portrait", "milky_way"), ("portrait", "icons_on_beige"),
    ("horse", "dark_void"), ("horse", "mosaic"), ("horse", "leopard"),
    ("kite", "star_field"), ("kite", "walnut"),
    ("page", "bold_strokes"), ("page", "star_field"), ("page", "grey_facade"),
    ("text", "line_art"), ("text", "glowing_disc"),
    ("sketch", "dark_void"), ("sketch", "one_stands_out"), ("sketch", "mosaic"),
    ("coins", "milky_way"), ("coins", "gravel"),
    ("moon", "colorful_cups"), ("moon", "colour_fields"),
    ("night_street", "swirl"), ("night_street", "icons_on_beige"), ("night_street", "line_art"),
    ("darkest_hour", "colour_fields"), ("darkest_hour", "autumn"),
    ("cold_ripple", "glowing_disc"), ("cold_ripple", "milky_way"), ("cold_ripple", "leopard"),
    ("evening_glow", "dark_void"), ("evening_glow", "one_stands_out"),
)
HALVES = ("tuning", "check")


def half_of(photo: str, style: str) -> str:
    """The fixed split: "check" when SHA-256 of "photo:style" starts with an odd byte."""
    return HALVES[hashlib.sha256(f"{photo}:{style}".encode()).digest()[0] % 2]


def pairs_in(half: str) -> list[tuple[str, str]]:
    """The pairs of ``half`` ("tuning", "check" or "both"), in PAIRS order."""
    if half not in (*HALVES, "both"):
        raise ValueError(f"unknown half {half!r}: tuning, check or both")
    return [p for p in PAIRS if half == "both" or half_of(*p) == half]
