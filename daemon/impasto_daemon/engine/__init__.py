"""Gatys et al. (2015) neural style transfer on a warm VGG, average pooling by default."""

from impasto_wire.progress import ProgressEvent

from ..settings import StyleSettings
from . import memory_model
from .engine import StyleEngine, resolve_device
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
    "StyleCancelled",
    "StyleDiverged",
    "StyleEngine",
    "StyleError",
    "StyleSettings",
    "StyleStats",
    "memory_model",
    "resolve_device",
]
