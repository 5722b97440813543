"""Pixels from the wire: raw frames viewed in place, encoded style files decoded with Pillow.

Only the formats in the protocol's allow-list are decoded, and only by their own Pillow plug-in
(a PNG announced as PNG must be a PNG). The pixel count is read from the file header and checked
against the daemon's limit *before* decoding, so a decompression bomb costs nothing; Pillow's own
``MAX_IMAGE_PIXELS`` guard is set to the same limit as a second line.
"""

from __future__ import annotations

import hashlib
import io
import warnings

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from impasto_wire import protocol as P

from ..bounded_cache import BoundedCache

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "tiff": "TIFF", "bmp": "BMP"}
assert set(PIL_FORMATS) == set(P.ENCODINGS)


def configure_pillow(max_pixels: int) -> None:
    """Make Pillow's own bomb guard match the daemon's limit (it raises beyond twice that); its
    warning between once and twice the limit is silenced because ``probe_encoded`` refuses
    those images itself, with an error the client sees."""
    PILImage.MAX_IMAGE_PIXELS = max_pixels
    warnings.filterwarnings("ignore", category=PILImage.DecompressionBombWarning)


def raw_pixels(image: P.Image, frame: memoryview) -> np.ndarray:
    """An HxWxC uint8 view of a frame whose length ``protocol.decode`` already checked."""
    return np.frombuffer(frame, dtype=np.uint8).reshape(image.shape)


def _open(data: memoryview, encoding: str, max_pixels: int) -> PILImage.Image:
    if encoding not in PIL_FORMATS:
        raise P.ProtocolError(P.UNSUPPORTED_FORMAT, f"style encoding {encoding!r} is not allowed")
    try:
        return PILImage.open(io.BytesIO(data), formats=[PIL_FORMATS[encoding]])
    except PILImage.DecompressionBombError:
        # Pillow's message quotes its own threshold (twice ours): name the daemon's limit
        raise P.ProtocolError(
            P.TOO_LARGE, f"style image refused as a decompression bomb: its {encoding.upper()} "
            f"header claims more than {max_pixels} pixels, the daemon's limit (--max-pixels)"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        # Pillow's "cannot identify" names a BytesIO object: useless to a person.
        why = "not recognised as one" if isinstance(exc, UnidentifiedImageError) else str(exc)
        raise P.ProtocolError(
            P.BAD_IMAGE, f"style image is not a valid {encoding.upper()} file ({why})"
        ) from None


def probe_encoded(data: memoryview, encoding: str, max_pixels: int) -> tuple[int, int]:
    """(width, height) from the file header; refuses other formats and oversized images."""
    with _open(data, encoding, max_pixels) as im:
        w, h = im.size
    if w * h > max_pixels:
        raise P.ProtocolError(
            P.TOO_LARGE,
            f"style image of {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} "
            "(a decompression bomb, or just too big: scale it down)",
        )
    return w, h


def decode_encoded(data: memoryview, encoding: str, max_pixels: int) -> np.ndarray:
    """HxWx{1,3,4} uint8: greyscale stays one channel, palettes and CMYK become RGB(A),
    16-bit and float images are scaled to 8 bits; EXIF orientation is applied."""
    probe_encoded(data, encoding, max_pixels)
    im = _open(data, encoding, max_pixels)
    try:
        im.load()
        im = ImageOps.exif_transpose(im) or im
        return _to_uint8(im)
    except Exception as exc:  # truncated or corrupt data surfaces from load() in many types
        raise P.ProtocolError(
            P.BAD_IMAGE, f"cannot decode the {encoding.upper()} style image ({exc})"
        ) from None
    finally:
        im.close()


def _to_uint8(im: PILImage.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("L", "RGB", "RGBA"):
        arr = np.asarray(im)
    elif mode in ("1", "LA", "La", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBa", "RGBX"):
        has_alpha = mode in ("LA", "La", "PA", "RGBa") or "transparency" in im.info
        arr = np.asarray(im.convert("RGBA" if has_alpha else "RGB"))
    elif mode.startswith("I") or mode == "F":
        wide = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(wide.max()), 1.0)
        arr = np.clip(wide / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    else:
        arr = np.asarray(im.convert("RGB"))
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return np.ascontiguousarray(arr, dtype=np.uint8)


class DecodedStyles:
    """Decoded style images keyed by the SHA-256 of their encoded bytes (bounded LRU), so the
    same style file sent again is neither decoded again nor, downstream, re-analysed: the
    engine's target cache is keyed by the decoded pixels."""

    def __init__(self, max_bytes: int = 128 * 2**20) -> None:
        self.cache: BoundedCache[str, np.ndarray] = BoundedCache(max_bytes, lambda a: a.nbytes)

    def get(self, data: memoryview, encoding: str, max_pixels: int) -> np.ndarray:
        key = hashlib.sha256(data).hexdigest()
        found = self.cache.get(key)
        if found is not None:
            return found
        pixels = decode_encoded(data, encoding, max_pixels)
        pixels.setflags(write=False)
        self.cache.put(key, pixels)
        return pixels

    @property
    def hits(self) -> int:
        return self.cache.hits

    @property
    def nbytes(self) -> int:
        return self.cache.nbytes

    def __len__(self) -> int:
        return len(self.cache)
