"""Peak host memory of one job on Linux: the resident-set high-water mark since a reset.

The kernel's VmHWM can be reset by writing 5 to /proc/self/clear_refs, so a job's peak is
VmHWM after it minus the resident size before it. Elsewhere the lifetime peak is all there is.
"""

from __future__ import annotations

import resource
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_bytes(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class HostPeak:
    """``reset()`` before a job, ``peak()`` after: bytes the job added at its highest."""

    def __init__(self) -> None:
        self.baseline = 0
        self.resettable = True

    def reset(self) -> None:
        try:
            _CLEAR_REFS.write_text("5")
        except OSError:
            self.resettable = False
        self.baseline = _status_bytes("VmRSS") or 0

    def peak(self) -> int:
        high = _status_bytes("VmHWM") if self.resettable else None
        if high is None:
            high = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return max(0, high - self.baseline)
