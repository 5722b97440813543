"""How the network's arithmetic runs on a device: bf16 autocast where the hardware has it.

VGG's convolutions are nearly all of the time. Under bf16 autocast they run about twice as fast
on a CUDA GPU and on CPUs with native bf16 (AVX512-BF16 or AMX; docs/MEASUREMENTS.md). The Gram
matrices and the losses are always accumulated in fp32 (objective/losses.py), so the objective
keeps its precision. Where its bf16 kernels walk that layout faster the network's weights are
kept channels-last (engine.py): on the GPU and on CPUs with AMX, where it also gives the same
picture to the bit. oneDNN's AVX512-BF16 kernels without AMX, and fp32 on any CPU, are faster in
the standard layout (docs/MEASUREMENTS.md).
"""

from __future__ import annotations

import os

import torch

#: set to 0 to keep a CPU in fp32 (e.g. to compare), to 1 to force bf16 on one without it
ENV_CPU_BF16 = "IMPASTO_CPU_BF16"


def cpu_has_native_bf16() -> bool:
    """True on CPUs whose vector units compute in bf16 (emulated bf16 would be slower)."""
    return _cpu_has("_is_avx512_bf16_supported") or cpu_has_amx()


def cpu_has_amx() -> bool:
    return _cpu_has("_is_amx_tile_supported")


def _cpu_has(probe_name: str) -> bool:
    probe = getattr(torch.cpu, probe_name, None)
    try:
        return bool(probe is not None and probe())
    except RuntimeError:  # pragma: no cover - a build without the probe's backend
        return False


def use_autocast(device: torch.device) -> bool:
    """Whether the feature network runs under bf16 autocast on ``device``."""
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    forced = os.environ.get(ENV_CPU_BF16, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    return cpu_has_native_bf16()


def channels_last_weights(device: torch.device) -> bool:
    """Whether the network's weights are kept channels-last on ``device``: where it runs in
    bf16 on a GPU or on AMX, whose kernels walk that layout faster."""
    if not use_autocast(device):
        return False
    return device.type == "cuda" or cpu_has_amx()
