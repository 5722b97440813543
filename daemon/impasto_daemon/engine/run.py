"""One stylisation job: coarse-to-fine over scales, each scale optimised whole or in tiles.

A scale that fits the memory budget is optimised on the device in one piece. A larger one
keeps the image on the CPU and computes the exact whole-image loss and gradient tile by tile
(tiled.py), so the result is the untiled one, only slower. Between scales the image is on the
CPU.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from impasto_wire.progress import ProgressEvent

from ..settings import StyleSettings
from . import memory
from .color import preserve_colors
from .images import fit_long_side, preview, resize, split_pixels, to_rgba
from .objective import LossParts, StyleObjective, content_features, style_grams
from .optimize import Ticker, optimise
from .pace import Pace, step_cost
from .results import BudgetTooSmall, StyleCancelled, StyleStats
from .scales import iterations_per_scale, plan_scales, process_size
from .target_cache import pixels_key
from .tiled import TiledObjective, halo_for, plan_tiles
from .vgg import CONTENT_LAYER, STYLE_LAYERS

if TYPE_CHECKING:
    from .engine import StyleEngine

ProgressCallback = Callable[[ProgressEvent], None]
MIN_TILE_SIDE = 64
TILED_HISTORY = 10  # L-BFGS pairs kept for a tiled scale: they live in host memory, full size


class StyleRun:
    """The state of one job: one layer, or several optimised together as one batch.

    A batch's layers share the processing size (so their tensors stack) and the style targets;
    each keeps its own content target, alpha and output size. Tiled scales take one layer.
    """

    def __init__(
        self,
        engine: StyleEngine,
        contents: Sequence[np.ndarray],
        styles: Sequence[np.ndarray],
        settings: StyleSettings,
        cancel: threading.Event | None,
        progress_interval: float,
        preview_interval: float | None,
        memory_budget: int,
    ) -> None:
        self.engine, self.settings, self.cancel = engine, settings, cancel
        self.progress: ProgressCallback | None = None  # set by the caller before run()
        self.preview_interval = preview_interval
        self.started = time.monotonic()
        self.blend = settings.blend_for(len(styles))
        self.net = engine.network(settings.model, settings.pooling)
        self.sources = [split_pixels(c) for c in contents]
        self.styles = [(split_pixels(s).rgb, pixels_key(s)) for s in styles]
        self.sizes = plan_scales(*layer_size(contents[0], settings), settings.multiscale)
        if any(layer_size(c, settings) != self.sizes[-1] for c in contents):
            raise ValueError("layers optimised as one batch must share their processing size")
        self.per_scale = iterations_per_scale(settings.iterations, len(self.sizes))
        self.budget = memory_budget
        self.tile_pixels = tile_pixel_limit(engine, settings, self.sizes[-1], memory_budget,
                                            len(contents))
        self.halo = halo_for(self.tile_pixels)
        self.tiles = [plan_tiles(h, w, self.tile_pixels, self.halo) for h, w in self.sizes]
        if len(contents) > 1 and any(len(t) > 1 for t in self.tiles):
            raise ValueError("a batch of layers must fit the memory budget without tiles")
        self.pace = Pace([step_cost(h * w * len(contents), len(t))
                          for (h, w), t in zip(self.sizes, self.tiles)], self.per_scale)
        self.work = self.pace.work
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.ticker = Ticker(progress_interval)
        self.preview_ticker = Ticker(preview_interval or 0.0)
        self.done = 0
        self.last_loss: torch.Tensor | None = None

    # -- the job ---------------------------------------------------------------------------

    def run(self) -> list[tuple[np.ndarray, StyleStats]]:
        """RGBA pixels and stats for each layer, in the order given."""
        torch.manual_seed(self.settings.seed)
        hits_before = self.engine.targets.hits
        image: torch.Tensor | None = None  # CPU, N x 3 x h x w at the current scale
        for index, (h, w) in enumerate(self.sizes, start=1):
            self._check_cancel()
            self._report("targets", index)
            content = torch.cat([resize(src.rgb, h, w) for src in self.sources])
            grams = self._blended_grams((h, w))
            start = self._initial_image(content) if image is None else resize(image, h, w)
            image = self._optimise_scale(index, content, grams, start)
        assert image is not None
        self._report("finishing", len(self.sizes), final=True)
        stats = self._stats(hits_before)
        results = []
        for i, src in enumerate(self.sources):
            out = resize(image[i : i + 1], *src.rgb.shape[-2:])
            if self.settings.preserve_colors:
                out = preserve_colors(out, src.rgb)
            results.append((to_rgba(out, src.alpha), stats))
        return results

    def _optimise_scale(
        self, index: int, content: torch.Tensor, grams: dict[str, torch.Tensor],
        start: torch.Tensor,
    ) -> torch.Tensor:
        """Optimise one scale from ``start``: in one piece on the device when it fits, else
        on the CPU with the exact gradient gathered tile by tile."""
        engine, s = self.engine, self.settings
        tiles = self.tiles[index - 1]
        if len(tiles) == 1:
            content = engine.to_device(content)
            objective = StyleObjective(
                self.net, CONTENT_LAYER,
                content_features(self.net, content, CONTENT_LAYER, engine.on_cuda),
                grams, s.content_weight, s.style_weight, s.tv_weight,
            )
            start, history = engine.to_device(start), 50
        else:
            objective = TiledObjective(
                self.net, content, grams, tiles, s.content_weight, s.style_weight,
                s.tv_weight, engine.device, engine.on_cuda,
            )
            history = TILED_HISTORY
        budget = self.per_scale[index - 1]

        def on_step(done: int, parts: LossParts, current: torch.Tensor) -> None:
            self.last_loss = parts.total.detach()
            self.pace.step(index - 1, done)
            self._report("optimising", index, done, parts, done == budget, current)

        self.pace.begin_scale()
        result, evaluations = optimise(
            start, objective, budget, s.optimizer, s.learning_rate, autocast=engine.on_cuda,
            on_step=on_step, cancel=self.cancel, history_size=history,
        )
        self.done += evaluations
        self.pace.end_scale(index - 1)
        return result.float().cpu()

    # -- pieces ----------------------------------------------------------------------------

    def _blended_grams(self, size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """Weighted sum of each style image's Grams at the style scale for this content size;
        shared by every tile of the scale, which is what makes the tiles agree."""
        engine, s = self.engine, self.settings
        blended: dict[str, torch.Tensor] = {}
        for (rgb, key), weight in zip(self.styles, self.blend):
            long_side = max(16, round(s.style_scale * max(size)))
            th, tw = fit_long_side(*rgb.shape[-2:], long_side)
            th, tw = max(th, 16), max(tw, 16)
            cache_key = (key, s.model, s.pooling, STYLE_LAYERS, th, tw)
            grams = engine.targets.get(cache_key)
            if grams is None:
                # Without gradients a pass needs about a third of an optimisation step.
                grams = style_grams(self.net, resize(rgb, th, tw), STYLE_LAYERS,
                                    engine.on_cuda, max_pixels=3 * self.tile_pixels)
                engine.targets.put(cache_key, grams)
            for layer, gram in grams.items():
                blended[layer] = blended.get(layer, 0) + weight * gram
        return blended

    def _initial_image(self, content: torch.Tensor) -> torch.Tensor:
        if self.settings.init == "content":
            return content.clone()
        if self.settings.init == "noise":
            return torch.rand(content.shape, generator=self.generator)
        return resize(self.styles[0][0], *content.shape[-2:])

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise StyleCancelled("cancelled")

    def _report(
        self, stage: str, scale: int, step: int | None = None,
        parts: LossParts | None = None, final: bool = False, image: torch.Tensor | None = None,
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
            thumb = preview(image.detach().float().cpu())
        h, w = self.sizes[scale - 1]
        tiles = self.tiles[scale - 1]
        strategy = f"scale {scale}/{len(self.sizes)} {w}x{h}"
        if len(tiles) > 1:
            t = tiles[0]
            strategy += (f" in {len(tiles)} tiles of {t.x1 - t.x0}x{t.y1 - t.y0}"
                         f" + {self.halo} px context")
        self.progress(ProgressEvent(
            stage=stage, fraction=1.0 if stage == "finishing" else self.pace.fraction(),
            elapsed=time.monotonic() - self.started,
            eta=0.0 if stage == "finishing" else self.pace.eta(),
            layers=len(self.sources), batch=len(self.sources),
            scale=scale, scales=len(self.sizes),
            step=self.pace.done[scale - 1] if step is None else step,
            steps=self.per_scale[scale - 1],
            loss=values[0], content_loss=values[1], style_loss=values[2], tv_loss=values[3],
            size=(h, w), tiles=len(tiles), strategy=strategy, preview=thumb,
        ))

    def _stats(self, hits_before: int) -> StyleStats:
        engine, s = self.engine, self.settings
        return StyleStats(
            seconds=time.monotonic() - self.started, iterations=self.done,
            device=str(engine.device), seed=s.seed, model=s.model,
            weights=engine.weights_info[s.model].label, sizes=list(self.sizes),
            target_cache_hits=engine.targets.hits - hits_before,
            peak_memory_bytes=engine.peak_memory(),
            final_loss=float(self.last_loss) if self.last_loss is not None else 0.0,
            tiles=[len(t) for t in self.tiles], memory_budget_bytes=self.budget,
            batch=len(self.sources),
        )


def layer_size(content: np.ndarray, settings: StyleSettings) -> tuple[int, int]:
    """The finest (h, w) a layer is optimised at; layers that share it can share a batch."""
    return process_size(content.shape[0], content.shape[1], settings.size)


def tile_pixel_limit(
    engine: StyleEngine, settings: StyleSettings, finest: tuple[int, int], budget: int,
    layers: int = 1,
) -> int:
    """Pixels one optimisation pass may hold within ``budget`` bytes (what decides tiling and
    batching); on the CPU the full-size images, gradients and history come off first."""
    pixels, host = _pixel_limit(engine, settings, finest, budget, layers)
    if pixels < MIN_TILE_SIDE**2:
        need = memory.budget_for(MIN_TILE_SIDE**2, settings.model, settings.optimizer,
                                 engine.on_cuda, engine.device) + host
        raise BudgetTooSmall(
            f"a memory budget of {budget / 2**20:.0f} MiB cannot hold even a "
            f"{MIN_TILE_SIDE}x{MIN_TILE_SIDE} px tile; allow at least {need / 2**20:.0f} MiB"
        )
    return pixels


def _pixel_limit(
    engine: StyleEngine, settings: StyleSettings, finest: tuple[int, int], budget: int,
    layers: int,
) -> tuple[int, int]:
    """(pixels a pass may hold, host bytes reserved first on a CPU device)."""
    history = TILED_HISTORY if settings.optimizer == "lbfgs" else 1  # Adam: two moments
    host = memory.host_bytes(*finest, history) * layers if engine.device.type == "cpu" else 0
    pixels = memory.max_pixels(settings.model, settings.optimizer, engine.on_cuda,
                               budget - host, engine.device)
    return pixels, host


def plan_batches(
    engine: StyleEngine, contents: Sequence[np.ndarray], settings: StyleSettings, budget: int,
    max_batch: int = 8,
) -> list[list[int]]:
    """Group layer indices into batches: same processing size, and all of the batch fitting
    the budget in one pass. Layers that need tiles run alone."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, content in enumerate(contents):
        groups.setdefault(layer_size(content, settings), []).append(i)
    batches = []
    for (h, w), members in groups.items():
        size = max_batch
        while size > 1 and _pixel_limit(engine, settings, (h, w), budget, size)[0] < size * h * w:
            size -= 1
        batches += [members[i : i + size] for i in range(0, len(members), size)]
    return sorted(batches)
