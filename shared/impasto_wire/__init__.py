"""Impasto's wire protocol and client: standard library + pyzmq + msgpack, Python 3.9+.

Imported by the GIMP plug-in (GIMP's own Python), the command line and the daemon alike, so the
protocol exists exactly once.
"""

from __future__ import annotations

from .client import Client, DaemonError, DaemonUnavailable, Event, JobCancelled, Style, new_id
from .endpoints import discover_endpoint
from .launcher import ensure_daemon
from .protocol import PROTOCOL_VERSION, EncodedImage, Image, Limits, ProtocolError

__all__ = [
    "PROTOCOL_VERSION",
    "Client",
    "DaemonError",
    "DaemonUnavailable",
    "EncodedImage",
    "Event",
    "Image",
    "JobCancelled",
    "Limits",
    "ProtocolError",
    "Style",
    "discover_endpoint",
    "ensure_daemon",
    "new_id",
]
