"""The one optimisation loop: L-BFGS or Adam over the image pixels, with progress and cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import torch

from .objective import LossParts, StyleObjective
from .results import StyleCancelled, StyleDiverged

# Called after every iteration with (iterations done in this run, loss parts, current image).
StepCallback = Callable[[int, LossParts, torch.Tensor], None]


def optimise(
    image: torch.Tensor,
    objective: StyleObjective,
    iterations: int,
    optimizer: str,
    learning_rate: float = 0.02,
    autocast: bool = False,
    on_step: StepCallback | None = None,
    cancel: threading.Event | None = None,
) -> torch.Tensor:
    """Minimise the objective over ``image`` in place of a copy and return the result.

    Cancel is checked before every loss evaluation, so a job stops within one iteration.
    """
    image = image.detach().clone().requires_grad_(True)
    if iterations <= 0:
        return image.detach()
    done = 0

    def evaluate() -> torch.Tensor:
        nonlocal done
        if cancel is not None and cancel.is_set():
            raise StyleCancelled("cancelled")
        opt.zero_grad(set_to_none=True)
        parts = objective(image, autocast=autocast)
        parts.total.backward()
        done += 1
        # A finiteness check syncs the GPU; L-BFGS syncs anyway, Adam only every 10 steps.
        check = optimizer == "lbfgs" or done % 10 == 0 or done == iterations
        if check and not torch.isfinite(parts.total):
            raise StyleDiverged(
                "the loss became NaN/infinite at iteration "
                f"{done}: lower the style weight or the learning rate, or use L-BFGS"
            )
        if on_step is not None:
            on_step(done, parts, image)
        return parts.total

    if optimizer == "lbfgs":
        # One step runs every iteration; negative tolerances stop it from quitting early.
        opt = torch.optim.LBFGS(
            [image], max_iter=iterations, max_eval=iterations,
            tolerance_grad=-1, tolerance_change=-1, history_size=50, line_search_fn=None,
        )
        opt.step(evaluate)
    elif optimizer == "adam":
        opt = torch.optim.Adam([image], lr=learning_rate)
        for _ in range(iterations):
            opt.step(evaluate)
            with torch.no_grad():
                image.clamp_(0, 1)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}")
    return image.detach().clamp(0, 1)


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
