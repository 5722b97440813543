"""What the engine reports when it is done, and how it fails (progress: impasto_wire.progress)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    style_weight: float = 0.0  # the weight painted with at the end: the strength's, or given
    #: (photo_kept read, new weight) at each move of the weight (strength/governor.py)
    weight_changes: list[tuple[float, float]] = field(default_factory=list)
    #: with a strength: the photo_kept it asks for, and what the finished picture read at the
    #: last scale (None when a style weight was given)
    kept_asked: float | None = None
    photo_kept: float | None = None

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
