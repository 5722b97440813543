"""The interactive dialog: a GimpUi.ProcedureDialog over the procedure's own arguments (GIMP
remembers the last values), plus one line saying which device and weights the daemon has
(where the weights came from in its tooltip).

It cannot be filled wrongly: only the networks the daemon has loaded (or, with no daemon yet,
the configured ones) can be chosen, and the choice starts on one of them; fields that do not
apply are greyed out; the style choosers list image files (with a preview); OK with settings
that cannot run shows the reason inside the dialog, which stays open, until the settings change
so that they can run. Long lines wrap inside a fixed width, so the dialog keeps its size.

Imported only in INTERACTIVE mode: GimpUi needs a display (GIMP3.md, gotcha 10).
"""

from __future__ import annotations

from typing import Any

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
gi.require_version("GdkPixbuf", "2.0")
from gi.repository import GdkPixbuf, Gimp, GimpUi, GLib, GObject, Gtk  # noqa: E402

from . import arguments, configured, daemon_link  # noqa: E402
from . import options as O  # noqa: E402
from .debug import trace  # noqa: E402
from .i18n import _  # noqa: E402

PLUGIN_BINARY = "impasto-stylize"
TITLE = _("Neural Style Transfer")
#: the width in characters of the dialog's own lines (daemon, refusal): narrower than the
#: fields above them, so a longer message wraps instead of widening the dialog
LINE_CHARS = 50

STYLE_FIELDS = ["style-source", "style-file", "style-layer", "style2-file", "style2-weight"]
PAINT_FIELDS = ["strength", "size", "iterations", "seed"]
NETWORK_FIELDS = ["model", "pooling", "preserve-colors"]
SLIDERS = ["strength", "style2-weight"]
#: the chooser's preview thumbnail, in px
THUMBNAIL = 160


def run(procedure: Gimp.Procedure, config: Gimp.ProcedureConfig,
        welcome: dict[str, Any] | None) -> bool:
    """Show the dialog; True when the user pressed OK on settings that can run (the config then
    holds the choices), False when the dialog was cancelled."""
    GimpUi.init(PLUGIN_BINARY)
    setup = configured.read()
    loaded = None if welcome is None else [m.get("name", "") for m in welcome.get("models", ())]
    offered = O.offered_models(loaded, setup.models)
    _offer_models(config, offered, setup.default)
    for name in arguments.FILE_ARGUMENTS:  # a chooser widget needs OPEN (see arguments.py)
        Gimp.param_spec_file_set_action(config.find_property(name), Gimp.FileChooserAction.OPEN)
    line = daemon_link.describe(welcome)
    if welcome is None and setup.note:
        line += " " + _("({note})").format(note=setup.note)
    tooltip = daemon_link.weights_tooltip(welcome)
    dialog = GimpUi.ProcedureDialog.new(procedure, config, TITLE)
    try:
        _daemon_label(dialog, line, tooltip, daemon_link.any_demo(welcome))
        refusal = _line(dialog.get_label("refusal", "", True, False))
        for slider in SLIDERS:
            dialog.get_spin_scale(slider, 1.0)
        dialog.fill_box("style-box", STYLE_FIELDS)
        dialog.get_label("style-title", _("Style"), False, False)
        dialog.fill_frame("style-frame", "style-title", False, "style-box")
        dialog.fill_box("paint-box", PAINT_FIELDS)
        dialog.get_label("paint-title", _("Painting"), False, False)
        dialog.fill_frame("paint-frame", "paint-title", False, "paint-box")
        dialog.fill_box("network-box", NETWORK_FIELDS)
        dialog.get_label("network-title", _("Network"), False, False)
        dialog.fill_frame("network-frame", "network-title", False, "network-box")
        _link_style_source(dialog, config)
        _link_second_style(dialog, config)
        for name in arguments.FILE_ARGUMENTS:
            _image_chooser(dialog, name)
        dialog.fill(["style-frame", "paint-frame", "network-frame", "daemon-info", "refusal"])
        trace(f"dialog: {line}")
        trace(f"dialog: weights tooltip {tooltip!r}")
        trace(f"dialog: networks offered {offered}, chosen {config.get_property('model')}")
    except Exception as exc:  # a layout call missing on this GIMP: fall back to the plain dialog
        trace(f"dialog: plain layout ({exc})")
        dialog.destroy()
        dialog = GimpUi.ProcedureDialog.new(procedure, config, TITLE)
        _daemon_label(dialog, line, tooltip, daemon_link.any_demo(welcome))
        refusal = _line(dialog.get_label("refusal", "", True, False))
        dialog.fill(None)
    shown = _RefusalLine(refusal, lambda: _refusal(config, offered))
    config.connect("notify", shown.recheck)
    dialog.connect("size-allocate", _trace_width, [])
    try:
        while dialog.run():
            reason = _refusal(config, offered)
            if reason is None:
                return True
            trace(f"dialog: OK refused: {reason}")
            shown.show(reason)
        return False
    finally:
        dialog.destroy()


