"""Reading and writing image files for the command line, with errors a shell user can act on.

An input's size is checked from its header against the daemon's pixel limit before a single
pixel is decoded (a small file can hold a huge picture). The result is written to a temporary
file beside the output, synced, then renamed over it: a full disk or a crash never leaves a
truncated file where a good one was, and another user's symlink at the output's name is never
written through (``impasto_wire.safe_files``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from impasto_wire import safe_files

from . import exit_codes


class ImageFileError(Exception):
    """The file is missing, unreadable, or not an image Pillow can decode or write."""

    exit_code = exit_codes.BAD_IMAGE


class ImageTooLarge(ImageFileError):
    """The image has more pixels than the daemon accepts (refused before decoding)."""

    exit_code = exit_codes.USAGE  # as when the daemon refuses it: too_large


def _megapixels(n: int) -> str:
    return f"{n / 1e6:.1f} Mpx" if n >= 10**6 else f"{n / 1e6:.2f} Mpx"


def _open_header(path: Path) -> Image.Image:
    """Open without decoding. Pillow's own bomb guard is lifted for the open only: the caller
    compares the size with the daemon's limit, which is the one a person can change."""
    try:
        if not path.is_file():
            raise ImageFileError(f"{path}: no such file")
    except OSError as exc:  # a folder on the way that we may not enter
        raise ImageFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        return Image.open(path)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageFileError(f"{path}: cannot read it as an image ({exc})") from exc
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file's header: proves it is an image without decoding it."""
    with _open_header(Path(path)) as im:
        return im.size


def _check_pixels(path: Path, size: tuple[int, int], max_pixels: int) -> None:
    w, h = size
    if w * h > max_pixels:
        raise ImageTooLarge(
            f"{path}: {w}x{h} is {_megapixels(w * h)}, more than the daemon's limit of "
            f"{max_pixels} pixels ({_megapixels(max_pixels)}) per image; scale it down "
            "(or raise the daemon's --max-pixels)")


def read_image(path: str | Path, max_pixels: int) -> np.ndarray:
    """HxWx{3,4} uint8 pixels, upright (EXIF orientation applied), alpha kept when present.

    ``max_pixels`` is the daemon's announced limit: a larger image is refused (ImageTooLarge)
    from its header, before decoding.
    """
    path = Path(path)
    with _open_header(path) as im:
        _check_pixels(path, im.size, max_pixels)
        try:
            upright = ImageOps.exif_transpose(im)
            has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
            upright = upright.convert("RGBA" if has_alpha else "RGB")
            return np.asarray(upright).copy()
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageFileError(f"{path}: cannot read it as an image ({exc})") from exc


def read_inputs(content: str, styles: list[str], max_pixels: int
                ) -> tuple[np.ndarray, list[np.ndarray]]:
    """The content and style pixels, every size checked against ``max_pixels`` before the
    first is decoded."""
    paths = [Path(p) for p in [content, *styles]]
    for path in paths:
        _check_pixels(path, image_size(path), max_pixels)
    pixels = [read_image(p, max_pixels) for p in paths]
    return pixels[0], pixels[1:]


def _format_for(path: Path) -> str:
    Image.init()
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise ImageFileError(f"{path}: cannot write a {path.suffix or 'suffix-less'} file; "
                             "name the output .png (keeps transparency), .jpg, .webp or .tif")
    return fmt


def check_writable(path: str | Path, force: bool = False) -> None:
    """Fail now, before any work, if the result could not be written to ``path`` later.

    Proves it the way ``write_image`` will write: the output's name is resolved as
    ``safe_files`` does (another user's symlink is refused unless ``force``) and a temporary
    file is created (and removed) in its folder.
    """
    if os.path.isdir(path):
        raise ImageFileError(f"{path}: is a folder; give a file name for the result")
    try:
        target = safe_files.resolve_target(path, force)
        _format_for(target)
        if not target.parent.is_dir():
            raise ImageFileError(f"cannot write {path}: the folder {target.parent} does not "
                                 "exist")
        safe_files.check_writable(path, force)
    except safe_files.UnsafeTarget as exc:
        raise ImageFileError(f"refusing to write the result: {exc}") from None
    except OSError as exc:
        raise ImageFileError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_image(path: str | Path, rgba: np.ndarray, force: bool = False) -> None:
    """PNG/WebP/TIFF keep the alpha; formats without alpha (JPEG, BMP) get it dropped.

    Written by ``safe_files.write_file``: encoded into a new temporary file beside the
    output, synced, then renamed over ``path``; on any failure the previous file at ``path``
    is untouched, and a symlink planted by another user is never written through.
    """
    try:
        target = safe_files.resolve_target(path, force)
    except safe_files.UnsafeTarget as exc:
        raise ImageFileError(f"refusing to write the result: {exc}") from None
    except OSError as exc:
        raise ImageFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    fmt = _format_for(target)
    image = Image.fromarray(rgba, "RGBA")
    if fmt in ("JPEG", "BMP"):
        image = image.convert("RGB")
    try:
        safe_files.write_file(path, lambda f: image.save(f, format=fmt), force=force)
    except safe_files.UnsafeTarget as exc:
        raise ImageFileError(f"refusing to write the result: {exc}") from None
    except (OSError, ValueError, KeyError) as exc:
        kept = " (the previous file is unchanged)" if target.exists() else ""
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ImageFileError(f"cannot write {path}: {why}{kept}") from None
