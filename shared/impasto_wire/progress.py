"""The one progress event: made by the engine, sent by the daemon, read by the CLI and GIMP.

``fraction`` is the share of the job's *time* that is done (the engine weights each scale by its
measured cost), so a bar fed with it moves evenly; ``eta`` is the engine's estimate of the
seconds left, absent until it is likely right within a factor of two. ``step``/``steps`` count
optimiser steps within the current scale; at the finest scale ``steps`` is the iteration count
the user asked for, and on a coarser one a cap that may be more than that (``step_text`` says
which).

Standard library only, Python 3.9+ (GIMP's Python imports it too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

#: stages in the order a job passes them
STAGES = ("queued", "starting", "targets", "optimising", "finishing")

_NUM = (int, float)


@dataclass
class ProgressEvent:
    stage: str = "starting"  # one of STAGES
    fraction: float = 0.0  # 0..1 of the job's estimated time
    elapsed: float = 0.0  # seconds since the job started (or was submitted, while queued)
    eta: float | None = None  # seconds left, once the engine can tell
    layer: int = 0  # 0-based index of the first layer being worked on
    layers: int = 1  # layers in the request
    batch: int = 1  # layers optimised together right now
    scale: int = 0  # 1-based index of the current scale (0 before the first)
    scales: int = 0
    step: int = 0  # optimiser steps done at this scale
    steps: int = 0  # steps planned at this scale (a cap: a scale may converge sooner)
    loss: float = 0.0
    content_loss: float = 0.0
    style_loss: float = 0.0
    tv_loss: float = 0.0
    size: tuple[int, int] = (0, 0)  # (height, width) of the current scale
    tiles: int = 1  # crops every step of this scale passes through (1 = the whole image)
    strategy: str = ""  # e.g. "scale 3/3 1536x1024 in 6 tiles of 640x640"
    position: int = 0  # stage "queued": jobs ahead of this one
    heartbeat: bool = False  # a repeat of the last state, sent when nothing changed
    #: in-process only: a small HxWx3 uint8 picture of the work so far. On the wire it travels
    #: as the frame after the header (described by the header's "preview" image map).
    preview: Any = field(default=None, repr=False, compare=False, metadata={"wire": False})

    def to_header(self) -> dict[str, Any]:
        """The fields as msgpack-ready values (``eta`` left out while unknown)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or not f.metadata.get("wire", True):
                continue
            out[f.name] = [int(v) for v in value] if f.name == "size" else value
        return out

    @classmethod
    def from_header(cls, header: Mapping[str, Any]) -> ProgressEvent:
        """Tolerant reader: unknown keys are ignored, missing ones take their defaults."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in header.items() if k in known and k != "preview"}
        if "size" in values:
            values["size"] = tuple(values["size"])
        return cls(**values)

    @property
    def percent(self) -> int:
        return int(round(100 * min(1.0, max(0.0, self.fraction))))


def format_duration(seconds: float) -> str:
    """"2m10s" style text (the GIMP plug-in puts its own translated words around it)."""
    s = max(0, int(round(seconds)))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


#: the words of a progress line that every client shows. The GIMP plug-in passes its own
#: translations of these same texts (``impasto_wire`` has no catalogue); its tests check that
#: they are these, word for word, where no translation applies.
STEP_OF_ITERATIONS = "step {step}/{steps}"
STEP_UNDER_CAP = "step {step} (at most {steps})"
ETA = "eta {time}"
ESTIMATING = "estimating…"


def step_text(event: ProgressEvent, of_iterations: str = STEP_OF_ITERATIONS,
              under_cap: str = STEP_UNDER_CAP) -> str:
    """"step 40/300" at the finest scale, whose cap is the iteration count the user set; a
    coarser scale's cap is another number (it may run more steps: "/450" read as if the user had
    asked for 450), so there it is named as a cap: "step 40 (at most 450)"."""
    coarser = event.scales > 1 and event.scale < event.scales
    template = under_cap if coarser else of_iterations
    return template.format(step=event.step, steps=event.steps)


def eta_text(seconds: float | None, eta: str = ETA, estimating: str = ESTIMATING) -> str:
    """"eta 2m10s", or "estimating…" while the engine offers no estimate (it withholds one
    until it is likely right within a factor of two): said, not left blank."""
    return estimating if seconds is None else eta.format(time=format_duration(seconds))


def format_eta(seconds: float | None) -> str:
    """"eta 2m10s" style text, or "" while unknown."""
    return "" if seconds is None else eta_text(seconds)


#: the fields every protocol-2 progress header has carried from the start; fields added since
#: are optional on the wire, so the progress of an older daemon still reads
_ALWAYS_SENT = frozenset(
    {"stage", "fraction", "elapsed", "layer", "layers", "scale", "scales", "step", "steps", "loss"})
#: a field's annotation (without "| None") -> the msgpack types that carry it
_WIRE_TYPES: dict[str, tuple] = {
    "str": (str,), "int": (int,), "float": _NUM, "bool": (bool,), "tuple[int, int]": (list,)}


def _schema() -> dict[str, tuple[tuple, bool]]:
    """The wire schema of a progress header, read off the dataclass: field -> (accepted types,
    required). An annotation missing from _WIRE_TYPES fails here, at import, not on the wire."""
    schema = {f.name: (_WIRE_TYPES[str(f.type).replace(" | None", "")], f.name in _ALWAYS_SENT)
              for f in fields(ProgressEvent) if f.metadata.get("wire", True)}
    schema["preview"] = ((dict,), False)  # the image map of the one frame that follows
    return schema


#: the wire schema of a progress header: field -> (accepted types, required)
SCHEMA: dict[str, tuple[tuple, bool]] = _schema()

__all__ = ["ESTIMATING", "ETA", "SCHEMA", "STAGES", "STEP_OF_ITERATIONS", "STEP_UNDER_CAP",
           "ProgressEvent", "eta_text", "format_duration", "format_eta", "step_text"]
