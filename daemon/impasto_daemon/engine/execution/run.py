"""One batch of a job, executing its plan (plan.py): coarse to fine, each scale whole or tiled.

A scale that fits the memory budget is optimised on the device in one piece. A larger one
keeps the image on the CPU and computes the exact whole-image loss and gradient tile by tile
(tiled.py), so the result is the untiled one, only slower. Between scales the image is on the
CPU. Read ``run`` top to bottom for the whole job.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from impasto_wire.progress import ProgressEvent

from ..settings import StyleSettings
from .color import channel_moments, preserve_colors, toward_colours
from .objective import LossParts, StyleObjective, content_features, style_grams
from .optimize import Ticker, optimise
from .pace import Pace, step_cost
from .pixels import PREVIEW_SIZE, preview, resize, split_pixels, to_rgba
from .plan import BatchPlan, ScalePlan
from .results import StyleCancelled, StyleStats
from .target_cache import TargetCache, pixels_key
from .tiled import TiledObjective
from .vgg import CONTENT_LAYER, STYLE_LAYERS, VGGFeatures

ProgressCallback = Callable[[ProgressEvent], None]


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


def style_share(settings: StyleSettings) -> float:
    """The style's share of the weights, style / (content + style): how far the start's colours
    move toward the style's (``StyleRun._initial_image``)."""
    total = settings.content_weight + settings.style_weight
    return settings.style_weight / total if total > 0 else 0.0


def detail_share(settings: StyleSettings) -> float:
    """How much of the content's finer detail a finer scale starts with: the content's share
    of the weights, 1 - ``style_share``, so a light style keeps nearly all of the photo's
    detail and a strong one lets the style's own texture replace it (the strength control then
    spans a glaze to a takeover). 0 when not started from the content.
    benchmarks/quality.py, real VGG16, 256 px, default weights: this share (1/3) against all
    of the detail (share 1) gave style_gain 0.41 / 0.33 / 0.64 against 0.27 / 0.25 / 0.42 and
    content_edges 0.34 / 0.49 / 0.13 against 0.49 / 0.59 / 0.30 on three pairs; share 1 made
    the default a glaze."""
    if settings.init != "content":
        return 0.0
    return 1.0 - style_share(settings)


