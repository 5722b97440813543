"""The live preview: a small window beside GIMP that shows the picture forming, a bar with the
percentage done, the progress line (wrapped, never cut) and a Cancel button, for INTERACTIVE
runs.

Why a window and not a temporary layer: GIMP's own cancel button kills the plug-in
(``gimp_plug_in_close(plug_in, TRUE)``) and GIMP then removes nothing a plug-in put into the
image, so a preview layer would be left behind. A window dies with the plug-in, the image is
only touched when the final layers are inserted (one undo step), and the daemon cancels the job
of a client that vanished. Only used where GimpUi is initialised (GIMP3.md, gotcha 10).
"""

from __future__ import annotations

import zlib

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("GdkPixbuf", "2.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Pango", "1.0")
from gi.repository import GdkPixbuf, GimpUi, GLib, Gtk, Pango  # noqa: E402

from .debug import trace  # noqa: E402
from .i18n import _  # noqa: E402
from .progress import PREVIEW_BOX, percent, preview_size  # noqa: E402

TITLE = _("Impasto — painting")
#: the progress line's width in characters: the picture's width, so that a longer line wraps
#: onto a second row instead of widening the window or being cut
LINE_CHARS = 36


class PreviewWindow:
    """The window; ``pump()`` must be called often (the plug-in has no GTK main loop running)."""

    def __init__(self, what: str) -> None:
        self.cancelled = False
        self.frames = 0
        self.window = Gtk.Dialog(title=TITLE, modal=False)
        self.window.set_role("impasto-preview")
        self.window.add_button(_("_Cancel"), Gtk.ResponseType.CANCEL)
        self.window.connect("response", self._on_response)
        self.window.connect("delete-event", self._on_delete)
        box = self.window.get_content_area()
        box.set_spacing(6)
        box.set_border_width(12)
        heading = Gtk.Label(label=what, xalign=0.0)
        heading.set_ellipsize(Pango.EllipsizeMode.END)
        heading.set_tooltip_text(what)
        box.pack_start(heading, False, False, 0)
        frame = Gtk.Frame()
        self.image = Gtk.Image()
        self.image.set_size_request(PREVIEW_BOX, PREVIEW_BOX)
        frame.add(self.image)
        box.pack_start(frame, True, True, 0)
        self.bar = Gtk.ProgressBar(show_text=True)
        self.bar.set_text(percent(0.0))
        box.pack_start(self.bar, False, False, 0)
        self.line = Gtk.Label(label=_("Starting…"), xalign=0.0, yalign=0.0)
        self.line.set_line_wrap(True)
        self.line.set_line_wrap_mode(Pango.WrapMode.WORD_CHAR)
        self.line.set_width_chars(LINE_CHARS)
        self.line.set_max_width_chars(LINE_CHARS)
        self.line.set_lines(3)  # three rows at most, the last one ellipsized: the size holds
        self.line.set_ellipsize(Pango.EllipsizeMode.END)
        box.pack_start(self.line, False, False, 0)
        self.window.show_all()
        try:
            GimpUi.window_set_transient(self.window)  # above the image window it came from
        except (AttributeError, GLib.Error) as exc:
            trace(f"preview: not transient ({exc})")
        trace(f"preview: window open ({what})")
        self.pump()

    def _on_response(self, _dialog: Gtk.Dialog, response: int) -> None:
        self.cancelled = True
        trace(f"preview: cancel pressed (response {response})")

    def _on_delete(self, *_args: object) -> bool:
        self.cancelled = True
        trace("preview: window closed")
        return True  # the run loop closes it after cancelling the job

    def pump(self) -> None:
        """Let GTK draw and handle clicks (non-blocking)."""
        while Gtk.events_pending():
            Gtk.main_iteration_do(False)

    def progress(self, fraction: float, line: str) -> None:
        """The bar shows the share done as a percentage; the line below it says where the
        job is (scale, step, time left), on as many rows as it needs."""
        share = min(1.0, max(0.0, fraction))
        self.bar.set_fraction(share)
        self.bar.set_text(percent(share))
        if line != self.line.get_text():
            self.line.set_text(line)
            self.line.set_tooltip_text(line)
            trace(f"preview: bar {self.bar.get_text()!r}, line {line!r}, "
                  f"{self._line_rows()} row(s), all shown: {not self._line_cut()}")

    def _line_rows(self) -> int:
        return self.line.get_layout().get_line_count()

    def _line_cut(self) -> bool:
        """True when Pango had to ellipsize the line (it did not fit in its rows)."""
        return bool(self.line.get_layout().is_ellipsized())

    def show(self, width: int, height: int, channels: int, pixels: bytes) -> None:
        """Show one preview frame (RGB or RGBA, 8 bits), scaled to the window's box."""
        if channels not in (3, 4) or len(pixels) != width * height * channels:
            trace(f"preview: ignored a {width}x{height}x{channels} frame of {len(pixels)} bytes")
            return
        pixbuf = GdkPixbuf.Pixbuf.new_from_bytes(
            GLib.Bytes.new(pixels), GdkPixbuf.Colorspace.RGB, channels == 4, 8, width, height,
            width * channels)
        w, h = preview_size(width, height)
        self.image.set_from_pixbuf(pixbuf.scale_simple(w, h, GdkPixbuf.InterpType.BILINEAR))
        self.frames += 1
        shown = self.image.get_pixbuf()  # what the widget holds, read back for the trace
        crc = zlib.crc32(shown.get_pixels()) if shown is not None else 0
        trace(f"preview: frame {self.frames} {width}x{height} shown at {w}x{h} crc {crc:08x}")

    def close(self) -> None:
        self.window.destroy()
        self.pump()
        trace("preview: window closed by the plug-in")
