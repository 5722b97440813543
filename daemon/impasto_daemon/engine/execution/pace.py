"""How far a request is, in time: the fraction done and the seconds left, measured as it goes
on an injectable clock.

Each scale's planned work (every batch's scales in order) is its step cap times the cost of
one step (planning.plan.step_cost). Once a few steps have been timed, the seconds per unit of
work are known, so the time left is the work left at that rate, and the fraction done is
elapsed time over elapsed plus remaining time: a bar fed with it moves evenly, whatever the
scales cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

#: steps timed before an estimate of the time left is offered
WARMUP_STEPS = 3


class Pace:
    """Tracks one request: ``costs[i]`` per step and ``caps[i]`` steps at scale i (0-based);
    ``batches[i]`` says which batch scale i belongs to."""

    def __init__(
        self,
        costs: Sequence[float],
        caps: Sequence[int],
        batches: Sequence[int] | None = None,
        tolerance: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.costs, self.caps = list(costs), list(caps)
        self.batches = list(batches) if batches is not None else [0] * len(caps)
        self.tolerance, self.clock = tolerance, clock
        self.done = [0] * len(caps)
        self.closed = [False] * len(caps)
        self.expected = list(caps)  # steps each scale will likely take (caps until known)
        self.started = clock()
        # work and seconds of timed steps: [all scales so far, the current scale]
        self._timed_work = [0.0, 0.0]
        self._timed_seconds = [0.0, 0.0]
        self._steps_timed = [0, 0]
        self._last: float | None = None  # when the previous step of the current scale ended

    @property
    def work(self) -> float:
        """The request's planned work (units of planning.plan.step_cost)."""
        return sum(c * n for c, n in zip(self.costs, self.caps))

    def begin_scale(self, scale: int) -> None:
        """The scale's first step starts now (target preparation is not a step)."""
        self._last = self.clock()
        self._timed_work[1], self._timed_seconds[1], self._steps_timed[1] = 0.0, 0.0, 0

    def step(self, scale: int, done: int, loss: float | None = None) -> None:
        """``done`` steps are finished at ``scale`` (``loss``: the latest evaluation's)."""
        now = self.clock()
        if self._last is not None and done > self.done[scale]:
            for i in (0, 1):
                self._timed_work[i] += (done - self.done[scale]) * self.costs[scale]
                self._timed_seconds[i] += now - self._last
                self._steps_timed[i] += done - self.done[scale]
        self.done[scale] = done
        self._last = now

    def end_scale(self, scale: int, converged: bool = False) -> None:
        """The scale is over: its unused steps drop out. One that converged early tells how
        many steps the next scales of its batch will likely take (they converge alike, each
        refining the last), so their expected work shrinks to that."""
        self.closed[scale] = True
        if converged:
            for later in range(scale + 1, len(self.expected)):
                if self.batches[later] == self.batches[scale]:
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
            elapsed = self.clock() - self.started
            return elapsed / max(elapsed + eta, 1e-9)
        total = self.work
        return 0.0 if total <= 0 else 1.0 - self.remaining_work() / total
