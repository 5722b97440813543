"""A one-line progress bar on stderr, for the local engine and the daemon alike."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO


def done_line(stats: Mapping[str, Any]) -> str:
    """The closing line of a finished job, the same for the local engine and the daemon."""
    return (f"done in {stats['seconds']:.1f}s on {stats['device']}, {stats['iterations']} "
            f"iterations, seed {stats['seed']}, {stats['model']} ({stats['weights']})")


class ProgressBar:
    """Redraws in place on a terminal; on a pipe or log prints a line every 10 %."""

    def __init__(self, stream: TextIO = sys.stderr, enabled: bool = True, width: int = 30) -> None:
        self.stream = stream
        self.enabled = enabled
        self.width = width
        self.tty = stream.isatty()
        self._last_decile = -1
        self._last_draw = 0.0

    def update(
        self, iteration: int, total: int, stage: str = "", scale: int = 1, scales: int = 1,
        loss: float = 0.0, elapsed: float = 0.0, prefix: str = "",
    ) -> None:
        if not self.enabled:
            return
        fraction = iteration / total if total else 1.0
        filled = int(self.width * fraction)
        bar = "#" * filled + "." * (self.width - filled)
        line = (
            f"{prefix}[{bar}] {fraction:4.0%} {stage:<10} scale {scale}/{scales} "
            f"it {iteration}/{total} loss {loss:.3g} {elapsed:5.1f}s"
        )
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or iteration >= total:
                self.stream.write("\r" + line)
                self.stream.flush()
                self._last_draw = now
        else:
            decile = int(fraction * 10)
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(line + "\n")
                self.stream.flush()

    def close(self, message: str = "") -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\n")
        if message:
            self.stream.write(message + "\n")
        self.stream.flush()
