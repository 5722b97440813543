"""The knobs of one stylisation: defined once in ``impasto_wire.style_settings`` (the GIMP
plug-in reads the same definition) and re-exported here for the engine and the CLI."""

from impasto_wire.limits import MAX_ITERATIONS
from impasto_wire.style_settings import (
    INITS,
    MAX_LEARNING_RATE,
    MAX_PROCESS_SIZE,
    MIN_PROCESS_SIZE,
    MODELS,
    OPTIMIZERS,
    POOLINGS,
    StyleSettings,
)

__all__ = [
    "INITS", "MAX_ITERATIONS", "MAX_LEARNING_RATE", "MAX_PROCESS_SIZE", "MIN_PROCESS_SIZE",
    "MODELS", "OPTIMIZERS", "POOLINGS", "StyleSettings",
]
