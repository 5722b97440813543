"""Turn the chosen style (a file, or a layer of any open image) into what the daemon accepts.

A file in a format the daemon decodes travels as its own bytes (smaller than pixels); any other
file GIMP can open is loaded here and sent as raw RGBA; a layer is always sent raw.
"""

from __future__ import annotations

import os

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, Gio, GLib  # noqa: E402

from impasto_wire import Style  # noqa: E402

from .i18n import _  # noqa: E402
from .messages import Failure  # noqa: E402
from .options import NO_STYLE_FILE, NO_STYLE_LAYER  # noqa: E402
from .pixels import CHANNELS, read_rgba  # noqa: E402

#: the largest style file read into memory (a style only needs a few megapixels)
MAX_FILE_BYTES = 512 * 2**20


def sniff_encoding(head: bytes) -> str | None:
    """The wire encoding of a file from its first bytes, or None for any other content."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:2] == b"BM" and len(head) >= 26:
        return "bmp"
    return None


def display_name(path: str) -> str:
    """A style's name in new layer names: the file name without its extension."""
    return os.path.splitext(os.path.basename(path))[0] or path


def from_file(gfile: Gio.File, weight: float) -> tuple[Style, str]:
    """A Style from an image file, and its name for the new layers."""
    path = gfile.get_path()
    if path is None:
        raise Failure(_("The style image {uri} is not a local file. Save it to disk first, "
                        "or open it in GIMP and use it as the style layer.").format(
            uri=gfile.get_uri()))
    name = display_name(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise Failure(_("The style image '{name}' is {mib} MiB, too large for a style. "
                            "Use a smaller picture (a few megapixels are plenty).").format(
                name=name, mib=size // 2**20))
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise Failure(_("The style image '{path}' does not exist. Check the path, or choose "
                        "another picture.").format(path=path)) from None
    except OSError as exc:
        raise Failure(_("The style image '{path}' cannot be read: {error}.").format(
            path=path, error=exc.strerror)) from None
    encoding = sniff_encoding(data[:32])
    if encoding is not None:
        return Style.encoded(data, encoding, weight), name
    return _loaded_by_gimp(gfile, name, weight), name


def _loaded_by_gimp(gfile: Gio.File, name: str, weight: float) -> Style:
    """Formats the daemon does not decode (XCF, PSD, SVG…): GIMP opens them, we send pixels."""
    plug_in = Gimp.get_plug_in()
    handler = plug_in.get_pdb_error_handler()
    plug_in.set_pdb_error_handler(Gimp.PDBErrorHandler.PLUGIN)  # our message, not GIMP's too
    try:
        image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, gfile)
    except GLib.Error:
        image = None
    finally:
        plug_in.set_pdb_error_handler(handler)
    if image is None:
        raise Failure(_("The style image '{name}' is not an image that Impasto or GIMP can "
                        "read. Choose a picture file (PNG, JPEG, WebP, TIFF, BMP or any format "
                        "GIMP opens) or a layer.").format(name=name))
    try:
        layer = image.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
        if layer is None:
            raise Failure(_("The style image '{name}' has no visible layers.").format(
                name=name))
        return Style.raw(layer.get_width(), layer.get_height(), CHANNELS, read_rgba(layer),
                         weight)
    finally:
        image.delete()


def from_layer(layer: Gimp.Layer, weight: float) -> tuple[Style, str]:
    """A Style from a layer of any open image, and its name for the new layers."""
    if layer is None or not layer.is_valid():
        raise Failure(_("The style layer is gone (its image was closed). Pick another style."))
    data = read_rgba(layer)
    return Style.raw(layer.get_width(), layer.get_height(), CHANNELS, data, weight), \
        layer.get_name()


def gather(source: str, style_file: Gio.File | None, style_layer: Gimp.Layer | None,
           style2_file: Gio.File | None, weights: list[float]) -> tuple[list[Style], list[str]]:
    """The request's styles and their names. ``source`` "file" falls back to the layer when
    only a layer was given (convenient for scripts); "layer" needs a layer."""
    use_layer = source == "layer" or (style_file is None and style_layer is not None)
    if use_layer:
        if style_layer is None:
            raise Failure(NO_STYLE_LAYER)
        first = from_layer(style_layer, weights[0])
    else:
        if style_file is None:
            raise Failure(NO_STYLE_FILE)
        first = from_file(style_file, weights[0])
    found = [first]
    if style2_file is not None:
        found.append(from_file(style2_file, weights[1]))
    return [s for s, _ in found], [n for _, n in found]
