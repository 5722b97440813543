"""How far a job is, in time: the fraction done and the seconds left, measured as it goes.

Each scale's planned work is its step cap times the cost of one step (pixels plus a fixed
overhead per pass). Once a few steps have been timed, the seconds per unit of work are known,
so the time left is the work left at that rate, and the fraction done is elapsed time over
elapsed plus remaining time: a bar fed with it moves evenly, whatever the scales cost.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

#: a pass over a tiny image still costs about what this many pixels would (launches, Python);
#: fitted to VGG19 forward+backward times at 128, 256 and 512 px on this project's CPU machine
OVERHEAD_PIXELS = 4096
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
        self.expected = list(caps)  # steps each scale will likely take (caps until known)
        self.started = time.monotonic()
        # work and seconds of timed steps: [all scales so far, the current scale]
        self._timed_work = [0.0, 0.0]
        self._timed_seconds = [0.0, 0.0]
        self._steps_timed = [0, 0]
        self._last: float | None = None  # when the previous step of the current scale ended

    @property
    def work(self) -> float:
        """The job's planned work (units of ``step_cost``)."""
        return sum(c * n for c, n in zip(self.costs, self.caps))

    def begin_scale(self) -> None:
        """The next step's clock starts now (target preparation is not a step)."""
        self._last = time.monotonic()
        self._timed_work[1], self._timed_seconds[1], self._steps_timed[1] = 0.0, 0.0, 0

    def step(self, scale: int, done: int) -> None:
        """``done`` steps are finished at ``scale``."""
        now = time.monotonic()
        if self._last is not None and done > self.done[scale]:
            for i in (0, 1):
                self._timed_work[i] += (done - self.done[scale]) * self.costs[scale]
                self._timed_seconds[i] += now - self._last
                self._steps_timed[i] += done - self.done[scale]
        self.done[scale] = done
        self._last = now

    def end_scale(self, scale: int, converged: bool = False) -> None:
        """The scale is over: its unused steps drop out. One that converged early tells how
        many steps the next scales will likely take (they converge alike, each refining the
        last), so their expected work shrinks to that."""
        self.closed[scale] = True
        if converged:
            for later in range(scale + 1, len(self.expected)):
                self.expected[later] = min(self.caps[later], max(self.done[scale], 1))

    def remaining_work(self) -> float:
        """Work left: each open scale's expected steps (at least one more than done)."""
        return sum(0.0 if closed else c * max(1, e - d)
                   for c, e, d, closed in zip(self.costs, self.expected, self.done, self.closed))

    def eta(self) -> float | None:
        """Seconds left at the measured rate (the current scale's once it has timed
        WARMUP_STEPS steps, else all scales'); None until WARMUP_STEPS steps were timed."""
        which = 1 if self._steps_timed[1] >= WARMUP_STEPS else 0
        if self._steps_timed[which] < WARMUP_STEPS or self._timed_work[which] <= 0:
            return None
        return self.remaining_work() * self._timed_seconds[which] / self._timed_work[which]

    def fraction(self) -> float:
        """Share of the job's time that is behind us (by planned work until timed)."""
        eta = self.eta()
        if eta is not None:
            elapsed = time.monotonic() - self.started
            return elapsed / max(elapsed + eta, 1e-9)
        total = self.work
        return 0.0 if total <= 0 else 1.0 - self.remaining_work() / total