class StyleRun:
    """One batch: one layer, or several of one processing size optimised together.

    A batch's layers share the style targets; each keeps its own content target, alpha and
    output size. Tiled scales take one layer.
    """

    def __init__(
        self,
        bench: Workbench,
        contents: Sequence[np.ndarray],
        styles: Sequence[np.ndarray],
        settings: StyleSettings,
        plan: BatchPlan,
        cancel: threading.Event | None = None,
        progress_interval: float = 0.0,
        preview_interval: float | None = None,
        memory_budget: int = 0,
        preview_size: int = PREVIEW_SIZE,
    ) -> None:
        self.bench, self.settings, self.plan, self.cancel = bench, settings, plan, cancel
        self.progress: ProgressCallback | None = None  # set by the caller before run()
        self.preview_interval, self.preview_size = preview_interval, preview_size
        self.budget = memory_budget
        self.blend = settings.blend_for(len(styles))
        self.sources = [split_pixels(c) for c in contents]
        self.styles = [(split_pixels(s).rgb, pixels_key(s)) for s in styles]
        self.pace = Pace([step_cost(s.size[0] * s.size[1] * len(contents), len(s.tiles))
                          for s in plan.scales], [s.steps for s in plan.scales])
        self.work = self.pace.work
        self.ticker = Ticker(progress_interval)
        self.preview_ticker = Ticker(preview_interval or 0.0)
        self.steps = 0
        self.fraction = 0.0  # the last reported share of the time done
        self.final_loss = 0.0
        self.started = time.monotonic()

    # -- the job ---------------------------------------------------------------------------

    def run(self) -> list[tuple[np.ndarray, StyleStats]]:
        """RGBA pixels and stats for each layer, in the order given."""
        self.started = time.monotonic()
        torch.manual_seed(self.settings.seed)
        hits_before = self.bench.targets.hits
        image: torch.Tensor | None = None  # CPU, N x 3 x h x w at the current scale
        content: torch.Tensor | None = None  # the content at the same scale
        for index, scale in enumerate(self.plan.scales, start=1):
            self._check_cancel()
            self._report("targets", index)
            h, w = scale.size
            coarser = content
            content = torch.cat([resize(src.rgb, h, w) for src in self.sources])
            grams = self._blended_grams(scale)
            if image is None:
                start = self._initial_image(content)
            else:
                start = self._refine(image, coarser, content)
            image = self._optimise_scale(index, scale, content, grams, start)
        assert image is not None
        self._report("finishing", len(self.plan.scales))
        stats = self._stats(hits_before)
        results = []
        for i, src in enumerate(self.sources):
            out = resize(image[i : i + 1], *src.rgb.shape[-2:])
            if self.settings.preserve_colors:
                out = preserve_colors(out, src.rgb)
            results.append((to_rgba(out, src.alpha), stats))
        return results

    def _optimise_scale(
        self, index: int, scale: ScalePlan, content: torch.Tensor,
        grams: dict[str, torch.Tensor], start: torch.Tensor,
    ) -> torch.Tensor:
        """Optimise one scale from ``start``: in one piece on the device when it fits, else
        on the CPU with the exact gradient gathered tile by tile."""
        bench, s = self.bench, self.settings
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
        last: list[LossParts] = []

        def on_step(done: int, parts: LossParts, current: torch.Tensor) -> None:
            last[:] = [parts]
            self.pace.step(index - 1, done)
            self._report("optimising", index, done, parts, current)

        self.pace.begin_scale()
        result, outcome = optimise(
            start, objective, scale.steps, s.optimizer, s.learning_rate,
            autocast=bench.autocast, on_step=on_step, cancel=self.cancel,
            history_size=scale.history, tolerance=s.tolerance,
        )
        self.steps += outcome.steps
        if math.isfinite(outcome.loss):
            self.final_loss = outcome.loss
        self.pace.step(index - 1, outcome.steps)
        self.pace.end_scale(index - 1, outcome.converged)
        self._report("optimising", index, outcome.steps, last[0] if last else None, result,
                     final=True)
        return result.float().cpu()

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

    def _refine(self, image: torch.Tensor, coarser: torch.Tensor,
                content: torch.Tensor) -> torch.Tensor:
        """The start of a finer scale: the coarser result enlarged, plus the content's detail
        that the coarser scale was too small to hold, in the share the weights ask for (see
        ``detail_share``). Enlarging alone starts every finer scale blurred, and the finest
        one spends its steps, or fails, to bring the photo's edges back."""
        h, w = content.shape[-2:]
        start = resize(image, h, w)
        share = detail_share(self.settings)
        if share > 0:
            start = (start + share * (content - resize(coarser, h, w))).clamp(0, 1)
        return start

    def _initial_image(self, content: torch.Tensor) -> torch.Tensor:
        """The coarsest scale's start. From the content, its colours are first moved toward the
        style's (each channel's mean and spread) in the style's share of the weights; the
        content loss still holds the photo's shapes, and a glaze starts from nearly the photo.
        Started from the photo's own colours, L-BFGS settled where the photo's light areas met
        a dark style half way, in large grey patches that were neither. benchmarks/quality.py,
        real VGG16, 256 px, six pairs: blotches 0.099 -> 0 on the cat under the star field (0
        on the others before and after), mean style gain 0.537 -> 0.575 and content edges
        0.447 -> 0.469."""
        if self.settings.init == "content":
            colours = sum(w * channel_moments(rgb) for (rgb, _), w in zip(self.styles, self.blend))
            return toward_colours(content, colours, style_share(self.settings))
        if self.settings.init == "noise":
            generator = torch.Generator().manual_seed(self.settings.seed)
            return torch.rand(content.shape, generator=generator)
        return resize(self.styles[0][0], *content.shape[-2:]).expand_as(content).clone()

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise StyleCancelled("cancelled")

    def _report(
        self, stage: str, scale: int, step: int | None = None,
        parts: LossParts | None = None, image: torch.Tensor | None = None, final: bool = False,
    ) -> None:
        if self.progress is None:
            return
        if stage == "optimising" and not self.ticker.due(final):
            return  # rate-limited; stage changes always go out
        values = [0.0] * 4
        if parts is not None:
            terms = (parts.total, parts.content, parts.style, parts.tv)
            values = [float(t.detach()) for t in terms]
        thumb = None
        wants_preview = image is not None and self.preview_interval is not None
        if wants_preview and self.preview_ticker.due(final):
            thumb = preview(image.detach().float().cpu(), self.preview_size)
        plan = self.plan.scales[scale - 1]
        h, w = plan.size
        strategy = f"scale {scale}/{len(self.plan.scales)} {w}x{h}"
        if plan.tiled:
            t = plan.tiles[0]
            strategy += (f" in {len(plan.tiles)} tiles of {t.x1 - t.x0}x{t.y1 - t.y0}"
                         f" + {self.plan.halo} px context")
        finishing = stage == "finishing"
        # A new estimate of the time left may be longer than the last: the bar never goes back.
        self.fraction = 1.0 if finishing else max(self.fraction, self.pace.fraction())
        self.progress(ProgressEvent(
            stage=stage, fraction=self.fraction,
            elapsed=time.monotonic() - self.started,
            eta=0.0 if finishing else self.pace.eta(),
            layers=len(self.sources), batch=len(self.sources),
            scale=scale, scales=len(self.plan.scales),
            step=self.pace.done[scale - 1] if step is None else step, steps=plan.steps,
            loss=values[0], content_loss=values[1], style_loss=values[2], tv_loss=values[3],
            size=(h, w), tiles=len(plan.tiles), strategy=strategy, preview=thumb,
        ))

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
        )
