"""Which device the daemon would use here, and how much memory it has."""

from __future__ import annotations

import os
import shutil
import subprocess

from . import result as R

GiB = 2**30


def nvidia_gpus() -> list[str]:
    """GPU names from ``nvidia-smi -L`` (empty without the driver), independent of torch."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.startswith("GPU ")]


def _available_ram() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_device() -> R.Check:
    """CUDA where an NVIDIA GPU is present, else the CPU (works, slowly)."""
    import torch

    build = f"torch {torch.__version__} (" + (
        f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only build") + ")"
    if torch.cuda.is_available():
        parts = []
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            parts.append(f"cuda:{i} {torch.cuda.get_device_name(i)}, "
                         f"{free / GiB:.1f} of {total / GiB:.1f} GiB free")
        return R.ok("device", f"{'; '.join(parts)}; {build}")
    gpus = nvidia_gpus()
    if gpus:
        why = ("this torch is a CPU-only build" if not torch.version.cuda
               else "the NVIDIA driver is too old for it or not loaded")
        return R.fail("device", f"{gpus[0]} present, but torch cannot use it: {why}; {build}",
                      "./install.sh --torch cuda (reinstalls torch with CUDA); check nvidia-smi")
    ram = _available_ram()
    mem = f", {ram / GiB:.1f} GiB RAM available" if ram else ""
    return R.warn("device", f"cpu ({os.cpu_count()} cores{mem}); no NVIDIA GPU found; {build}",
                  "style transfer works on the CPU but takes minutes per image; a machine "
                  "with an NVIDIA GPU runs it in seconds")
