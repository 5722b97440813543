"""How much memory the daemon holds, for ``status`` (host RSS and, on CUDA, the allocator)."""

from __future__ import annotations

import resource
from typing import Any


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def memory_report(device: str) -> dict[str, Any]:
    report: dict[str, Any] = {"rss_bytes": _rss_bytes()}
    if device.startswith("cuda"):
        import torch

        index = torch.device(device).index or 0
        free, total = torch.cuda.mem_get_info(index)
        report.update(
            cuda_allocated_bytes=int(torch.cuda.memory_allocated(index)),
            cuda_reserved_bytes=int(torch.cuda.memory_reserved(index)),
            cuda_free_bytes=int(free),
            cuda_total_bytes=int(total),
        )
    return report
