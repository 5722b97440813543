"""The artist's options, their ranges and defaults, and how they become the engine's settings.

No GIMP here: ``arguments`` declares these as procedure arguments, and the wire's ``settings``
map (keys = the engine's ``StyleSettings`` fields) is built from them in one place. The
networks, poolings, strength, size and iteration ranges and the defaults are the engine's own
(``impasto_wire.style_settings``, ``impasto_wire.limits``); only their labels are the
plug-in's.
"""

from __future__ import annotations

from dataclasses import dataclass

# stdlib only: safe before the plug-in's dependencies are checked
from impasto_wire import style_settings as engine
from impasto_wire.limits import MAX_ITERATIONS, MIN_ITERATIONS

from .i18n import _

#: the engine's defaults, which the dialog starts from
ENGINE = engine.StyleSettings()

_MODEL_LABELS = {
    "vgg19": ("VGG19", _("The classic network for style transfer (best quality)")),
    "vgg16": ("VGG16", _("A slightly smaller network (the daemon must have it loaded)")),
}
_POOLING_LABELS = {
    "avg": (_("Average"), _("Smoother, more painterly results (the usual choice)")),
    "max": (_("Max"), _("Crisper, more contrasted textures")),
}
# (value, label, help) — value is what scripts pass and what the engine receives
MODELS = tuple((name, *_MODEL_LABELS[name]) for name in engine.MODELS)
POOLINGS = tuple((name, *_POOLING_LABELS[name]) for name in engine.POOLINGS)
STYLE_SOURCES = (
    ("file", _("Image file"), _("Use the image file given as 'Style image'")),
    ("layer", _("Layer"), _("Use the layer given as 'Style layer' (from any open image)")),
)

#: how much of the photo the style may take, 0 (a glaze) to 100 (a takeover): the engine holds
#: the same share of the photo on every picture by choosing the style weight itself
STRENGTH_MIN, STRENGTH_MAX, STRENGTH_DEFAULT = 0.0, engine.MAX_STRENGTH, ENGINE.strength

SIZE_MIN, SIZE_MAX = engine.MIN_PROCESS_SIZE, engine.MAX_PROCESS_SIZE  # 0 = the layer's own size
SIZE_DEFAULT = ENGINE.size or 0
ITERATIONS_MIN, ITERATIONS_MAX, ITERATIONS_DEFAULT = (MIN_ITERATIONS, MAX_ITERATIONS,
                                                      ENGINE.iterations)
#: the declared argument's lower bound: 0 reaches ``validate`` and is refused with a sentence
#: (below a declared minimum GObject only warns and silently keeps the previous value)
ITERATIONS_DECLARED_MIN = 0
SEED_MAX = 2**31 - 1


class OptionsError(ValueError):
    """An option is out of range; the message names it the way the dialog does."""


@dataclass(frozen=True)
class Options:
    """Everything except the style images themselves, as the artist chose it."""

    strength: float = STRENGTH_DEFAULT
    size: int = SIZE_DEFAULT
    iterations: int = ITERATIONS_DEFAULT
    model: str = ENGINE.model
    pooling: str = ENGINE.pooling
    preserve_colors: bool = ENGINE.preserve_colors
    seed: int = ENGINE.seed
    #: the second style's share of the blend in percent (used only with a second style)
    style2_weight: float = 50.0

    def validate(self) -> None:
        """Refuse, with the dialog's words, what the declared arguments let through and the
        daemon would refuse: GIMP itself keeps every argument inside its declared range and
        choices, but a range cannot say "0 or at least SIZE_MIN" (size) nor refuse 0
        (iterations, declared from 0 so that 0 reaches this sentence)."""
        if 0 < self.size < SIZE_MIN:
            raise OptionsError(_(
                "Size must be 0 (the layer's full size) or between {min} and {max} pixels, not "
                "{size}.").format(min=SIZE_MIN, max=SIZE_MAX, size=self.size))
        if self.iterations < ITERATIONS_MIN:
            raise OptionsError(_(
                "Iterations must be between {min} and {max}, not {iterations} (it is the number "
                "of optimisation steps at the finest scale; {default} is the usual choice)."
            ).format(min=ITERATIONS_MIN, max=ITERATIONS_MAX, iterations=self.iterations,
                     default=ITERATIONS_DEFAULT))

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
            "strength": float(self.strength),
            "preserve_colors": bool(self.preserve_colors),
            "seed": int(self.seed),
        }


def model_names() -> list[str]:
    return list(engine.MODELS)


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
        return _("The daemon has no network loaded; see its log (impasto status).")
    if opts.model not in offered:
        return _("{model} is not loaded by the daemon; choose {choices} as 'Network'.").format(
            model=opts.model.upper(), choices=_(" or ").join(m.upper() for m in offered))
    return None


NO_STYLE_FILE = _("Choose a style image (a picture file, or a layer of an open image).")
NO_STYLE_LAYER = _("Choose a style layer, or set 'Use style from' to 'Image file'.")
