"""How far a job is, in time: the fraction done and the seconds left, measured as it goes.

Each scale's planned work is its step cap times the cost of one step (pixels plus a fixed
overhead per pass). Once a few steps have been timed, the seconds per unit of work are known,
so the time left is the work left at that rate, and the fraction done is elapsed time over
elapsed plus remaining time: a bar fed with it moves evenly, whatever the scales cost.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

#: a pass over a tiny image still costs about what this many pixels would (launches, Python)
OVERHEAD_PIXELS = 16384
#: steps timed before an estimate of the time left is offered
WARMUP_STEPS = 3


def step_cost(pixels: int, tiles: int = 1) -> float:
    """Relative cost of one optimiser step at a scale of ``pixels`` cut into ``tiles`` crops."""
    return pixels * (1.25 if tiles > 1 else 1.0) + OVERHEAD_PIXELS * tiles


class Pace:
    """Tracks one job: ``costs[i]`` per step and ``caps[i]`` steps at scale i (0-based)."""

    def __init__(self, costs: Sequence[float], caps: Sequence[int]) -> None:
        self.costs, self.caps = list(costs), list(caps)
        self.done = [0] * len(caps)
        self.closed = [False] * len(caps)
        self.started = time.monotonic()
        self._timed_work = 0.0  # work done during timed steps
        self._timed_seconds = 0.0
        self._steps_timed = 0
        self._last: float | None = None  # when the previous step of the current scale ended

    @property
    def work(self) -> float:
        """The job's planned work (units of ``step_cost``)."""
        return sum(c * n for c, n in zip(self.costs, self.caps))

    def begin_scale(self) -> None:
        """The next step's clock starts now (target preparation is not a step)."""
        self._last = time.monotonic()

    def step(self, scale: int, done: int) -> None:
        """``done`` steps are finished at ``scale``."""
        now = time.monotonic()
        if self._last is not None and done > self.done[scale]:
            self._timed_work += (done - self.done[scale]) * self.costs[scale]
            self._timed_seconds += now - self._last
            self._steps_timed += done - self.done[scale]
        self.done[scale] = done
        self._last = now

    def end_scale(self, scale: int) -> None:
        """The scale is over (converged early or at its cap): its unused steps drop out."""
        self.closed[scale] = True

    def remaining_work(self) -> float:
        return sum(0.0 if closed else c * max(0, n - d)
                   for c, n, d, closed in zip(self.costs, self.caps, self.done, self.closed))

    def eta(self) -> float | None:
        """Seconds left at the measured rate; None until WARMUP_STEPS steps were timed."""
        if self._steps_timed < WARMUP_STEPS or self._timed_work <= 0:
            return None
        return self.remaining_work() * self._timed_seconds / self._timed_work

    def fraction(self) -> float:
        """Share of the job's time that is behind us (by planned work until timed)."""
        eta = self.eta()
        if eta is not None:
            elapsed = time.monotonic() - self.started
            return elapsed / max(elapsed + eta, 1e-9)
        total = self.work
        return 0.0 if total <= 0 else 1.0 - self.remaining_work() / total
