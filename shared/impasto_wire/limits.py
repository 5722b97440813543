"""Every size limit Impasto enforces, written once.

The protocol's ``Limits`` takes its defaults from here, the daemon announces them in
``welcome``, the engine's settings and the GIMP plug-in's options import the ones they check, so
a limit can never disagree between the two ends. Standard library only, Python 3.9+.
"""

from __future__ import annotations

MAX_ITERATIONS = 10_000  # optimiser steps at the finest scale
MIN_ITERATIONS = 1  # what a person may ask for (0 steps return the starting picture unpainted)
MAX_PIXELS = 8192 * 8192  # one image (content, style, or a decoded style file)
MAX_STYLES = 8  # style images in one request
MAX_LAYERS = 16  # content layers in one request
MAX_QUEUE = 64  # jobs waiting for a worker
MAX_MESSAGE_BYTES = 1 << 30  # one request, all frames together (also ZeroMQ's MAXMSGSIZE)
MAX_QUEUED_BYTES = 2 << 30  # payloads held by accepted, unfinished jobs together
MAX_HEADER_BYTES = 64 * 1024  # the msgpack header of one message
MAX_ID_LENGTH = 128  # a job or message id, in characters
MAX_PREVIEW_SIZE = 1024  # long side of a progress preview

#: the range each of the daemon's own settings may take (its flags and configuration file),
#: checked when the setting is read: a value beyond it could only overflow something later
#: (2**44 MiB of memory budget ran one job, then the result's 64-bit msgpack integer killed
#: the daemon; issue 19). Upper ends sit far above any machine's need.
DAEMON_SETTING_RANGES: dict[str, tuple[float, float]] = {
    "max_pixels": (1, 1 << 32),
    "max_message_mb": (1, 1 << 12),
    "max_styles": (1, 64),
    "max_layers": (1, 256),
    "max_iterations": (1, MAX_ITERATIONS),
    "max_queue": (1, 1 << 16),
    "max_queued_mb": (1, 1 << 20),
    "memory_budget_mb": (0, 1 << 24),  # 16 TiB; 0 = decided from free memory
    "target_cache_mb": (0, 1 << 20),
    "client_timeout": (0.1, 86_400.0),
    "seed": (0, 2**63 - 1),
}


def check_setting(name: str, value: float) -> float:
    """``value`` when it lies in ``DAEMON_SETTING_RANGES[name]``, else ValueError saying the
    range (a float must also be finite)."""
    low, high = DAEMON_SETTING_RANGES[name]
    if not (low <= value <= high):  # also refuses NaN
        raise ValueError(f"{name} must be between {_plain(low)} and {_plain(high)}, got "
                         f"{value!r}")
    return value


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


__all__ = [
    "DAEMON_SETTING_RANGES", "check_setting",
    "MAX_HEADER_BYTES", "MAX_ID_LENGTH", "MAX_ITERATIONS", "MAX_LAYERS", "MAX_MESSAGE_BYTES",
    "MAX_PIXELS", "MAX_PREVIEW_SIZE", "MAX_QUEUE", "MAX_QUEUED_BYTES", "MAX_STYLES",
]
