"""The one optimisation loop: L-BFGS or Adam over the image pixels, with progress and cancel."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import torch

from .objective import LossParts
from .results import StyleCancelled, StyleDiverged

# Called after every iteration with (iterations done in this run, loss parts, current image).
StepCallback = Callable[[int, LossParts, torch.Tensor], None]


def optimise(
    image: torch.Tensor,
    objective,  # StyleObjective or TiledObjective: anything with .backward(image, autocast)
    iterations: int,
    optimizer: str,
    learning_rate: float = 0.02,
    autocast: bool = False,
    on_step: StepCallback | None = None,
    cancel: threading.Event | None = None,
    history_size: int = 50,
) -> tuple[torch.Tensor, int]:
    """Minimise the objective over a copy of ``image``; returns it and the evaluations made.

    Cancel is checked before every loss evaluation, so a job stops within one iteration.
    """
    image = image.detach().clone().requires_grad_(True)
    if iterations <= 0:
        return image.detach(), 0
    done = 0
    lbfgs = optimizer == "lbfgs"
    best: list = [float("inf"), None]  # L-BFGS: lowest loss seen and the image that had it

    def evaluate() -> torch.Tensor:
        nonlocal done
        if cancel is not None and cancel.is_set():
            raise StyleCancelled("cancelled")
        if done >= iterations:
            raise _BudgetSpent  # a line search may ask for more evaluations than budgeted
        opt.zero_grad(set_to_none=True)
        parts = objective.backward(image, autocast)
        done += 1
        # A finiteness check syncs the GPU; L-BFGS syncs anyway, Adam only every 10 steps.
        if lbfgs or done % 10 == 0 or done == iterations:
            loss = float(parts.total.detach())
            if not math.isfinite(loss):
                raise StyleDiverged(
                    "the loss became NaN/infinite at iteration "
                    f"{done}: lower the style weight or the learning rate, or use L-BFGS"
                )
            if lbfgs and loss < best[0]:
                best[:] = [loss, image.detach().clone()]
        if on_step is not None:
            on_step(done, parts, image)
        return parts.total

    if lbfgs:
        # Negative tolerances stop it from quitting early. The Wolfe line search keeps the loss
        # from spiking (plain L-BFGS blows up at strong style weights); an iteration here is
        # one loss evaluation, so the time per job is predictable.
        opt = torch.optim.LBFGS(
            [image], max_iter=iterations, max_eval=iterations,
            tolerance_grad=-1, tolerance_change=-1, history_size=history_size,
            line_search_fn="strong_wolfe",
        )
        try:
            opt.step(evaluate)
        except _BudgetSpent:
            pass
        result = best[1] if best[1] is not None else image.detach()
    elif optimizer == "adam":
        opt = torch.optim.Adam([image], lr=learning_rate)
        for _ in range(iterations):
            opt.step(evaluate)
            with torch.no_grad():
                image.clamp_(0, 1)
        result = image.detach()
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}")
    return result.clamp(0, 1), done


class _BudgetSpent(Exception):
    """Raised inside the closure to end L-BFGS exactly at the evaluation budget."""


class Ticker:
    """Rate-limits progress reports: the first, the last, and one per ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last = float("-inf")

    def due(self, final: bool = False) -> bool:
        now = time.monotonic()
        if final or now - self.last >= self.interval:
            self.last = now
            return True
        return False
