"""The interactive dialog: a GimpUi.ProcedureDialog over the procedure's own arguments (GIMP
remembers the last values), plus one line saying which device and weights the daemon has.

Imported only in INTERACTIVE mode: GimpUi needs a display (GIMP3.md, gotcha 10).
"""

from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
from gi.repository import Gimp, GimpUi, GLib, GObject  # noqa: E402

from .debug import trace  # noqa: E402

PLUGIN_BINARY = "impasto-stylize"
TITLE = "Neural Style Transfer"

STYLE_FIELDS = ["style-source", "style-file", "style-layer", "style2-file", "style2-weight"]
PAINT_FIELDS = ["strength", "size", "iterations", "seed"]
NETWORK_FIELDS = ["model", "pooling", "preserve-colors"]
SLIDERS = ["strength", "style2-weight"]


def run(procedure: Gimp.Procedure, config: Gimp.ProcedureConfig, daemon_line: str) -> bool:
    """Show the dialog; True when the user pressed OK (the config then holds the choices)."""
    GimpUi.init(PLUGIN_BINARY)
    dialog = GimpUi.ProcedureDialog.new(procedure, config, TITLE)
    try:
        _daemon_label(dialog, daemon_line)
        for slider in SLIDERS:
            dialog.get_spin_scale(slider, 1.0)
        dialog.fill_box("style-box", STYLE_FIELDS)
        dialog.get_label("style-title", "Style", False, False)
        dialog.fill_frame("style-frame", "style-title", False, "style-box")
        dialog.fill_box("paint-box", PAINT_FIELDS)
        dialog.get_label("paint-title", "Painting", False, False)
        dialog.fill_frame("paint-frame", "paint-title", False, "paint-box")
        dialog.fill_box("network-box", NETWORK_FIELDS)
        dialog.get_label("network-title", "Network", False, False)
        dialog.fill_frame("network-frame", "network-title", False, "network-box")
        _link_style_source(dialog, config)
        dialog.fill(["style-frame", "paint-frame", "network-frame", "daemon-info"])
        trace(f"dialog: {daemon_line}")
    except Exception as exc:  # a layout call missing on this GIMP: fall back to the plain dialog
        trace(f"dialog: plain layout ({exc})")
        dialog.destroy()
        dialog = GimpUi.ProcedureDialog.new(procedure, config, TITLE)
        _daemon_label(dialog, daemon_line)
        dialog.fill(None)
    try:
        return bool(dialog.run())
    finally:
        dialog.destroy()


def _daemon_label(dialog: GimpUi.ProcedureDialog, line: str) -> None:
    """The daemon's device and weights; random (demo) weights in bold, never to be mistaken
    for a real model."""
    markup = GLib.markup_escape_text(line, -1)
    if "demo weights" in line:
        markup = f"<b>{markup}</b>"
    dialog.get_label("daemon-info", markup, True, False)


def _link_style_source(dialog: GimpUi.ProcedureDialog, config: Gimp.ProcedureConfig) -> None:
    """Grey out the file or the layer chooser according to 'Style from'."""
    for field, value in (("style-file", "file"), ("style-layer", "layer")):
        values = Gimp.ValueArray.new(1)
        values.append(GObject.Value(GObject.TYPE_STRING, value))
        dialog.set_sensitive_if_in(field, None, "style-source", values, True)
