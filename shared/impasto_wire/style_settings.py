"""The knobs of one stylisation, shared by the daemon, the CLI and the GIMP plug-in.

Field names are the keys of the wire's ``settings`` map, so one validation serves every caller,
and the plug-in takes its choices, ranges and defaults from here instead of writing them again.
Standard library only, Python 3.9+ (GIMP's Python imports it before its dependencies are
checked).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from .limits import MAX_ITERATIONS

MODELS = ("vgg19", "vgg16")
POOLINGS = ("avg", "max")
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise", "style")
MAX_LEARNING_RATE = 1.0
MAX_STRENGTH = 100.0
MIN_PROCESS_SIZE = 32
MAX_PROCESS_SIZE = 16_384


@dataclass(frozen=True)
class StyleSettings:
    """What the artist chose; defaults give a good picture at 512 px without tuning."""

    model: str = "vgg19"
    pooling: str = "avg"
    size: int | None = 512  # long side processed; None or 0 = the content's own size
    #: optimiser steps at the finest scale; the plan gives each coarser scale its own count
    iterations: int = 300
    optimizer: str = "lbfgs"
    init: str = "content"
    content_weight: float = 1.0
    #: 0 (a glaze) to 100 (the style takes the photo over): how much of the photo to keep, the
    #: same on every picture; the engine chooses the style weight for each pair from it
    strength: float = 50.0
    #: a fixed style weight instead (strength is then not used); the same weight keeps much of
    #: one photo and erases another (docs/QUALITY.md)
    style_weight: float | None = None
    #: smoothing (total variation) per unit of style weight: speckle is the style's doing, so
    #: the smoothing keeps the same share at every strength and a glaze stays as sharp as the
    #: photo; 0 = none
    tv_weight: float = 5.0
    learning_rate: float = 0.02  # Adam only; the image lives in [0, 1]
    style_blend: tuple[float, ...] | None = None
    style_scale: float = 1.0
    preserve_colors: bool = False
    seed: int = 0
    multiscale: bool = True
    #: a scale ends once its loss fell by less than this share over its last 10 steps
    #: (the picture no longer changes visibly); 0 runs every step asked for
    tolerance: float = 0.01

    def __post_init__(self) -> None:
        if self.size == 0:
            object.__setattr__(self, "size", None)
        if self.style_blend is not None:
            object.__setattr__(self, "style_blend", tuple(float(w) for w in self.style_blend))
        self._validate()

    def _validate(self) -> None:
        for name in ("iterations", "seed") + (("size",) if self.size is not None else ()):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
        for name in ("preserve_colors", "multiscale"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        _choice("model", self.model, MODELS)
        _choice("pooling", self.pooling, POOLINGS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("init", self.init, INITS)
        if self.size is not None and not MIN_PROCESS_SIZE <= self.size <= MAX_PROCESS_SIZE:
            raise ValueError(
                f"size must be between {MIN_PROCESS_SIZE} and {MAX_PROCESS_SIZE} pixels "
                f"(or 0 for the layer's own size), got {self.size}"
            )
        if not 0 <= self.iterations <= MAX_ITERATIONS:
            raise ValueError(
                f"iterations must be between 0 and {MAX_ITERATIONS}, got {self.iterations}"
            )
        if not (math.isfinite(self.strength) and 0 <= self.strength <= MAX_STRENGTH):
            raise ValueError(f"strength must be between 0 and {MAX_STRENGTH:g}, "
                             f"got {self.strength}")
        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            if value is None and name == "style_weight":
                continue
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if not (math.isfinite(self.learning_rate) and 0 < self.learning_rate <= MAX_LEARNING_RATE):
            raise ValueError(
                f"learning_rate must be > 0 and at most {MAX_LEARNING_RATE} (pixels live in "
                f"0..1, a larger step only saturates them), got {self.learning_rate}"
            )
        if not (math.isfinite(self.tolerance) and 0 <= self.tolerance < 1):
            raise ValueError(f"tolerance must be between 0 and 1, got {self.tolerance}")
        if not (math.isfinite(self.style_scale) and 0.05 <= self.style_scale <= 8):
            raise ValueError(f"style_scale must be between 0.05 and 8, got {self.style_scale}")
        if self.style_blend is not None:
            bad = any(not math.isfinite(w) or w < 0 for w in self.style_blend)
            if bad or sum(self.style_blend) <= 0:
                raise ValueError("style_blend weights must be >= 0 and not all zero")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be between 0 and 2**63-1, got {self.seed}")

    def blend_for(self, n_styles: int) -> tuple[float, ...]:
        """Normalised per-style weights; equal when the user gave none."""
        if n_styles < 1:
            raise ValueError("at least one style image is needed")
        weights = self.style_blend or (1.0,) * n_styles
        if len(weights) != n_styles:
            raise ValueError(f"style_blend has {len(weights)} weights for {n_styles} style images")
        largest = max(weights)  # divided first, so huge weights cannot overflow the sum
        total = sum(w / largest for w in weights)
        return tuple(w / largest / total for w in weights)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StyleSettings:
        """Build from a wire/CLI map, naming any unknown key instead of ignoring it."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        try:
            return cls(**dict(data))
        except TypeError as exc:  # wrong types surface as TypeError inside comparisons
            raise ValueError(f"bad settings: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["style_blend"] is not None:
            d["style_blend"] = list(d["style_blend"])
        return d


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
