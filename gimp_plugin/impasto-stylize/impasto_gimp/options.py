"""The artist's options, their ranges and defaults, and how they become the engine's settings.

No GIMP here: ``arguments`` declares these as procedure arguments, and the wire's ``settings``
map (keys = the engine's ``StyleSettings`` fields) is built from them in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from impasto_wire.limits import (  # stdlib only: safe before deps are checked
    MAX_ITERATIONS,
    MIN_ITERATIONS,
)

# (value, label, help) — value is what scripts pass and what the engine receives
MODELS = (
    ("vgg19", "VGG19", "The classic network for style transfer (best quality)"),
    ("vgg16", "VGG16", "A slightly smaller network (the daemon must have it loaded)"),
)
POOLINGS = (
    ("avg", "Average", "Smoother, more painterly results (the usual choice)"),
    ("max", "Max", "Crisper, more contrasted textures"),
)
STYLE_SOURCES = (
    ("file", "Image file", "Use the image file given as 'Style image'"),
    ("layer", "Layer", "Use the layer given as 'Style layer' (from any open image)"),
)

STRENGTH_MIN, STRENGTH_MAX, STRENGTH_DEFAULT = 0.0, 100.0, 50.0
#: the engine's default style_weight, reached at STRENGTH_DEFAULT
ENGINE_STYLE_WEIGHT = 10.0
#: strength steps that multiply style_weight by ten: 0-100 spans 0.1 to 1000, which the quality
#: harness (benchmarks/quality.py, real VGG16, 256 px) measured as a glaze to the style taking
#: over, monotonically: style_gain / content_edges at strengths 0, 25, 50, 75, 100 were
#: 0.26/0.97, 0.59/0.83, 0.69/0.59, 0.72/0.29, 0.72/0.26 on motorcycle x swirl and
#: 0.01/1.00, 0.14/0.62, 0.61/0.32, 0.73/0.15, 0.75/0.06 on the flat grey clock x swirl
STRENGTH_PER_DECADE = 25.0

SIZE_MIN, SIZE_MAX, SIZE_DEFAULT = 32, 16384, 512  # 0 = the layer's own size
ITERATIONS_MIN, ITERATIONS_MAX, ITERATIONS_DEFAULT = MIN_ITERATIONS, MAX_ITERATIONS, 300
#: the declared argument's lower bound: 0 reaches ``validate`` and is refused with a sentence
#: (below a declared minimum GObject only warns and silently keeps the previous value)
ITERATIONS_DECLARED_MIN = 0
SEED_MAX = 2**31 - 1


class OptionsError(ValueError):
    """An option is out of range; the message names it the way the dialog does."""


def style_weight(strength: float) -> float:
    """Map the 0–100 strength a person picks to the engine's ``style_weight``, logarithmically.

    50 gives the engine's default 10; every 25 steps multiply or divide by ten, so 0 → 0.1
    (a glaze), 25 → 1 (gentle), 75 → 100 (strong), 100 → 1000 (the style takes over).
    """
    return round(ENGINE_STYLE_WEIGHT * 10 ** ((strength - STRENGTH_DEFAULT) / STRENGTH_PER_DECADE),
                 6)


def strength_for(weight: float) -> float:
    """The inverse of ``style_weight`` (for documentation and tests)."""
    return STRENGTH_DEFAULT + STRENGTH_PER_DECADE * math.log10(weight / ENGINE_STYLE_WEIGHT)


@dataclass(frozen=True)
class Options:
    """Everything except the style images themselves, as the artist chose it."""

    strength: float = STRENGTH_DEFAULT
    size: int = SIZE_DEFAULT
    iterations: int = ITERATIONS_DEFAULT
    model: str = "vgg19"
    pooling: str = "avg"
    preserve_colors: bool = False
    seed: int = 0
    #: the second style's share of the blend in percent (used only with a second style)
    style2_weight: float = 50.0

    def validate(self) -> None:
        """Refuse here what the daemon would refuse, with the dialog's words."""
        if not STRENGTH_MIN <= self.strength <= STRENGTH_MAX:
            raise OptionsError(f"Strength must be between 0 and 100, not {self.strength:g}.")
        if self.size != 0 and not SIZE_MIN <= self.size <= SIZE_MAX:
            raise OptionsError(
                f"Size must be 0 (the layer's full size) or between {SIZE_MIN} and {SIZE_MAX} "
                f"pixels, not {self.size}."
            )
        if not ITERATIONS_MIN <= self.iterations <= ITERATIONS_MAX:
            raise OptionsError(
                f"Iterations must be between {ITERATIONS_MIN} and {ITERATIONS_MAX}, "
                f"not {self.iterations} (it is the number of optimisation steps at the finest "
                "scale; 300 is the usual choice)."
            )
        _choice("Network", self.model, MODELS)
        _choice("Pooling", self.pooling, POOLINGS)
        if not 0 <= self.seed <= SEED_MAX:
            raise OptionsError(f"Seed must be between 0 and {SEED_MAX}, not {self.seed}.")
        if not 0.0 <= self.style2_weight <= 100.0:
            raise OptionsError("The second style's weight must be between 0 and 100 %.")

    def style_weights(self, n_styles: int) -> list[float]:
        """Per-style blend weights for one or two styles (the daemon normalises them)."""
        if n_styles == 1:
            return [1.0]
        share = self.style2_weight / 100.0
        return [1.0 - share, share]

    def wire_settings(self) -> dict[str, object]:
        """The wire's ``settings`` map (``StyleSettings`` field names)."""
        return {
            "model": self.model,
            "pooling": self.pooling,
            "size": int(self.size),
            "iterations": int(self.iterations),
            "style_weight": style_weight(self.strength),
            "preserve_colors": bool(self.preserve_colors),
            "seed": int(self.seed),
        }


def _choice(what: str, value: str, allowed: tuple[tuple[str, str, str], ...]) -> None:
    names = [v for v, _, _ in allowed]
    if value not in names:
        raise OptionsError(f"{what} must be one of {', '.join(names)}, not {value!r}.")


def model_names() -> list[str]:
    return [v for v, _, _ in MODELS]


def offered_models(loaded: list[str] | None, configured: list[str] | None) -> list[str]:
    """The networks the dialog offers: what the running daemon has loaded, else what the
    daemon configuration will load, else every network the plug-in knows (in MODELS order)."""
    source = loaded if loaded is not None else configured
    if source is None:
        return model_names()
    return [m for m in model_names() if m in source]


def pick_model(offered: list[str], current: str, preferred: str | None = None) -> str:
    """The network the dialog starts with: the last choice if it is offered, else the
    configuration's default, else the first one offered."""
    if current in offered:
        return current
    if preferred in offered:
        return str(preferred)
    return offered[0] if offered else current


def refusal(opts: Options, style_source: str, has_file: bool, has_layer: bool,
            offered: list[str]) -> str | None:
    """Why OK cannot run these settings (shown inside the dialog), or None when they can."""
    if style_source == "layer" and not has_layer:
        return NO_STYLE_LAYER
    if style_source != "layer" and not has_file and not has_layer:
        return NO_STYLE_FILE
    try:
        opts.validate()
    except OptionsError as exc:
        return str(exc)
    if not offered:
        return "The daemon has no network loaded; see its log (impasto status)."
    if opts.model not in offered:
        return (f"{opts.model.upper()} is not loaded by the daemon; choose "
                f"{' or '.join(m.upper() for m in offered)} as 'Network'.")
    return None


NO_STYLE_FILE = "Choose a style image (a picture file, or a layer of an open image)."
NO_STYLE_LAYER = "Choose a style layer, or set 'Use style from' to 'Image file'."
