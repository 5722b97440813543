"""Gatys et al. (2015) neural style transfer on a warm VGG, average pooling by default."""

from impasto_wire.progress import ProgressEvent

from ..settings import StyleSettings
from .engine import StyleEngine, resolve_device
from .execution.controls import RunControls
from .planning import memory_model
from .results import (
    BudgetTooSmall,
    OutOfMemory,
    StyleCancelled,
    StyleDiverged,
    StyleError,
    StyleStats,
)

__all__ = [
    "BudgetTooSmall",
    "OutOfMemory",
    "ProgressEvent",
    "RunControls",
    "StyleCancelled",
    "StyleDiverged",
    "StyleEngine",
    "StyleError",
    "StyleSettings",
    "StyleStats",
    "memory_model",
    "resolve_device",
]
