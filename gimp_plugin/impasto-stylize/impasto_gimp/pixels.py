"""Move a drawable's pixels in and out as raw 8-bit RGBA bytes (no per-pixel Python work).

GEGL converts on the way: a greyscale layer reads as grey RGB and is written back as grey, a
layer without alpha reads as opaque, and high bit depths are rounded to 8 bits.
"""

from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402

FORMAT = "R'G'B'A u8"
CHANNELS = 4


def read_rgba(drawable: Gimp.Drawable) -> bytes:
    """The drawable's own pixels (its size, not the image's), row-major RGBA."""
    w, h = drawable.get_width(), drawable.get_height()
    rect = Gegl.Rectangle.new(0, 0, w, h)
    return bytes(drawable.get_buffer().get(rect, 1.0, FORMAT, Gegl.AbyssPolicy.CLAMP))


def write_rgba(drawable: Gimp.Drawable, data: bytes) -> None:
    """Replace all of the drawable's pixels; ``data`` must be exactly width*height*4 bytes."""
    w, h = drawable.get_width(), drawable.get_height()
    if len(data) != w * h * CHANNELS:
        raise ValueError(f"{len(data)} bytes cannot fill a {w}x{h} RGBA layer")
    buf = drawable.get_buffer()
    buf.set(Gegl.Rectangle.new(0, 0, w, h), FORMAT, data)
    buf.flush()
    drawable.update(0, 0, w, h)
