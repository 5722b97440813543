"""The one optimisation loop: L-BFGS or Adam over the image pixels, with progress and cancel.

Work is counted in optimiser *steps*, as the user's iteration count means: an L-BFGS step may
evaluate the loss more than once in its line search, so evaluations are capped separately
(``EVALS_PER_STEP``). A scale also ends early once it has converged: when the loss fell by less
than ``tolerance`` (relative) over the last ``window`` steps, more steps at this scale would
not change the picture that the next scale refines anyway.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..objective.whole import LossParts
from ..planning.memory_model import HISTORY
from ..results import StyleCancelled, StyleDiverged

# Called after every loss evaluation with (steps done at this scale, loss parts, current image).
StepCallback = Callable[[int, LossParts, torch.Tensor], None]
# Asked at the end of every step with (steps done, current image): True ends the run there.
StopRule = Callable[[int, torch.Tensor], bool]

EVALS_PER_STEP = 1.25  # L-BFGS: evaluations allowed per step on average (torch's own default)
CONVERGENCE_WINDOW = 10  # steps over which the relative loss change is measured
ADAM_FINAL_LR = 0.1  # Adam's learning rate decays (cosine) to this share of its start
ADAM_AVERAGE = 0.9  # ... and the result is an exponential average of its last iterates


@dataclass(frozen=True)
class Outcome:
    steps: int  # optimiser steps taken
    evaluations: int  # loss evaluations (forward + backward passes)
    converged: bool  # ended by the convergence rule rather than the step cap
    loss: float  # the returned image's loss (L-BFGS: the lowest seen; Adam: the last)


def optimise(
    image: torch.Tensor,
    objective,  # StyleObjective or TiledObjective: anything with .backward(image, autocast)
    steps: int,
    optimizer: str,
    learning_rate: float = 0.02,
    autocast: bool = False,
    on_step: StepCallback | None = None,
    cancel: threading.Event | None = None,
    history_size: int = HISTORY,
    tolerance: float = 0.0,
    until: StopRule | None = None,
) -> tuple[torch.Tensor, Outcome]:
    """Minimise the objective over a copy of ``image``; returns it and what it took.

    Cancel is checked before every loss evaluation, so a job stops within one iteration.
    ``tolerance`` 0 runs every step. ``until`` may end the run early, after any step (the
    strength's governor does, to move the style weight).
    """
    image = image.detach().clone().requires_grad_(True)
    if steps <= 0:
        return image.detach(), Outcome(0, 0, False, math.nan)
    if optimizer == "lbfgs":
        return _lbfgs(image, objective, steps, autocast, on_step, cancel, history_size,
                      tolerance, until)
    if optimizer == "adam":
        return _adam(image, objective, steps, learning_rate, autocast, on_step, cancel,
                     tolerance, until)
    raise ValueError(f"unknown optimizer {optimizer!r}")


class _Track:
    """Evaluations, the best image seen, and the loss at each step boundary."""

    def __init__(self, cancel: threading.Event | None, tolerance: float) -> None:
        self.cancel, self.tolerance = cancel, tolerance
        self.evaluations = 0
        self.best_loss, self.best_image = math.inf, None
        self.step_losses: list[float] = []  # best loss by the end of each step
        self.converged = False

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise StyleCancelled("cancelled")

    def record(self, parts: LossParts, image: torch.Tensor, keep_best: bool) -> float:
        self.evaluations += 1
        loss = float(parts.total.detach())
        if not math.isfinite(loss):
            raise StyleDiverged(
                f"the loss became NaN/infinite at evaluation {self.evaluations}: lower the "
                "style weight or the learning rate, or use L-BFGS"
            )
        if keep_best and loss < self.best_loss:
            self.best_loss, self.best_image = loss, image.detach().clone()
        return loss

    def end_step(self, loss: float) -> bool:
        """Note a finished step's loss; True when the scale has converged."""
        self.step_losses.append(loss)
        fall = relative_fall(self.step_losses, len(self.step_losses))
        if self.tolerance > 0 and fall is not None and fall < self.tolerance:
            self.converged = True
        return self.converged


def relative_fall(losses: Sequence[float], steps: int) -> float | None:
    """The convergence rule's measure after ``steps`` steps (``losses`` holds the loss at the
    end of each): how much the loss fell over the last CONVERGENCE_WINDOW steps, relative."""
    if steps <= CONVERGENCE_WINDOW:
        return None
    before = losses[steps - 1 - CONVERGENCE_WINDOW]
    return (before - losses[steps - 1]) / before if before > 0 else None


def steps_to_converge(losses: Sequence[float], tolerance: float) -> float | None:
    """How many more steps the convergence rule will likely let a scale run, read off its
    loss curve: the relative fall's decline over the last window, extrapolated as a power of
    the step count (which errs long rather than short). ``math.inf`` while the curve is not
    levelling off; None when it is too short to tell."""
    n = len(losses)
    if tolerance <= 0 or n <= 2 * CONVERGENCE_WINDOW:
        return None
    now, then = relative_fall(losses, n), relative_fall(losses, n - CONVERGENCE_WINDOW)
    if now is None or then is None:
        return None
    if now < tolerance:
        return 0
    if now <= 0 or then <= now:
        return math.inf
    power = math.log(then / now) / math.log(n / (n - CONVERGENCE_WINDOW))
    growth = math.log(now / tolerance) / power  # log of (steps at convergence / n)
    return math.ceil(n * math.expm1(min(growth, 30.0)))


class _Stop(Exception):
    """Raised inside the L-BFGS closure: the evaluation cap is spent, the scale converged or
    the stop rule (``until``) ended it."""


def _lbfgs(image, objective, steps, autocast, on_step, cancel, history_size, tolerance, until):
    track = _Track(cancel, tolerance)
    max_evals = math.ceil(steps * EVALS_PER_STEP) + 1
    # Negative tolerances stop torch from quitting on its own; the strong-Wolfe line search
    # keeps the loss from spiking (plain L-BFGS blows up at strong style weights).
    opt = torch.optim.LBFGS(
        [image], max_iter=steps, max_eval=10 * max_evals, tolerance_grad=-1,
        tolerance_change=-1, history_size=history_size, line_search_fn="strong_wolfe",
    )
    state = opt.state[image]
    current_step = [0]
    evaluated_step = [0]  # the last step that evaluated the loss at least once

    def evaluate() -> torch.Tensor:
        track.check_cancel()
        step = state.get("n_iter", 0)  # the step this evaluation belongs to (0: the start)
        if step > current_step[0]:  # the previous step is finished
            current_step[0] = step
            if track.end_step(track.best_loss) or (until is not None and until(step - 1, image)):
                raise _Stop
        if track.evaluations >= max_evals:
            raise _Stop
        evaluated_step[0] = step
        opt.zero_grad(set_to_none=True)
        parts = objective.backward(image, autocast)
        track.record(parts, image, keep_best=True)
        if on_step is not None:
            on_step(max(0, step - 1), parts, image)
        return parts.total

    try:
        opt.step(evaluate)
        done = state.get("n_iter", 0)
    except _Stop:  # a step cut off before its first evaluation is not a step taken
        done = evaluated_step[0]
    result = track.best_image if track.best_image is not None else image.detach()
    done = max(0, min(done, steps))
    return result.clamp(0, 1), Outcome(done, track.evaluations, track.converged, track.best_loss)


def _adam(image, objective, steps, learning_rate, autocast, on_step, cancel, tolerance,
          until):
    """Adam with a cosine-decaying rate and an average of the last iterates as the result:
    the late, small steps average the pixel noise out instead of adding it."""
    track = _Track(cancel, tolerance)
    opt = torch.optim.Adam([image], lr=learning_rate)
    final = learning_rate * ADAM_FINAL_LR
    average = image.detach().clone()
    done, loss = 0, math.nan
    for step in range(1, steps + 1):
        track.check_cancel()
        for group in opt.param_groups:
            group["lr"] = final + 0.5 * (learning_rate - final) * (
                1 + math.cos(math.pi * (step - 1) / max(steps, 1)))
        opt.zero_grad(set_to_none=True)
        parts = objective.backward(image, autocast)
        # A finiteness check syncs a GPU: every 10 steps, the last, and when converging.
        checked = step % 10 == 0 or step == steps or tolerance > 0
        if checked:
            loss = track.record(parts, image, keep_best=False)
        else:
            track.evaluations += 1
        opt.step()
        with torch.no_grad():
            image.clamp_(0, 1)
            average.lerp_(image, 1 - ADAM_AVERAGE)
            if checked and not torch.isfinite(image).all():
                raise StyleDiverged(f"the image became NaN/infinite at step {step}: lower the "
                                    "learning rate, or use L-BFGS")
        done = step
        if on_step is not None:
            on_step(step, parts, average)
        if (checked and track.end_step(loss)) or (until is not None and until(step, average)):
            break
    return average.clamp(0, 1), Outcome(done, track.evaluations, track.converged, loss)
