"""What a client sends and receives besides its requests: a job's ``Style`` images going out,
and an ``Event`` for each message from the daemon (typed: a ``MessageType`` and, for progress,
its ``ProgressEvent`` read once).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from . import protocol as P
from .progress import ProgressEvent
from .protocol import MessageType


@dataclass
class Event:
    """One message from the daemon about a job (or a reply): its type, header and raw frames;
    a ``progress`` carries its header read once as ``progress``."""

    type: MessageType
    job_id: str
    header: dict[str, Any]
    frames: list[memoryview] = field(default_factory=list)
    progress: ProgressEvent | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.type = MessageType(self.type)
        if self.type is MessageType.PROGRESS and self.progress is None:
            self.progress = ProgressEvent.from_header(self.header)

    @property
    def terminal(self) -> bool:
        return self.type in P.TERMINAL_TYPES

    def get(self, key: str, default: Any = None) -> Any:
        return self.header.get(key, default)

    def images(self) -> list[tuple[P.AnyImage, memoryview]]:
        """For ``result``/``echoed``: (description, pixels) per image, in request order."""
        descs = self.header.get("images", ())
        return [(P.image_from_dict(d), f) for d, f in zip(descs, self.frames)]

    def preview(self) -> tuple[P.Image, memoryview] | None:
        """For ``progress`` carrying a preview frame."""
        d = self.header.get("preview")
        if d is None or not self.frames:
            return None
        return P.image_from_dict(d), self.frames[0]  # type: ignore[return-value]


@dataclass
class Style:
    """A style image: raw pixels (``image`` an Image) or an encoded file (an EncodedImage)."""

    image: P.AnyImage
    data: Any
    weight: float = 1.0

    @classmethod
    def encoded(cls, data: bytes, encoding: str, weight: float = 1.0) -> Style:
        return cls(P.EncodedImage(encoding, len(data)), data, weight)

    @classmethod
    def raw(cls, width: int, height: int, channels: int, data: Any, weight: float = 1.0) -> Style:
        return cls(P.Image(width, height, channels), data, weight)


def new_id() -> str:
    return uuid.uuid4().hex


def bytes_view(data: Any, expected: int, what: str) -> Any:
    try:
        n = memoryview(data).nbytes
    except TypeError:
        raise TypeError(f"{what} must be bytes-like (bytes, memoryview, numpy array)") from None
    if n != expected:
        raise ValueError(f"{what} has {n} bytes but its description needs {expected}")
    return data
