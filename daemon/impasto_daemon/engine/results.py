"""What the engine reports while it works and when it is done, and how it fails."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Progress:
    stage: str  # "targets" | "optimising" | "finishing"
    scale: int  # 1-based index of the current scale
    scales: int
    iteration: int  # iterations done so far, over all scales
    total: int  # iterations planned over all scales
    loss: float
    content_loss: float
    style_loss: float
    tv_loss: float
    elapsed: float
    preview: np.ndarray | None = None  # small HxWx3 uint8, only when asked for
    size: tuple[int, int] = (0, 0)  # (height, width) of the scale being optimised
    tiles: int = 1  # tiles every iteration of this scale passes through (1 = the whole image)
    layers: int = 1  # layers optimised together in this batch
    strategy: str = ""  # e.g. "scale 3/3 1536x1024 in 6 tiles of 640x640"


@dataclass
class StyleStats:
    seconds: float
    iterations: int
    device: str
    seed: int
    model: str
    weights: str
    sizes: list[tuple[int, int]] = field(default_factory=list)
    target_cache_hits: int = 0
    peak_memory_bytes: int = 0
    final_loss: float = 0.0
    tiles: list[int] = field(default_factory=list)  # tiles used at each scale
    memory_budget_bytes: int = 0
    batch: int = 1  # layers optimised together with this one (this one included)

    @property
    def peak_bytes_per_megapixel(self) -> float:
        h, w = self.sizes[-1] if self.sizes else (0, 0)
        return self.peak_memory_bytes / max(h * w / 1e6, 1e-6)


class StyleError(Exception):
    """Base of the failures a user can act on."""


class StyleCancelled(StyleError):
    """The job was cancelled; nothing was produced."""


class StyleDiverged(StyleError):
    """The loss became NaN or infinite; returning the image would show black or noise."""


class OutOfMemory(StyleError):
    """The device ran out of memory; a smaller size will fit."""


class BudgetTooSmall(StyleError):
    """The memory budget cannot hold even the smallest tile."""
