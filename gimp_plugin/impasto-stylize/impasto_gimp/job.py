"""One run of the filter, start to end: read the layers and the style, get a daemon, send one
request, follow its progress, and insert the result only once all of it is here and checked.

Imported after the dependency check (it needs ``zmq`` and ``msgpack`` through ``impasto_wire``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402

from impasto_wire import Event  # noqa: E402
from impasto_wire.protocol import Image, MessageType  # noqa: E402

from . import arguments, daemon_link, layers, progress, styles  # noqa: E402
from .debug import trace  # noqa: E402
from .i18n import _  # noqa: E402
from .messages import Cancelled, Failure, daemon_error, model_missing  # noqa: E402
from .options import OptionsError  # noqa: E402
from .pixels import CHANNELS, read_rgba  # noqa: E402

if TYPE_CHECKING:  # imported for real only in INTERACTIVE runs (it needs a display)
    from .preview_window import PreviewWindow

POLL_SLICE = 0.1  # seconds per wait: short, so progress and closed images are noticed quickly
IMAGE_CHECK_EVERY = 1.0


def paint(procedure: Gimp.Procedure, run_mode: Gimp.RunMode, image: Gimp.Image,
          drawables: Sequence[Gimp.Drawable], config: Gimp.ProcedureConfig) -> list[Gimp.Layer]:
    """Stylise the selected layers; returns the new layers. Raises Failure or Cancelled."""
    sources = layers.sources(drawables)
    interactive = run_mode == Gimp.RunMode.INTERACTIVE
    if interactive:
        from . import dialog  # GimpUi only here: it needs a display

        if not dialog.run(procedure, config, daemon_link.peek()):
            raise Cancelled("dialog closed")
    request = arguments.read(config)
    opts = request.options
    try:
        opts.validate()
    except OptionsError as exc:
        raise Failure(str(exc)) from None
    n_styles = 2 if request.style2_file is not None else 1
    style_list, style_names = styles.gather(request.style_source, request.style_file,
                                            request.style_layer, request.style2_file,
                                            opts.style_weights(n_styles))
    Gimp.progress_init(_("Neural style transfer: reading the layers…"))
    trace("progress: reading the layers")
    contents = [(Image(s.get_width(), s.get_height(), CHANNELS), read_rgba(s)) for s in sources]
    names = [s.get_name() for s in sources]

    window = None
    if interactive:  # the live preview (a window: see preview_window for why not a layer)
        from .preview_window import PreviewWindow

        window = PreviewWindow(_("{layers} in the style of {styles}").format(
            layers=" + ".join(repr(n) for n in names),
            styles=" + ".join(repr(n) for n in style_names)))
    link = daemon_link.DaemonLink()
    try:
        link.connect(on_start=_starting, tick=lambda: _tick(window))
        trace(f"daemon at {link.endpoint} on {link.device}, started here: {link.started}")
        if opts.model not in link.loaded_models():
            raise Failure(model_missing(opts.model, link.loaded_models()))
        if len(sources) > link.max_layers:
            raise Failure(_("The daemon paints at most {most} layers at once; {count} are "
                            "selected.").format(most=link.max_layers, count=len(sources)))
        demo = link.is_demo(opts.model)
        _show((progress.DEMO_TAG if demo else "")
              + _("Sending {count} layer(s) to the daemon…").format(count=len(sources)))
        job_id = link.submit(contents, style_list, opts.wire_settings(), style_names,
                             preview=progress.PREVIEW_BOX if window is not None else 0)
        trace(f"job {job_id} accepted: {len(sources)} layer(s), styles {style_names}")
        result = _follow(link, image, names, style_names, demo, window)
    finally:
        link.close()
        if window is not None:
            window.close()

    if not image.is_valid():
        raise Cancelled("the image was closed before the result arrived; nothing was added")
    sent = [(im.width, im.height) for im, _ in contents]
    painted = layers.match_result(sources, names, sent, result.images(), style_names)
    alive = [p for p in painted if p.source.is_valid()]
    if not alive:
        raise Cancelled("the layers were deleted before the result arrived; nothing was added")
    if len(alive) < len(painted):
        Gimp.message(_("{deleted} of the selected layers were deleted while they were being "
                       "painted; only the others got a stylised copy.").format(
            deleted=len(painted) - len(alive)))
    _show(_("Adding the new layer(s)…"))
    new = layers.insert(image, alive)
    Gimp.progress_update(1.0)
    Gimp.displays_flush()
    return new


def _tick(window: PreviewWindow | None) -> None:
    """While the daemon starts: keep GIMP's bar and the preview window alive."""
    Gimp.progress_pulse()
    if window is not None:
        window.pump()
        if window.cancelled:
            raise Cancelled("cancelled in the preview window while the daemon started")


def _show(text: str) -> None:
    """Set the progress bar's text (and trace it: headless runs have no bar to look at)."""
    trace(f"progress: {text}")
    Gimp.progress_set_text(text)


def _starting() -> None:
    trace("starting the daemon")
    _show(_("Starting the Impasto daemon…"))


def _follow(link: daemon_link.DaemonLink, image: Gimp.Image, names: list[str],
            style_names: list[str], demo: bool, window: PreviewWindow | None) -> Event:
    """Feed GIMP's progress bar and the preview window until the job ends; return its
    ``result`` event."""
    shown_text, shown_fraction = "", -1.0
    next_check = time.monotonic() + IMAGE_CHECK_EVERY
    while True:
        ev = link.next_event(POLL_SLICE)
        if window is not None:
            window.pump()
            if window.cancelled:
                link.cancel()
                raise Cancelled("cancelled in the preview window; the job was cancelled")
        if time.monotonic() >= next_check:
            next_check = time.monotonic() + IMAGE_CHECK_EVERY
            if not image.is_valid():  # closed while we wait: stop the daemon's work too
                link.cancel()
                raise Cancelled("the image was closed; the job was cancelled")
        if ev is None:
            continue
        if ev.type is MessageType.PROGRESS:
            assert ev.progress is not None  # the client reads every progress header once
            line = progress.text(ev.progress, names, demo)
            if line != shown_text:
                _show(line)
                shown_text = line
            frac = progress.fraction(ev.progress)
            if abs(frac - shown_fraction) >= 0.005:
                Gimp.progress_update(frac)
                shown_fraction = frac
            if window is not None:
                window.progress(frac, line)
                frame = ev.preview()
                if frame is not None:
                    desc, pixels = frame
                    window.show(desc.width, desc.height, desc.channels, bytes(pixels))
        elif ev.type is MessageType.RESULT:
            return ev
        elif ev.type is MessageType.ERROR:
            raise Failure(daemon_error(ev.get("code", "internal"), ev.get("message", ""),
                                       style_names))
        elif ev.type is MessageType.CANCELLED:
            raise Failure(daemon_error("cancelled", ev.get("reason", ""), style_names))
