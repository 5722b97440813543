"""How much memory one optimisation step needs, so large layers are tiled before they fail.

The estimate is analytic: activations kept for the backward pass (every conv and ReLU output up
to relu5_1), their gradients, and the optimiser's state, per input pixel. It errs high.
"""

from __future__ import annotations

import os

import torch

from ..vgg import BLOCKS, CONTENT_LAYER, layer_channels, layer_stride

HISTORY = 50  # L-BFGS pairs kept for a scale that fits in one piece (the plan's choice)
TILED_HISTORY = 10  # ... for a tiled scale: they live in host memory, full size


def fixed_bytes(device: torch.device) -> int:
    """What a job needs whatever its size: weights, cuDNN workspace, allocator slack."""
    return (768 if device.type == "cuda" else 96) * 2**20


def activation_floats_per_pixel(model: str) -> float:
    """Elements stored per input pixel by a forward pass truncated at relu5_1."""
    total = 0.0
    for block, convs in enumerate(BLOCKS[model], start=1):
        layer = f"conv{block}_1"
        kept = convs if block < 5 else 1  # block 5 stops at relu5_1
        total += 2 * kept * layer_channels(layer) / layer_stride(layer) ** 2  # conv + ReLU out
    return total


def content_floats_per_pixel() -> float:
    """Elements per input pixel of the content's features at vgg.CONTENT_LAYER, the target
    kept beside the image (relu3_1: 256 channels at a quarter of each side, 16)."""
    return layer_channels(CONTENT_LAYER) / layer_stride(CONTENT_LAYER) ** 2


def bytes_per_pixel(model: str, optimizer: str, autocast: bool, history: int = HISTORY) -> float:
    """Peak bytes per processed pixel of one forward+backward step plus optimiser state
    (L-BFGS keeps ``history`` pairs of image-sized vectors; Adam two moments)."""
    element = 2 if autocast else 4
    activations = activation_floats_per_pixel(model) * element
    gradients = activations  # the backward pass holds a gradient per activation at its peak
    state = 3 * 4 * (2 * history + 4 if optimizer == "lbfgs" else 4)
    return activations + gradients + state + 4 * content_floats_per_pixel()


def max_pixels(
    model: str, optimizer: str, autocast: bool, budget: int, device: torch.device,
    history: int = HISTORY,
) -> int:
    """The largest tile (in pixels) one step can optimise within ``budget`` bytes."""
    spare = budget - fixed_bytes(device)
    return max(0, int(spare / bytes_per_pixel(model, optimizer, autocast, history)))


def budget_for(
    pixels: int, model: str, optimizer: str, autocast: bool, device: torch.device,
    history: int = HISTORY,
) -> int:
    """The budget (bytes) under which ``pixels`` can be optimised in one piece."""
    per_pixel = bytes_per_pixel(model, optimizer, autocast, history)
    return fixed_bytes(device) + int(pixels * per_pixel) + 1


def default_budget(device: torch.device) -> int:
    """90% of the GPU's free memory, or half the machine's available RAM on the CPU."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.9)
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
        return int(info.get("MemAvailable", 8 * 2**30) * 0.5)
    except OSError:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.5)


def host_bytes(height: int, width: int, history: int) -> int:
    """Host memory of a tiled scale: image, gradient, content, optimiser state and history,
    the copies mirrored into a band (vgg.MARGIN) with their gradient, and every tile's content
    target."""
    return height * width * 4 * (3 * (2 * history + 10) + content_floats_per_pixel())
