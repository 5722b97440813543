"""How far a request is, in time: the seconds left and the share of the time done, measured
as it goes, on an injectable clock.

Every scale of every batch has a cost per step (planning.plan.step_cost) and a step cap. The
steps a scale will take are its cap until something tells better: the scale before it in the
batch converging (the next ones converge alike, each refining the last), or the running
scale's own loss curve (optimisation.loop.steps_to_converge). A scale that runs past what was
expected of it, or whose curve is not levelling off, is expected to run OVERRUN_FACTOR times
the steps it has taken (at most its cap): the estimate grows instead of promising one more step,
without jumping to the whole cap on one flat stretch of the curve. Seconds per unit of work
come from the running scale's latest steps, so a machine that slows down is seen within a few
steps.

An estimate is offered (``eta``) only once it is likely right within a factor of two: the
running scale has timed WARMUP_STEPS steps, the steps of the scales still to come are informed
(a scale of the batch has ended, or this is its last), and the projected total time has held
within STABLE_SPREAD over the last STABLE_STEPS steps. Once offered it is never withdrawn.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence

from ..optimisation.loop import steps_to_converge

#: steps the running scale times before its rate is trusted
WARMUP_STEPS = 5
#: steps over which the rate (seconds per unit of work) is measured
RATE_STEPS = 10
#: a scale whose curve is not levelling off, or that ran past its expected end, is expected to
#: run this many times the steps it has taken (capped): the estimate grows as it overruns, but
#: one flat stretch of the curve does not promise the whole cap
OVERRUN_FACTOR = 2
#: steps whose projections of the running scale's length are pooled (their median)
PROJECTION_STEPS = 5
#: the projected total time must hold within this ratio over STABLE_STEPS steps ...
STABLE_SPREAD = 1.25
STABLE_STEPS = 5


class Pace:
    """``costs[i]`` per step and ``caps[i]`` steps at scale i (0-based, every batch's scales in
    order); ``batches[i]`` says which batch scale i belongs to."""

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
        self.prior = list(caps)  # steps each scale will likely take, before its curve tells
        self.informed = [False] * len(caps)  # whether ``prior`` is more than the cap
        self.started = clock()
        self.current = 0
        self._losses: list[float] = []  # the running scale's best loss at the end of each step
        #: the running scale's latest projections of its total steps
        self._projected: deque[float] = deque(maxlen=PROJECTION_STEPS)
        self._best = float("inf")
        self._recent: deque[tuple[float, float]] = deque(maxlen=RATE_STEPS)  # (work, seconds)
        self._last: float | None = None  # when the previous step of the running scale ended
        self._totals: deque[float] = deque(maxlen=STABLE_STEPS)  # projected total times
        self.offered = False

    @property
    def work(self) -> float:
        """The request's planned work (units of planning.plan.step_cost)."""
        return sum(c * n for c, n in zip(self.costs, self.caps))

    def begin_scale(self, scale: int) -> None:
        """The scale's first step starts now (target preparation is not a step)."""
        self.current, self._last = scale, self.clock()
        self._losses, self._best = [], float("inf")  # the rate carries over until replaced
        self._projected.clear()

    def step(self, scale: int, done: int, loss: float | None = None) -> None:
        """``done`` steps are finished at ``scale``; ``loss`` is the latest evaluation's."""
        now = self.clock()
        if loss is not None:
            self._best = min(self._best, loss)
        new = done - self.done[scale]
        if new > 0:
            self._losses += [self._best] * new
            left = steps_to_converge(self._losses, self.tolerance)
            if left is not None:
                self._projected.append(done + left if math.isfinite(left)
                                       else self._overrun(scale, done))
            if self._last is not None:
                self._recent.append((new * self.costs[scale], now - self._last))
            self.done[scale] = done
            self._last = now
            raw = self._raw_eta()
            if raw is not None:
                self._totals.append(now - self.started + raw)

    def end_scale(self, scale: int, converged: bool = False) -> None:
        """The scale is over. One that converged tells how many steps the next scales of its
        batch will likely take; either way they are no longer a guess from the cap alone."""
        self.closed[scale] = True
        for later in range(scale + 1, len(self.caps)):
            if self.batches[later] == self.batches[scale]:
                if converged:
                    self.prior[later] = min(self.caps[later], max(self.done[scale], 1))
                self.informed[later] = True

    def expected_steps(self, scale: int) -> int:
        """Steps the scale will likely take in all: done ones for a closed scale; for the
        running one its curve's projection, else its prior while it is not yet reached, else
        ``_overrun``; never more than its cap and always at least one more than done."""
        done, cap = self.done[scale], self.caps[scale]
        if self.closed[scale]:
            return done
        expected = self.prior[scale]
        if scale == self.current:
            projected = self.projected_steps()
            if projected is not None:
                expected = projected
            elif done >= expected:
                expected = self._overrun(scale, done)
        return max(done + 1, min(cap, expected))

    def _overrun(self, scale: int, done: int) -> float:
        """The steps expected of a scale whose curve is not levelling off or that ran past its
        prior: OVERRUN_FACTOR times those done, or its prior when that is informed and more
        (the cap alone tells nothing)."""
        return max(self.prior[scale] if self.informed[scale] else 0, OVERRUN_FACTOR * done)

    def projected_steps(self) -> float | None:
        """The running scale's total steps read off its curve: the median of its latest
        projections, as the extrapolation of a curve that flattens and falls again can be
        absurd for a step or two."""
        if not self._projected:
            return None
        return sorted(self._projected)[len(self._projected) // 2]

    def remaining_work(self) -> float:
        return sum(self.costs[i] * (self.expected_steps(i) - self.done[i])
                   for i in range(len(self.caps)) if not self.closed[i])

    def _rate(self) -> float | None:
        """Seconds per unit of work over the running scale's latest steps."""
        if len(self._recent) < min(WARMUP_STEPS, RATE_STEPS):
            return None
        work = sum(w for w, _ in self._recent)
        return sum(s for _, s in self._recent) / work if work > 0 else None

    def _raw_eta(self) -> float | None:
        rate = self._rate()
        return None if rate is None else self.remaining_work() * rate

    def _informed(self) -> bool:
        """Whether the steps still to come are more than caps: every scale after the running
        one in its batch has a prior informed by an ended scale, or the running scale is the
        batch's last and its own curve or prior says how long it runs."""
        batch = self.batches[self.current]
        later = [i for i in range(self.current + 1, len(self.caps)) if self.batches[i] == batch]
        if later:
            return all(self.informed[i] for i in later)
        return (self.informed[self.current]
                or self.projected_steps() is not None
                or self.tolerance <= 0)

    def eta(self) -> float | None:
        """Seconds left, once it is likely right within a factor of two (see the module)."""
        raw = self._raw_eta()
        if raw is None:
            return None
        if not self.offered:
            totals = self._totals
            stable = len(totals) == STABLE_STEPS and max(totals) <= STABLE_SPREAD * min(totals)
            warm = self.done[self.current] >= WARMUP_STEPS
            if not (warm and stable and self._informed()):
                return None
            self.offered = True
        return raw

    def fraction(self) -> float:
        """Share of the request's time behind us: by time once the rate is measured (the
        estimate need not be offered yet), else by planned work."""
        raw = self._raw_eta()
        if raw is not None:
            elapsed = self.clock() - self.started
            return elapsed / max(elapsed + raw, 1e-9)
        total = self.work
        return 0.0 if total <= 0 else 1.0 - self.remaining_work() / total
