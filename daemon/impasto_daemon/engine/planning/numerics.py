"""How the network's arithmetic runs on a device: bf16 autocast where the hardware has it.

VGG's convolutions are nearly all of the time. Under bf16 autocast they run about twice as fast
on a CUDA GPU and on CPUs with native bf16 (AVX512-BF16 or AMX; docs/MEASUREMENTS.md). The Gram
matrices and the losses are always accumulated in fp32 (objective/losses.py), so the objective
keeps its precision. Wherever the network runs in bf16 its weights are kept channels-last
(engine.py): the bf16 kernels of both the GPU and oneDNN walk that layout faster and, on the CPU,
give the same picture to the bit; fp32 on the CPU is faster in the standard layout.
"""

from __future__ import annotations

import os

import torch

#: set to 0 to keep a CPU in fp32 (e.g. to compare), to 1 to force bf16 on one without it
ENV_CPU_BF16 = "IMPASTO_CPU_BF16"


def cpu_has_native_bf16() -> bool:
    """True on CPUs whose vector units compute in bf16 (emulated bf16 would be slower)."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    for name in probes:
        probe = getattr(torch.cpu, name, None)
        try:
            if probe is not None and probe():
                return True
        except RuntimeError:  # pragma: no cover - a build without the probe's backend
            continue
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
