"""What a caller passes to watch and steer a job, as one value: where progress goes, how
often, the preview's size and rate, the cancel switch, and the clock all of it is timed by."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from impasto_wire.progress import ProgressEvent

from ..pixels import PREVIEW_SIZE
from ..results import StyleCancelled

ProgressCallback = Callable[[ProgressEvent], None]
Clock = Callable[[], float]


@dataclass(frozen=True)
class RunControls:
    """``progress`` gets an event at most every ``progress_interval`` seconds (stage changes
    always); a preview of ``preview_size`` px rides along every ``preview_interval`` seconds
    (None: never). ``clock`` is injectable so progress can be tested without wall time."""

    progress: ProgressCallback | None = None
    cancel: threading.Event | None = None
    progress_interval: float = 0.0
    preview_interval: float | None = None
    preview_size: int = PREVIEW_SIZE
    clock: Clock = time.monotonic

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise StyleCancelled("cancelled")


class Ticker:
    """Rate-limits reports: the first, the last, and one per ``interval`` seconds."""

    def __init__(self, interval: float, clock: Clock = time.monotonic) -> None:
        self.interval, self.clock = interval, clock
        self.last = float("-inf")

    def due(self, final: bool = False) -> bool:
        now = self.clock()
        if final or now - self.last >= self.interval:
            self.last = now
            return True
        return False
