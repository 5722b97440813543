"""Which layers are painted, and how the results become new layers.

Results are inserted only once all of them arrived and were checked, inside one undo group
(one Ctrl+Z removes them all); if anything fails half-way, what was inserted is removed again,
because GIMP does not roll back a failed plug-in's partial changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, GLib, GObject  # noqa: E402

from .debug import trace  # noqa: E402
from .i18n import _  # noqa: E402
from .messages import Failure  # noqa: E402
from .pixels import CHANNELS, write_rgba  # noqa: E402


@dataclass
class Painted:
    """One finished result waiting to be inserted above its source."""

    source: Gimp.Layer
    name: str
    width: int
    height: int
    pixels: bytes


def sources(drawables: Sequence[Gimp.Drawable]) -> list[Gimp.Layer]:
    """The selected layers to paint, in the caller's order; refuses what cannot be painted."""
    if not drawables:
        raise Failure(_("Select one or more layers first."))
    found: list[Gimp.Layer] = []
    seen: set[int] = set()
    for d in drawables:
        if not isinstance(d, Gimp.Layer):
            raise Failure(_("'{name}' is a channel or mask; select layers to paint.").format(
                name=d.get_name()))
        if isinstance(d, Gimp.GroupLayer):
            raise Failure(_("'{name}' is a layer group; select the layers inside it (or "
                            "merge the group) instead.").format(name=d.get_name()))
        if d.get_id() not in seen:
            seen.add(d.get_id())
            found.append(d)
    return found


def match_result(layers: Sequence[Gimp.Layer], names: Sequence[str],
                 sent: Sequence[tuple[int, int]], images: Sequence[tuple[Any, Any]],
                 style_names: Sequence[str]) -> list[Painted]:
    """Pair the daemon's images with their sources, checking count, size and channels against
    what was sent (the layers themselves may have changed or gone in the meantime)."""
    if len(images) != len(layers):
        raise Failure(_("The daemon sent {pictures} picture(s) for {layers} layer(s); "
                        "nothing was changed. Please report this.").format(
            pictures=len(images), layers=len(layers)))
    style = " + ".join(style_names)
    painted = []
    for src, name, (w, h), (desc, frame) in zip(layers, names, sent, images):
        got = (getattr(desc, "width", None), getattr(desc, "height", None),
               getattr(desc, "channels", None))
        if got != (w, h, CHANNELS) or len(frame) != w * h * CHANNELS:
            raise Failure(_("The daemon sent a {got_w}x{got_h} picture for the {w}x{h} layer "
                            "'{name}'; nothing was changed. Please report this.").format(
                got_w=got[0], got_h=got[1], w=w, h=h, name=name))
        painted.append(Painted(src, _("{layer} — {style}").format(layer=name, style=style), w,
                               h, bytes(frame)))
    return painted


def layer_type(image: Gimp.Image) -> Gimp.ImageType:
    """RGBA on RGB images, grey + alpha on greyscale ones (GEGL converts the RGBA we write)."""
    if image.get_base_type() == Gimp.ImageBaseType.GRAY:
        return Gimp.ImageType.GRAYA_IMAGE
    return Gimp.ImageType.RGBA_IMAGE


def insert(image: Gimp.Image, painted: Sequence[Painted]) -> list[Gimp.Layer]:
    """Add each result directly above its source (same parent, offsets and size), masked by
    the selection if there is one; all in one undo group. Returns the new layers."""
    masked = not Gimp.Selection.is_empty(image)
    kind = layer_type(image)
    made: list[Gimp.Layer] = []
    inserted: list[Gimp.Layer] = []
    image.undo_group_start()
    trace("undo group start")
    try:
        for p in painted:
            src = p.source
            layer = Gimp.Layer.new(image, p.name, p.width, p.height, kind, 100.0,
                                   Gimp.LayerMode.NORMAL)
            made.append(layer)
            write_rgba(layer, p.pixels)
            _, ox, oy = src.get_offsets()
            layer.set_offsets(ox, oy)
            image.insert_layer(layer, src.get_parent(), image.get_item_position(src))
            inserted.append(layer)
            if masked:
                layer.add_mask(layer.create_mask(Gimp.AddMaskType.SELECTION))
            trace(f"inserted {p.name!r} above {src.get_name()!r}" + (" (masked)" if masked else ""))
        image.set_selected_layers(made)
    except (GLib.Error, ValueError, TypeError) as exc:
        _discard(image, made, inserted)
        raise Failure(_("GIMP could not add the new layer(s): {error}. Nothing was "
                        "changed.").format(error=exc)) from None
    finally:
        image.undo_group_end()
        trace("undo group end")
    return made


def _discard(image: Gimp.Image, made: Sequence[Gimp.Layer],
             inserted: Sequence[Gimp.Layer]) -> None:
    """Take back a half-done insert: remove what is in the image, delete the rest."""
    for layer in made:
        try:
            if layer in inserted:
                image.remove_layer(layer)
            else:
                layer.delete()
        except GLib.Error:
            pass


def as_return_value(layers: Sequence[Gimp.Layer]) -> GObject.Value:
    """A GValue holding the layers as a GimpCoreObjectArray (3.0.4's Python has no setter for
    one; a procedure config builds it for us)."""
    cfg = Gimp.get_pdb().lookup_procedure("gimp-image-set-selected-layers").create_config()
    cfg.set_core_object_array("layers", list(layers))
    return GObject.Value(GObject.type_from_name("GimpCoreObjectArray"), cfg.get_property("layers"))
