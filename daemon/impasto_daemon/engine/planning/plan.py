"""Planning a job, as a pure function of shapes, settings, a memory budget and a device.

``plan_job`` decides everything that is decided before the first step: which layers share a
batch, the scales coarse to fine, the step cap of each scale, whether a scale is tiled (and
how), the halo, the L-BFGS history, whether bf16 autocast is used. The run (execution/run.py) only
executes the plan, so the plan can be tested on its own, without a network. The geometry of
tiles is in tiles.py, the memory a step needs in memory_model.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ...settings import StyleSettings
from ..results import BudgetTooSmall
from ..vgg import seen_pixels
from . import memory_model
from .memory_model import HISTORY, TILED_HISTORY
from .numerics import use_autocast
from .tiles import Tile, halo_for, plan_tiles

MIN_SIDE = 16  # relu5_1 sits behind four 2x poolings: smaller images have no features left
COARSEST = 128  # coarse-to-fine starts no smaller than this long side
MIN_TILE_SIDE = 64
MAX_BATCH = 8
#: a pass over a tiny image still costs about what this many pixels would (launches, Python)
OVERHEAD_PIXELS = 4096
#: a coarser scale may take this many times the finest scale's steps: it is cheap (a quarter
#: of the pixels per halving) and settles the large structures the finest scale then refines
COARSE_STEP_FACTOR = 1.5


@dataclass(frozen=True)
class StyleRead:
    """How one style image is read for one scale's targets."""

    size: tuple[int, int]  # (h, w) the style image is resized to (the style scale applied)
    strips: tuple[tuple[int, int], ...]  # row ranges, each read in one pass


@dataclass(frozen=True)
class ScalePlan:
    size: tuple[int, int]  # (h, w) optimised at
    steps: int  # optimiser steps at most (a scale may converge sooner)
    tiles: tuple[Tile, ...]  # one tile covering everything when it fits the budget
    history: int  # L-BFGS pairs kept
    styles: tuple[StyleRead, ...] = ()  # one per style image, in the order given

    @property
    def tiled(self) -> bool:
        return len(self.tiles) > 1


@dataclass(frozen=True)
class BatchPlan:
    members: tuple[int, ...]  # indices of the layers optimised together
    scales: tuple[ScalePlan, ...]  # coarse to fine
    halo: int  # context around each tile's core, in pixels
    tile_pixels: int  # what one pass may hold: the cap on crops and style strips

    @property
    def finest(self) -> tuple[int, int]:
        return self.scales[-1].size

    def step_costs(self) -> list[float]:
        """The relative cost of one step at each scale, for the batch's layers together."""
        return [step_cost(s.size[0] * s.size[1] * len(self.members), len(s.tiles))
                for s in self.scales]


@dataclass(frozen=True)
class JobPlan:
    batches: tuple[BatchPlan, ...]
    autocast: bool  # bf16 autocast for the network (Grams and losses stay fp32)


def plan_job(
    shapes: Sequence[tuple[int, int]],
    settings: StyleSettings,
    budget: int,
    device: torch.device,
    style_shapes: Sequence[tuple[int, int]] = (),
    max_batch: int = MAX_BATCH,
) -> JobPlan:
    """The whole job for layers of (height, width) ``shapes`` and style images of
    ``style_shapes``, within ``budget`` bytes, at most ``max_batch`` layers per batch."""
    autocast = use_autocast(device)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (h, w) in enumerate(shapes):
        groups.setdefault(process_size(h, w, settings.size), []).append(i)
    batches = []
    for finest, members in groups.items():
        size = min(max_batch, len(members))
        while size > 1 and _pixel_limit(settings, finest, budget, size, device,
                                        autocast) < size * seen_pixels(*finest):
            size -= 1
        for start in range(0, len(members), size):
            chunk = tuple(members[start : start + size])
            batches.append(_plan_batch(chunk, finest, settings, budget, device, autocast,
                                       style_shapes))
    return JobPlan(tuple(sorted(batches, key=lambda b: b.members)), autocast)


