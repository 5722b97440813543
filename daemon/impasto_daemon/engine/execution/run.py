"""One batch of a job, executing its plan (planning/plan.py): coarse to fine, each scale
whole or tiled.

A scale that fits the memory budget is optimised on the device in one piece. A larger one
keeps the image on the CPU and computes the exact whole-image loss and gradient tile by tile
(objective/tiled.py), so the result is the untiled one, only slower. Between scales the image
is on the CPU. Read ``run`` top to bottom for the whole job; one untiled step is
``optimise`` (optimisation/loop.py) calling ``StyleObjective.backward`` (objective/whole.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import torch

from ...settings import StyleSettings
from ..objective.tiled import TiledObjective
from ..objective.whole import StyleObjective, content_features, style_grams
from ..optimisation.loop import Outcome, StepCallback, StopRule, optimise
from ..pixels import as_picture, resize, split_pixels, to_rgba
from ..planning.plan import BatchPlan, ScalePlan
from ..results import StyleStats
from ..strength.governor import CHECK_STEPS, Governor
from ..strength.photo_kept import Photo
from ..target_cache import TargetCache, pixels_key
from ..vgg import CONTENT_LAYER, STYLE_LAYERS, VGGFeatures
from .color import preserve_colors
from .reporter import Reporter
from .start import initial_image, refined_start


@dataclass
class Workbench:
    """What a run uses of the warm engine: the network, where it runs, the style-target cache,
    and how to read the job's peak memory."""

    net: VGGFeatures
    device: torch.device
    autocast: bool
    targets: TargetCache
    weights_label: str
    peak_memory: Callable[[], int]

    def to_device(self, image: torch.Tensor) -> torch.Tensor:
        """The image stays in the standard layout (L-BFGS flattens its gradient); the network
        switches to channels_last itself."""
        return image.to(self.device).contiguous()


