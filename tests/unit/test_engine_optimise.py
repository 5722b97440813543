"""The optimisation loop on a tiny objective of its own (no network): what it counts."""

from __future__ import annotations

import math

import torch

from impasto_daemon.engine.objective.whole import LossParts
from impasto_daemon.engine.optimisation.loop import EVALS_PER_STEP, optimise


class Steep:
    """A quartic with a steep exponential wall: its first L-BFGS steps need several line-search
    evaluations each, so the evaluation cap ends a short run early."""

    def backward(self, image: torch.Tensor, autocast: bool = False) -> LossParts:
        loss = 1e3 * ((image - 0.7) ** 4).sum() + (50 * image[..., 0, 0]).exp().sum()
        loss.backward()
        zero = loss.new_zeros(())
        return LossParts(loss, zero, loss.detach(), zero)


def test_a_step_the_evaluation_cap_stopped_before_it_evaluated_is_not_counted():
    reported: list[int] = []  # steps done, as each evaluation reports them
    _, outcome = optimise(torch.zeros(1, 3, 4, 4), Steep(), 3, "lbfgs",
                          on_step=lambda done, parts, image: reported.append(done))
    assert outcome.evaluations == math.ceil(3 * EVALS_PER_STEP) + 1  # the cap ended it
    # An evaluation reports the steps before its own; the last step that evaluated counts as
    # taken, the one stopped at its first evaluation does not (it was counted: 3, not 2).
    assert outcome.steps == max(reported) + 1 == 2
    assert not outcome.converged