def _plan_batch(
    members: tuple[int, ...], finest: tuple[int, int], settings: StyleSettings, budget: int,
    device: torch.device, autocast: bool, style_shapes: Sequence[tuple[int, int]],
) -> BatchPlan:
    tile_pixels = _pixel_limit(settings, finest, budget, len(members), device, autocast)
    smallest = min(MIN_TILE_SIDE**2, seen_pixels(*finest))  # a small layer needs no more
    if tile_pixels < smallest:
        need = memory_model.budget_for(smallest, settings.model, settings.optimizer, autocast,
                                       device, HISTORY) + _host_bytes(settings, finest,
                                                                      len(members), device)
        raise BudgetTooSmall(  # the MiB named rounded up: a budget of exactly that must do
            f"a memory budget of {budget / 2**20:.0f} MiB cannot hold even a "
            f"{smallest} px tile; allow at least {-(-need // 2**20):.0f} MiB"
        )
    halo = halo_for(tile_pixels)
    sizes = plan_scales(*finest, settings.multiscale)
    steps = steps_per_scale(settings.iterations, len(sizes))
    scales = []
    for (h, w), n in zip(sizes, steps):
        tiles = tuple(plan_tiles(h, w, tile_pixels, halo))
        if len(tiles) > 1 and len(members) > 1:
            raise ValueError("a batch of layers must fit the memory budget without tiles")
        # Without gradients a pass needs about a third of an optimisation step's memory.
        reads = []
        for sh, sw in style_shapes:
            th, tw = style_size(sh, sw, (h, w), settings.style_scale)
            reads.append(StyleRead((th, tw), tuple(strip_rows(th, tw, 3 * tile_pixels))))
        scales.append(ScalePlan((h, w), n, tiles, TILED_HISTORY if len(tiles) > 1 else HISTORY,
                                tuple(reads)))
    return BatchPlan(members, tuple(scales), halo, tile_pixels)


def process_size(height: int, width: int, size: int | None) -> tuple[int, int]:
    """The finest (h, w) to optimise at: the long side ``size`` (never upscaling a layer beyond
    its own size), each side at least MIN_SIDE so thin and tiny layers still have features.
    A thin side is stretched alone (a 4000x1 strip is painted at 4000x16, not 64000x16): the
    result is resized back to the layer's own size anyway."""
    long_side = max(height, width) if size is None else min(size, max(height, width))
    scale = long_side / max(height, width)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    return max(h, MIN_SIDE), max(w, MIN_SIDE)


def plan_scales(height: int, width: int, multiscale: bool) -> list[tuple[int, int]]:
    """Halve the long side until it would drop below COARSEST; coarsest first."""
    sizes = [(height, width)]
    if multiscale:
        while max(sizes[-1]) // 2 >= COARSEST and min(sizes[-1]) // 2 >= MIN_SIDE:
            h, w = sizes[-1]
            sizes.append((round(h / 2), round(w / 2)))
    return sizes[::-1]


def style_size(height: int, width: int, content: tuple[int, int],
               style_scale: float) -> tuple[int, int]:
    """The size a style image is read at for a content scale: its long side ``style_scale``
    times the content's, each side at least MIN_SIDE."""
    long_side = max(MIN_SIDE, round(style_scale * max(content)))
    scale = long_side / max(height, width)
    return max(MIN_SIDE, round(height * scale)), max(MIN_SIDE, round(width * scale))


def strip_rows(height: int, width: int, max_pixels: int) -> list[tuple[int, int]]:
    """Row ranges of at most ``max_pixels`` each (when it allows), every one a multiple of
    MIN_SIDE rows but the last, and none thinner than MIN_SIDE (which four poolings need to
    leave a feature row): a short remainder joins the strip before it."""
    if height * width <= max_pixels:
        return [(0, height)]
    rows = max(MIN_SIDE, max_pixels // max(width, 1) // MIN_SIDE * MIN_SIDE)
    starts = list(range(0, height, rows))
    if len(starts) > 1 and height - starts[-1] < MIN_SIDE:
        starts.pop()
    return [(y0, starts[i + 1] if i + 1 < len(starts) else height)
            for i, y0 in enumerate(starts)]


def steps_per_scale(iterations: int, scales: int) -> list[int]:
    """The finest scale gets ``iterations`` steps at most; each coarser one
    COARSE_STEP_FACTOR times as many (it costs a quarter per halving, and converges sooner)."""
    coarse = round(iterations * COARSE_STEP_FACTOR)
    return [coarse] * (scales - 1) + [iterations]


def step_cost(pixels: int, tiles: int = 1) -> float:
    """Relative cost of one optimiser step at a scale of ``pixels`` cut into ``tiles`` crops."""
    return pixels * (1.25 if tiles > 1 else 1.0) + OVERHEAD_PIXELS * tiles


def _host_bytes(settings: StyleSettings, finest: tuple[int, int], layers: int,
                device: torch.device) -> int:
    """On a CPU device the full-size image, gradient and history come off the budget first."""
    if device.type != "cpu":
        return 0
    history = TILED_HISTORY if settings.optimizer == "lbfgs" else 1  # Adam: two moments
    return memory_model.host_bytes(*finest, history) * layers


def _pixel_limit(settings: StyleSettings, finest: tuple[int, int], budget: int, layers: int,
                 device: torch.device, autocast: bool) -> int:
    """Pixels one optimisation pass may hold within ``budget`` bytes."""
    spare = budget - _host_bytes(settings, finest, layers, device)
    return memory_model.max_pixels(settings.model, settings.optimizer, autocast, spare, device,
                                   HISTORY)