class StyleRun:
    """One batch: one layer, or several of one processing size optimised together.

    A batch's layers share the style targets; each keeps its own content target, alpha and
    output size. Tiled scales take one layer. ``reporter`` carries the request's controls
    (progress, cancel) and tells how far the request is.
    """

    def __init__(
        self,
        bench: Workbench,
        contents: Sequence[np.ndarray],
        styles: Sequence[np.ndarray],
        settings: StyleSettings,
        plan: BatchPlan,
        reporter: Reporter,
        memory_budget: int = 0,
    ) -> None:
        self.bench, self.settings, self.plan, self.reporter = bench, settings, plan, reporter
        self.controls = reporter.controls
        self.budget = memory_budget
        self.blend = settings.blend_for(len(styles))
        self.sources = [split_pixels(c) for c in contents]
        self.styles = [(split_pixels(s).rgb, pixels_key(s)) for s in styles]
        self.steps = 0
        #: holds the strength by moving the style weight; None when a weight was given
        self.governor = None if settings.style_weight is not None else Governor(settings.strength)
        self.final_loss = 0.0
        self.photo_kept: float | None = None  # the last stretch's reading, with a governor
        self.started = time.monotonic()

    @property
    def current(self) -> StyleSettings:
        """The settings, with the style weight the governor holds now when there is one."""
        if self.governor is None:
            return self.settings
        return replace(self.settings, style_weight=self.governor.weight)

    # -- the job ---------------------------------------------------------------------------

    def run(self) -> list[tuple[np.ndarray, StyleStats]]:
        """RGBA pixels and stats for each layer, in the order given."""
        self.started = time.monotonic()
        torch.manual_seed(self.settings.seed)
        hits_before = self.bench.targets.hits
        image: torch.Tensor | None = None  # CPU, N x 3 x h x w at the current scale
        content: torch.Tensor | None = None  # the content at the same scale
        for index, scale in enumerate(self.plan.scales, start=1):
            self.controls.check_cancel()
            self.reporter.targets(index)
            h, w = scale.size
            coarser = content
            content = torch.cat([resize(src.rgb, h, w) for src in self.sources])
            grams = self._blended_grams(scale)
            image = self._optimise_scale(index, scale, content, grams,
                                         partial(self._start, image, coarser, content))
        assert image is not None
        self.reporter.finishing()
        stats = self._stats(hits_before)
        results = []
        for i, src in enumerate(self.sources):
            out = resize(image[i : i + 1], *src.rgb.shape[-2:])
            if self.settings.preserve_colors:
                out = preserve_colors(out, src.rgb)
            results.append((to_rgba(out, src.alpha), stats))
        return results

    def _start(self, coarser_image: torch.Tensor | None, coarser: torch.Tensor | None,
               content: torch.Tensor) -> torch.Tensor:
        """Where a scale starts at the current weights: from the content (the coarsest) or
        from the coarser scale's result (execution/start.py)."""
        if coarser_image is None or coarser is None:
            return initial_image(content, [rgb for rgb, _ in self.styles], self.blend,
                                 self.current)
        return refined_start(coarser_image, coarser, content, self.current)

    def _optimise_scale(
        self, index: int, scale: ScalePlan, content: torch.Tensor,
        grams: dict[str, torch.Tensor], start: Callable[[], torch.Tensor],
    ) -> torch.Tensor:
        """Optimise one scale from ``start()``, reporting its progress. With a strength, in
        stretches: the governor reads the picture every few steps and may end a stretch to
        move the style weight (strength/governor.py). A lighter weight starts the scale again
        from ``start()`` at the new weight, a heavier one goes on from where it was; the
        stretches share the scale's step cap."""
        self.reporter.begin_scale(index)
        governor = self.governor
        photos = [] if governor is None else [Photo.of(as_picture(c)) for c in content]
        done, image = 0, start()
        if governor is not None:
            governor.begin_scale(None if index == 1 else self._kept(image, photos))

        def took_too_much(steps: int, image: torch.Tensor) -> bool:
            return (governor is not None and steps > 0 and steps % CHECK_STEPS == 0
                    and governor.took_too_much(self._kept(image, photos)))

        while True:
            offset = done
            result, outcome = self._optimise(
                scale, content, grams, image, self.current, scale.steps - done,
                on_step=lambda n, parts, img, offset=offset: self.reporter.step(
                    index, offset + n, parts, img),
                until=None if governor is None else took_too_much)
            done += outcome.steps
            if math.isfinite(outcome.loss):
                self.final_loss = outcome.loss
            if governor is None:
                break
            self.photo_kept = self._kept(result, photos)
            move = None if done >= scale.steps else governor.retune(
                self.photo_kept, settled=outcome.converged)
            if move is None:
                break
            image = start() if move == "lighter" else result
        self.steps += done
        self.reporter.end_scale(index, done, outcome.converged, result)
        return result

    @staticmethod
    def _kept(image: torch.Tensor, photos: Sequence[Photo]) -> float:
        """How much of the photos the batch keeps, on average (strength/photo_kept.py)."""
        return float(np.mean([p.kept_by(as_picture(i)) for i, p in zip(image, photos)]))

    def _optimise(
        self, scale: ScalePlan, content: torch.Tensor, grams: dict[str, torch.Tensor],
        start: torch.Tensor, s: StyleSettings, steps: int, on_step: StepCallback | None = None,
        until: StopRule | None = None,
    ) -> tuple[torch.Tensor, Outcome]:
        """Optimise at most ``steps`` steps at one scale from ``start`` with the weights of
        ``s``: in one piece on the device when it fits, else on the CPU with the exact gradient
        gathered tile by tile. The result is on the CPU."""
        bench = self.bench
        if scale.tiled:
            objective = TiledObjective(
                bench.net, content, grams, list(scale.tiles), s.content_weight, s.style_weight,
                s.tv_weight, bench.device, bench.autocast,
            )
        else:
            content = bench.to_device(content)
            target = content_features(bench.net, content, CONTENT_LAYER, bench.autocast)
            objective = StyleObjective(bench.net, CONTENT_LAYER, target, grams,
                                       s.content_weight, s.style_weight, s.tv_weight)
            start = bench.to_device(start)
        result, outcome = optimise(
            start, objective, steps, s.optimizer, s.learning_rate, autocast=bench.autocast,
            on_step=on_step, until=until, cancel=self.controls.cancel,
            history_size=scale.history, tolerance=s.tolerance,
        )
        return result.float().cpu(), outcome

    # -- pieces ----------------------------------------------------------------------------

    def _blended_grams(self, scale: ScalePlan) -> dict[str, torch.Tensor]:
        """Weighted sum of each style image's Grams, read as the plan says for this scale;
        shared by every tile of the scale, which is what makes the tiles agree."""
        bench, s = self.bench, self.settings
        blended: dict[str, torch.Tensor] = {}
        for (rgb, key), weight, read in zip(self.styles, self.blend, scale.styles):
            cache_key = (key, s.model, s.pooling, STYLE_LAYERS, read, bench.autocast)
            grams = bench.targets.get(cache_key)
            if grams is None:
                grams = style_grams(bench.net, resize(rgb, *read.size), STYLE_LAYERS,
                                    bench.autocast, read.strips)
                bench.targets.put(cache_key, grams)
            for layer, gram in grams.items():
                blended[layer] = blended.get(layer, 0) + weight * gram
        return blended

    def _stats(self, hits_before: int) -> StyleStats:
        bench, s = self.bench, self.settings
        return StyleStats(
            seconds=time.monotonic() - self.started, iterations=self.steps,
            device=str(bench.device), seed=s.seed, model=s.model,
            weights=bench.weights_label, sizes=[sc.size for sc in self.plan.scales],
            target_cache_hits=bench.targets.hits - hits_before,
            peak_memory_bytes=bench.peak_memory(), final_loss=self.final_loss,
            tiles=[len(sc.tiles) for sc in self.plan.scales],
            memory_budget_bytes=self.budget, batch=len(self.sources),
            style_weight=self.current.style_weight or 0.0,
            weight_changes=[] if self.governor is None else list(self.governor.history),
            kept_asked=None if self.governor is None else self.governor.target,
            photo_kept=self.photo_kept,
        )
