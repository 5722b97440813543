"""A one-line progress bar on stderr, for the local engine and the daemon alike."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from impasto_wire.progress import ProgressEvent, eta_text, format_eta, step_text


def done_line(stats: Mapping[str, Any]) -> str:
    """The closing line of a finished job, the same for the local engine and the daemon."""
    weight = f", style weight {stats['style_weight']:.3g}" if stats.get("style_weight") else ""
    if stats.get("photo_kept") is not None and stats.get("kept_asked") is not None:
        weight += (f" (photo kept {stats['photo_kept']:.2f} where the strength asks "
                   f"{stats['kept_asked']:.2f})")
    return (f"done in {stats['seconds']:.1f}s on {stats['device']}, {stats['iterations']} "
            f"iterations{weight}, seed {stats['seed']}, {stats['model']} ({stats['weights']})")


class ProgressBar:
    """Redraws in place on a terminal; on a pipe or log prints a line every 10 %.

    ``enabled=False`` (``-q``) silences progress and the closing summary only: a failure is
    always told, one line on the stream, through ``fail``.
    """

    def __init__(self, stream: TextIO = sys.stderr, enabled: bool = True, width: int = 30) -> None:
        self.stream = stream
        self.enabled = enabled
        self.width = width
        self.tty = stream.isatty()
        self._last_decile = -1
        self._last_draw = 0.0
        self._open_line = False  # a tty line drawn with \r and not yet ended

    def update(self, event: ProgressEvent) -> None:
        """Draw one event: the share of the job's time done, where it is, and the time left."""
        if not self.enabled or event.stage in ("queued", "starting"):
            return
        fraction = min(1.0, max(0.0, event.fraction))
        filled = int(self.width * fraction)
        bar = "#" * filled + "." * (self.width - filled)
        prefix = f"layer {event.layer + 1}/{event.layers} " if event.layers > 1 else ""
        where = f"scale {event.scale}/{event.scales} " if event.scales > 1 else ""
        eta = eta_text(event.eta) if event.stage == "optimising" else format_eta(event.eta)
        line = (
            f"{prefix}[{bar}] {int(100 * fraction):3d}% {event.stage:<10} {where}"
            f"{step_text(event)} loss {event.loss:.3g} {event.elapsed:5.1f}s"
            + (f" {eta}" if eta else "")
        )
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or fraction >= 1.0:
                self.stream.write("\r" + line + "\x1b[K")
                self.stream.flush()
                self._last_draw = now
                self._open_line = True
        else:
            decile = int(fraction * 10)
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(line + "\n")
                self.stream.flush()

    def _end_line(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False

    def close(self, message: str = "") -> None:
        """End the bar with a summary (``done in ...``); nothing at all under ``-q``."""
        if not self.enabled:
            return
        self._end_line()
        if message:
            self.stream.write(message + "\n")
        self.stream.flush()

    def fail(self, message: str) -> None:
        """End the bar and say what went wrong, in one line, even under ``-q``."""
        self._end_line()
        self.stream.write(message.replace("\n", " ") + "\n")
        self.stream.flush()
