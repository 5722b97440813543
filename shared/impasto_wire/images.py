"""Image descriptions: how a header describes the raw or encoded picture in the frame that
follows it, and the check of such a description before anything is allocated for it.

Standard library only, Python 3.9+.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from .errors import BAD_HEADER, BAD_REQUEST, TOO_LARGE, UNSUPPORTED_FORMAT, ProtocolError

if TYPE_CHECKING:
    from .protocol import Limits

#: pixel dtypes on the wire -> bytes per channel
DTYPES = {"u8": 1}
#: encodings a style image may use; the daemon decodes them (Pillow, allow-list)
ENCODINGS = ("png", "jpeg", "webp", "tiff", "bmp")


def is_int(x: Any) -> bool:
    """An int that is not a bool (msgpack gives both)."""
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True)
class Image:
    """Raw pixels: ``height * width * channels`` bytes, row-major, interleaved (HxWxC)."""

    width: int
    height: int
    channels: int
    dtype: str = "u8"

    @property
    def nbytes(self) -> int:
        return self.width * self.height * self.channels * DTYPES[self.dtype]

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "channels": self.channels,
                "dtype": self.dtype}


@dataclass(frozen=True)
class EncodedImage:
    """An encoded file (PNG, JPEG, ...) in one frame of ``nbytes`` bytes; the daemon decodes it."""

    encoding: str
    nbytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "bytes": self.nbytes}


AnyImage = Union[Image, EncodedImage]


def parse_image(d: Any, limits: Limits | None = None, *, encoded_ok: bool = False,
                what: str = "image") -> AnyImage:
    """Validate one image description from a header; raises ProtocolError."""
    if not isinstance(d, dict):
        raise ProtocolError(BAD_HEADER, f"{what} description must be a map")
    if "encoding" in d:
        if not encoded_ok:
            raise ProtocolError(BAD_REQUEST, f"{what} must be raw pixels, not encoded")
        enc, n = d.get("encoding"), d.get("bytes")
        if not isinstance(enc, str) or not is_int(n):
            raise ProtocolError(BAD_HEADER, f"{what}: 'encoding' must be a string, 'bytes' an int")
        if enc not in ENCODINGS:
            raise ProtocolError(
                UNSUPPORTED_FORMAT, f"{what}: encoding {enc!r} is not one of {', '.join(ENCODINGS)}"
            )
        if n < 1 or (limits is not None and n > limits.max_message_bytes):
            raise ProtocolError(TOO_LARGE, f"{what}: {n} encoded bytes is out of range")
        return EncodedImage(enc, n)
    w, h, c, dt = d.get("width"), d.get("height"), d.get("channels"), d.get("dtype", "u8")
    if not (is_int(w) and is_int(h) and is_int(c)) or not isinstance(dt, str):
        raise ProtocolError(BAD_HEADER, f"{what} needs int width, height, channels and a dtype")
    if dt not in DTYPES:
        raise ProtocolError(BAD_REQUEST, f"{what}: dtype {dt!r} is not one of {sorted(DTYPES)}")
    if w < 1 or h < 1 or not 1 <= c <= 4:
        raise ProtocolError(BAD_REQUEST, f"{what}: {w}x{h} with {c} channels is not an image")
    if limits is not None and w * h > limits.max_pixels:
        raise ProtocolError(
            TOO_LARGE,
            f"{what}: {w}x{h} = {w * h} pixels exceeds the limit of {limits.max_pixels} pixels",
        )
    return Image(w, h, c, dt)


def image_from_dict(d: Mapping[str, Any]) -> AnyImage:
    """Trusting inverse of ``to_dict`` (for replies already validated by ``decode``)."""
    if "encoding" in d:
        return EncodedImage(d["encoding"], d["bytes"])
    return Image(d["width"], d["height"], d["channels"], d.get("dtype", "u8"))
