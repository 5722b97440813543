"""Reading and writing image files for the command line, with errors a shell user can act on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


class ImageFileError(Exception):
    """The file is missing, unreadable, or not an image Pillow can decode."""


def read_image(path: str | Path) -> np.ndarray:
    """HxWx{3,4} uint8 pixels, upright (EXIF orientation applied), alpha kept when present."""
    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"{path}: no such file")
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            im = im.convert("RGBA" if has_alpha else "RGB")
            return np.asarray(im).copy()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ImageFileError(f"{path}: cannot read it as an image ({exc})") from exc


def write_image(path: str | Path, rgba: np.ndarray) -> None:
    """PNG/WebP/TIFF keep the alpha; formats without alpha (JPEG, BMP) get it dropped."""
    path = Path(path)
    image = Image.fromarray(rgba, "RGBA")
    if path.suffix.lower() in (".jpg", ".jpeg", ".bmp"):
        image = image.convert("RGB")
    try:
        image.save(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ImageFileError(f"{path}: cannot write it ({exc})") from exc
