"""Turns where a request is into ProgressEvents: the one place the reported fraction is
decided (from Pace's measure, never going back, below 1 until the request is done), the
estimate of the time left, the rate limit and the preview."""

from __future__ import annotations

import torch

from impasto_wire.progress import ProgressEvent

from ..objective.whole import LossParts
from ..pixels import preview
from ..planning.plan import BatchPlan, JobPlan
from .controls import RunControls, Ticker
from .pace import Pace

#: the most a bar shows before the request is done: 99 %, however sure the estimate
BEFORE_DONE = 0.99


class Reporter:
    """One request's progress: its batches' scales timed by one Pace, so the fraction and
    the time left cover the whole request."""

    def __init__(self, plan: JobPlan, layers: int, tolerance: float,
                 controls: RunControls) -> None:
        self.controls, self.layers = controls, layers
        scales = [(b, s) for b, batch in enumerate(plan.batches) for s in batch.scales]
        self.pace = Pace([c for batch in plan.batches for c in batch.step_costs()],
                         [s.steps for _, s in scales], [b for b, _ in scales], tolerance,
                         controls.clock)
        self.firsts, first = [], 0  # index of each batch's first scale in the Pace
        for batch in plan.batches:
            self.firsts.append(first)
            first += len(batch.scales)
        self.batches = plan.batches
        self.batch = 0
        self.ticker = Ticker(controls.progress_interval, controls.clock)
        self.previews = Ticker(controls.preview_interval or 0.0, controls.clock)
        self.fraction = 0.0
        self.parts: LossParts | None = None  # the last evaluation's

    @property
    def plan(self) -> BatchPlan:
        return self.batches[self.batch]

    def begin_batch(self, batch: int) -> None:
        self.batch = batch

    def targets(self, scale: int) -> None:
        """Scale ``scale`` (1-based in the batch) is preparing its targets."""
        self._emit("targets", scale)

    def begin_scale(self, scale: int) -> None:
        self.pace.begin_scale(self._index(scale))

    def step(self, scale: int, done: int, parts: LossParts, image: torch.Tensor) -> None:
        """An evaluation at ``scale`` after ``done`` steps (called by the optimiser)."""
        # Kept detached (no graph outlives its step) and read only when reported: a float of
        # a GPU tensor waits for the GPU.
        self.parts = LossParts(*(t.detach() for t in (parts.total, parts.content,
                                                      parts.style, parts.tv)))
        loss = float(parts.total.detach()) if self.pace.tolerance > 0 else None
        self.pace.step(self._index(scale), done, loss)
        if self.controls.progress is not None and self.ticker.due():
            self._emit("optimising", scale, done, image)

    def end_scale(self, scale: int, steps: int, converged: bool, image: torch.Tensor) -> None:
        index = self._index(scale)
        self.pace.step(index, steps)
        self.pace.end_scale(index, converged)
        self._emit("optimising", scale, steps, image, final=True)

    def finishing(self) -> None:
        """The batch's optimisation is over; the last batch's ends the request."""
        self._emit("finishing", len(self.plan.scales), self.pace.done[self._index(-1)])

    def _index(self, scale: int) -> int:
        return self.firsts[self.batch] + (scale - 1 if scale > 0 else len(self.plan.scales) - 1)

    def _emit(self, stage: str, scale: int, step: int | None = None,
              image: torch.Tensor | None = None, final: bool = False) -> None:
        controls = self.controls
        if controls.progress is None:
            return
        done = stage == "finishing" and self.batch == len(self.batches) - 1
        # A new estimate of the time left may be longer than the last: the bar never goes back.
        self.fraction = 1.0 if done else min(BEFORE_DONE, max(self.fraction, self.pace.fraction()))
        thumb = None
        if image is not None and controls.preview_interval is not None and self.previews.due(final):
            thumb = preview(image.detach().float().cpu(), controls.preview_size)
        plan = self.plan.scales[scale - 1]
        h, w = plan.size
        strategy = f"scale {scale}/{len(self.plan.scales)} {w}x{h}"
        if plan.tiled:
            t = plan.tiles[0]
            strategy += (f" in {len(plan.tiles)} tiles of {t.x1 - t.x0}x{t.y1 - t.y0}"
                         f" + {self.plan.halo} px context")
        total, content, style, tv = (0.0,) * 4 if self.parts is None else (
            float(t) for t in (self.parts.total, self.parts.content, self.parts.style,
                               self.parts.tv))
        controls.progress(ProgressEvent(
            stage=stage, fraction=self.fraction,
            elapsed=controls.clock() - self.pace.started,
            eta=0.0 if done else self.pace.eta(),
            layer=self.plan.members[0], layers=self.layers, batch=len(self.plan.members),
            scale=scale, scales=len(self.plan.scales),
            step=self.pace.done[self._index(scale)] if step is None else step,
            steps=plan.steps, loss=total, content_loss=content, style_loss=style, tv_loss=tv,
            size=(h, w), tiles=len(plan.tiles), strategy=strategy, preview=thumb,
        ))
