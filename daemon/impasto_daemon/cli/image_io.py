"""Reading and writing image files for the command line, with errors a shell user can act on.

An input's size is checked from its header against the daemon's pixel limit before a single
pixel is decoded (a small file can hold a huge picture). The result is written to a temporary
file beside the output, synced, then renamed over it: a full disk or a crash never leaves a
truncated file where a good one was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

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
    if not path.is_file():
        raise ImageFileError(f"{path}: no such file")
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


def check_writable(path: str | Path) -> None:
    """Fail now, before any work, if the result could not be written to ``path`` later.

    Proves it by creating (and removing) a temporary file in the output's folder, which is
    exactly what ``write_image`` needs.
    """
    target = Path(os.path.realpath(path))
    _format_for(target)
    if target.is_dir():
        raise ImageFileError(f"{path}: is a folder; give a file name for the result")
    folder = target.parent
    if not folder.is_dir():
        raise ImageFileError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ImageFileError(f"cannot write {path}: {exc.strerror or exc} in {folder}") from None
    os.close(fd)
    os.unlink(tmp)


def _new_file_mode(target: Path) -> int:
    """The existing output's mode, else what a plain new file gets under the umask."""
    try:
        return os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_image(path: str | Path, rgba: np.ndarray) -> None:
    """PNG/WebP/TIFF keep the alpha; formats without alpha (JPEG, BMP) get it dropped.

    Atomic: encoded into a temporary file in the same folder, fsync-ed, then renamed over
    ``path``. On any failure the previous file at ``path`` is untouched and the temporary one
    is removed.
    """
    target = Path(os.path.realpath(path))  # through a symlink, as writing in place would
    fmt = _format_for(target)
    image = Image.fromarray(rgba, "RGBA")
    if fmt in ("JPEG", "BMP"):
        image = image.convert("RGB")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ImageFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            image.save(f, format=fmt)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _new_file_mode(target))
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, (OSError, ValueError, KeyError)):
            kept = " (the previous file is unchanged)" if target.exists() else ""
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ImageFileError(f"cannot write {path}: {why}{kept}") from None
        raise
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every system can open a folder)."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
