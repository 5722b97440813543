"""Turn the daemon's progress events into GIMP's progress bar fraction and text.

Pure functions: the run loop feeds them the event's ``ProgressEvent`` (read once by the client)
and hands the result to ``Gimp.progress_update``/``Gimp.progress_set_text`` and the preview
window.
"""

from __future__ import annotations

from collections.abc import Sequence

from impasto_wire.progress import ProgressEvent, eta_text, step_text

from .i18n import _

DEMO_TAG = _("[demo weights — not a real model] ")
#: stages before any work is measured: no percentage yet
_UNMEASURED = ("queued", "starting")


def fraction(event: ProgressEvent) -> float:
    """Overall progress 0..1 as the daemon measures it (share of the job's time done)."""
    if event.stage in _UNMEASURED:
        return 0.0
    return min(1.0, max(0.0, event.fraction))


def percent(share: float) -> str:
    """"42 %" for a 0..1 share, the way the bar and the text show it (the event's percent)."""
    return _("{percent} %").format(percent=ProgressEvent(fraction=share).percent)


def text(event: ProgressEvent, layer_names: Sequence[str], demo: bool = False) -> str:
    """One line for the progress bar, the percentage first (GIMP cuts a long text at its end),
    e.g. "42 % · Painting 'Sky' (2 of 3): scale 2/2, step 40/300, eta 2m10s"."""
    line = (DEMO_TAG if demo else "") + _what(event, layer_names)
    if event.stage in _UNMEASURED:
        return line
    return _("{percent} · {line}").format(percent=percent(fraction(event)), line=line)


def _what(event: ProgressEvent, layer_names: Sequence[str]) -> str:
    layers = max(1, event.layers)
    layer = min(max(0, event.layer), layers - 1)
    name = layer_names[layer] if layer < len(layer_names) else \
        _("layer {number}").format(number=layer + 1)
    which = (_("'{name}' ({number} of {count})").format(name=name, number=layer + 1,
                                                        count=layers)
             if layers > 1 else _("'{name}'").format(name=name))
    stage = event.stage
    if stage == "queued":
        if event.position:
            return _("Waiting for the daemon ({ahead} job(s) ahead)…").format(
                ahead=event.position)
        return _("Waiting for the daemon…")
    if stage == "starting":
        return _("Preparing {layer}…").format(layer=which)
    if stage == "targets":
        return _("Reading the style for {layer}…").format(layer=which)
    if stage == "optimising":
        # TRANSLATORS: {step} is "step 40/300", or "step 40 (at most 450)" on a coarser scale
        line = _("Painting {layer}: {step}") if event.scales <= 1 else \
            _("Painting {layer}: scale {scale}/{scales}, {step}")
        line = line.format(layer=which, scale=event.scale, scales=event.scales,
                           step=step(event))
        return _("{line}, {eta}").format(line=line, eta=eta(event.eta))
    if stage == "finishing":
        return _("Finishing {layer}…").format(layer=which)
    return _("Working on {layer}…").format(layer=which)


def step(event: ProgressEvent) -> str:
    """"step 40/300", or "step 40 (at most 450)" on a coarser scale: ``impasto_wire`` decides
    which (the same for the CLI), the plug-in gives the words (``impasto_wire`` serves the daemon
    and the CLI too, so it has no catalogue)."""
    return step_text(event, _("step {step}/{steps}"), _("step {step} (at most {steps})"))


def eta(seconds: float | None) -> str:
    """"eta 2m10s" (the wire's duration in the plug-in's words), or "estimating…" while the
    daemon offers no estimate yet."""
    return eta_text(seconds, _("eta {time}"), _("estimating…"))


#: the preview's long side on screen, and what the plug-in asks the daemon for
PREVIEW_BOX = 256


def preview_size(width: int, height: int, box: int = PREVIEW_BOX) -> tuple[int, int]:
    """The on-screen size of a ``width`` x ``height`` preview: its long side ``box`` pixels
    (small frames are enlarged, so the window keeps its size from frame to frame)."""
    scale = box / max(1, width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))
