"""The procedure's arguments: declared once here, so the dialog, WITH_LAST_VALS and scripts all
see the same names, ranges and defaults (GIMP stores the last values itself)."""

from __future__ import annotations

from dataclasses import dataclass

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, Gio, GObject  # noqa: E402

from . import options as O  # noqa: E402
from .i18n import _  # noqa: E402

RW = GObject.ParamFlags.READWRITE
RETURN_LAYERS = "layers"
#: the style files' declared action. With OPEN, GIMP itself refuses a path that does not exist
#: before the plug-in runs, with "<not transformable to string>" for a message; ANY lets it
#: through so styles.from_file can say which file is missing. The dialog switches its own copy
#: to OPEN (a chooser widget needs it): see ``FILE_ARGUMENTS`` and dialog.py.
SCRIPT_FILE_ACTION = Gimp.FileChooserAction.ANY
FILE_ARGUMENTS = ("style-file", "style2-file")


def _choice(entries: tuple[tuple[str, str, str], ...]) -> Gimp.Choice:
    choice = Gimp.Choice.new()
    for i, (value, label, help_) in enumerate(entries):
        choice.add(value, i, label, help_)
    return choice


def declare(procedure: Gimp.Procedure) -> None:
    """Add every argument and the return value to ``procedure`` (labels and help in the
    artist's language: GIMP creates the procedure after ``do_set_i18n``)."""
    p = procedure
    p.add_choice_argument(
        "style-source", _("_Use style from"),
        _("Where the style comes from: 'file' (style-file) or 'layer' (style-layer). With "
          "'file' and no file, a given style-layer is used."),
        _choice(O.STYLE_SOURCES), "file", RW)
    p.add_file_argument(
        "style-file", _("Style _image"),
        _("The style picture: PNG, JPEG, WebP, TIFF, BMP, or any file GIMP opens"),
        SCRIPT_FILE_ACTION, True, None, RW)
    p.add_layer_argument(
        "style-layer", _("Style la_yer"), _("A layer of any open image to use as the style"),
        True, RW)
    p.add_file_argument(
        "style2-file", _("_Blend with a second style"),
        _("A second style picture blended with the first"), SCRIPT_FILE_ACTION, True, None, RW)
    p.add_double_argument(
        "style2-weight", _("Second style _weight"),
        _("The second style's share of the blend, in %"), 0.0, 100.0, 50.0, RW)
    p.add_double_argument(
        "strength", _("S_trength"),
        _("How much of the picture the style may take: 0 is a light glaze, 100 lets the style "
          "take over. A strength keeps about the same share of the picture whatever the style"),
        O.STRENGTH_MIN, O.STRENGTH_MAX, O.STRENGTH_DEFAULT, RW)
    p.add_int_argument(
        "size", _("Si_ze (long side, 0 = full layer)"),
        _("Long side, in pixels, at which the style is painted; 0 = the layer's full size "
          "(slower). The result always has the layer's size."),
        0, O.SIZE_MAX, O.SIZE_DEFAULT, RW)
    p.add_int_argument(
        "iterations", _("It_erations"),
        _("Optimisation steps at the finest scale (more = more converged, slower); 0 is "
          "refused with a message"),
        O.ITERATIONS_DECLARED_MIN, O.ITERATIONS_MAX, O.ITERATIONS_DEFAULT, RW)
    p.add_choice_argument(
        "model", _("_Network"), _("The VGG network that judges content and style"),
        _choice(O.MODELS), O.ENGINE.model, RW)
    p.add_choice_argument(
        "pooling", _("_Pooling"),
        _("How the network pools features: avg (smoother) or max (crisper)"),
        _choice(O.POOLINGS), O.ENGINE.pooling, RW)
    p.add_boolean_argument(
        "preserve-colors", _("_Keep original colours"),
        _("Transfer only the style's texture and keep the layer's own colours"),
        O.ENGINE.preserve_colors, RW)
    p.add_int_argument(
        "seed", _("See_d"), _("Random seed: the same seed and settings give the same picture"),
        0, O.SEED_MAX, O.ENGINE.seed, RW)
    p.add_core_object_array_return_value(
        RETURN_LAYERS, _("Layers"),
        _("The new layers, one per source layer, each directly above its source"),
        Gimp.Layer, RW)


@dataclass
class Request:
    """The arguments of one run, read from the procedure's config."""

    options: O.Options
    style_source: str
    style_file: Gio.File | None
    style_layer: Gimp.Layer | None
    style2_file: Gio.File | None


def read(config: Gimp.ProcedureConfig) -> Request:
    """Read the config (after the dialog, or as a script set it)."""
    get = config.get_property
    opts = O.Options(
        strength=float(get("strength")),
        size=int(get("size")),
        iterations=int(get("iterations")),
        model=str(get("model")),
        pooling=str(get("pooling")),
        preserve_colors=bool(get("preserve-colors")),
        seed=int(get("seed")),
        style2_weight=float(get("style2-weight")),
    )
    return Request(opts, str(get("style-source")), get("style-file"), get("style-layer"),
                   get("style2-file"))