class _RefusalLine:
    """The red line under the fields: set when OK is refused, and kept up to date as the
    settings change, so it disappears as soon as they can run (e.g. once a style is chosen)."""

    def __init__(self, label: Gtk.Label, why: object) -> None:
        self.label = label
        self.why = why
        self.reason: str | None = None

    def show(self, reason: str | None) -> None:
        if reason == self.reason:
            return
        self.reason = reason
        if reason is None:
            self.label.set_text("")
            trace("dialog: refusal cleared (the settings can run now)")
            return
        self.label.set_markup('<span foreground="#c01c28"><b>'
                              f"{GLib.markup_escape_text(reason, -1)}</b></span>")

    def recheck(self, _config: object, spec: GObject.ParamSpec) -> None:
        if self.reason is not None:
            trace(f"dialog: {spec.name} changed, refusal checked again")
            self.show(self.why())


def _line(label: Gtk.Widget) -> Gtk.Widget:
    """Wrap a dialog line at LINE_CHARS characters, so its length never changes the width."""
    if isinstance(label, Gtk.Label):
        label.set_line_wrap(True)
        label.set_width_chars(LINE_CHARS)
        label.set_max_width_chars(LINE_CHARS)
        label.set_xalign(0.0)
    return label


def _trace_width(dialog: Gtk.Widget, allocation: object, seen: list[int]) -> None:
    """The dialog's width whenever it changes (tests check that messages do not widen it)."""
    width = dialog.get_allocated_width()
    if not seen or seen[-1] != width:
        seen.append(width)
        trace(f"dialog: width {width}")


def _refusal(config: Gimp.ProcedureConfig, offered: list[str]) -> str | None:
    request = arguments.read(config)
    return O.refusal(request.options, request.style_source, request.style_file is not None,
                     request.style_layer is not None, offered)


def _offer_models(config: Gimp.ProcedureConfig, offered: list[str], preferred: str | None) -> None:
    """Start on a network that works, and grey out the others in the 'Network' choice."""
    current = str(config.get_property("model"))
    chosen = O.pick_model(offered, current, preferred)
    if chosen != current:
        config.set_property("model", chosen)
        trace(f"dialog: network {current} is not available, starting on {chosen}")
    choice = Gimp.param_spec_choice_get_choice(config.find_property("model"))
    for name in O.model_names():
        choice.set_sensitive(name, name in offered)


def _daemon_label(dialog: GimpUi.ProcedureDialog, line: str, tooltip: str, demo: bool) -> None:
    """The daemon's device and weights; random (demo) weights in bold, never to be mistaken
    for a real model; where the weights came from in the tooltip."""
    markup = GLib.markup_escape_text(line, -1)
    if demo:
        markup = f"<b>{markup}</b>"
    label = _line(dialog.get_label("daemon-info", markup, True, False))
    if tooltip:
        label.set_tooltip_text(tooltip)


def _link_style_source(dialog: GimpUi.ProcedureDialog, config: Gimp.ProcedureConfig) -> None:
    """Grey out the file or the layer chooser according to 'Style from'."""
    for field, value in (("style-file", "file"), ("style-layer", "layer")):
        values = Gimp.ValueArray.new(1)
        values.append(GObject.Value(GObject.TYPE_STRING, value))
        dialog.set_sensitive_if_in(field, None, "style-source", values, True)


def _link_second_style(dialog: GimpUi.ProcedureDialog, config: Gimp.ProcedureConfig) -> None:
    """The second style's weight applies only once a second style is chosen."""

    def update(*_args: object) -> None:
        has_second = config.get_property("style2-file") is not None
        dialog.set_sensitive("style2-weight", has_second, None, None, False)
        trace(f"dialog: second style weight {'active' if has_second else 'greyed out'}")

    config.connect("notify::style2-file", update)
    update()


def _image_chooser(dialog: GimpUi.ProcedureDialog, name: str) -> None:
    """Image files first in the style chooser (all files one click away), with a thumbnail."""
    widget = dialog.get_widget(name, GObject.TYPE_NONE)
    button = _find(widget, Gtk.FileChooserButton)
    if button is None:
        trace(f"dialog: no file chooser button in {name}'s widget")
        return
    images = Gtk.FileFilter()
    images.set_name(_("Images"))
    images.add_pixbuf_formats()
    images.add_mime_type("image/*")
    everything = Gtk.FileFilter()
    everything.set_name(_("All files"))
    everything.add_pattern("*")
    button.add_filter(images)
    button.add_filter(everything)
    button.set_filter(images)
    thumbnail = Gtk.Image()
    button.set_preview_widget(thumbnail)
    button.connect("update-preview", _update_thumbnail, thumbnail)
    trace(f"dialog: {name} lists {[f.get_name() for f in button.list_filters()]}, with preview")


def _update_thumbnail(button: Gtk.FileChooser, thumbnail: Gtk.Image) -> None:
    path = button.get_preview_filename()
    try:
        pixbuf = GdkPixbuf.Pixbuf.new_from_file_at_size(path, THUMBNAIL, THUMBNAIL) if path \
            else None
    except GLib.Error:
        pixbuf = None
    thumbnail.set_from_pixbuf(pixbuf)
    button.set_preview_widget_active(pixbuf is not None)


def _find(widget: Gtk.Widget | None, kind: type) -> Gtk.Widget | None:
    """The first ``kind`` in ``widget``'s tree (GimpFileChooser wraps a GtkFileChooserButton)."""
    if widget is None or isinstance(widget, kind):
        return widget
    if isinstance(widget, Gtk.Container):
        for child in widget.get_children():
            found = _find(child, kind)
            if found is not None:
                return found
    return None
