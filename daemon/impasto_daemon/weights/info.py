"""What every weights source returns alongside the tensors, and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WeightsInfo:
    """Where a set of VGG convolution weights came from, so a person can always tell.

    The label is what the GIMP dialog, the CLI and the logs show; random weights say so in it.
    """

    model: str  # "vgg19" | "vgg16"
    source: str  # "torchvision" | "file" | "random"
    label: str
    is_random: bool
    sha256: str | None
    path: str | None


class WeightsError(Exception):
    """Weights could not be had; the message says exactly how to get working weights."""
