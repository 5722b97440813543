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

__all__ = [
    "MAX_HEADER_BYTES", "MAX_ID_LENGTH", "MAX_ITERATIONS", "MAX_LAYERS", "MAX_MESSAGE_BYTES",
    "MAX_PIXELS", "MAX_PREVIEW_SIZE", "MAX_QUEUE", "MAX_QUEUED_BYTES", "MAX_STYLES",
]
