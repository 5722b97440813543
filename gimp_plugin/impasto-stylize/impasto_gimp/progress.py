"""Turn the daemon's progress events into GIMP's progress bar fraction and text.

Pure functions: the run loop feeds them the event's ``ProgressEvent`` (read once by the client)
and hands the result to ``Gimp.progress_update``/``Gimp.progress_set_text``.
"""

from __future__ import annotations

from collections.abc import Sequence

from impasto_wire.progress import ProgressEvent, format_eta

DEMO_TAG = "[demo weights — not a real model] "


def fraction(event: ProgressEvent) -> float:
    """Overall progress 0..1 as the daemon measures it (share of the job's time done)."""
    if event.stage in ("queued", "starting"):
        return 0.0
    return min(1.0, max(0.0, event.fraction))


def text(event: ProgressEvent, layer_names: Sequence[str], demo: bool = False) -> str:
    """One line for the progress bar, e.g. "Painting 'Sky' (2 of 3): scale 1/2, step 40/150"."""
    layers = max(1, event.layers)
    layer = min(max(0, event.layer), layers - 1)
    name = layer_names[layer] if layer < len(layer_names) else f"layer {layer + 1}"
    which = f"'{name}'" + (f" ({layer + 1} of {layers})" if layers > 1 else "")
    stage = event.stage
    if stage == "queued":
        ahead = event.position
        line = "Waiting for the daemon" + (f" ({ahead} job(s) ahead)" if ahead else "") + "…"
    elif stage == "starting":
        line = f"Preparing {which}…"
    elif stage == "targets":
        line = f"Reading the style for {which}…"
    elif stage == "optimising":
        where = f"scale {event.scale}/{event.scales}, " if event.scales > 1 else ""
        eta = format_eta(event.eta)
        line = (f"Painting {which}: {where}step {event.step}/{event.steps}"
                + (f", {eta}" if eta else ""))
    elif stage == "finishing":
        line = f"Finishing {which}…"
    else:
        line = f"Working on {which}…"
    return (DEMO_TAG if demo else "") + line


#: the preview's long side on screen, and what the plug-in asks the daemon for
PREVIEW_BOX = 256


def preview_size(width: int, height: int, box: int = PREVIEW_BOX) -> tuple[int, int]:
    """The on-screen size of a ``width`` x ``height`` preview: its long side ``box`` pixels
    (small frames are enlarged, so the window keeps its size from frame to frame)."""
    scale = box / max(1, width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))
