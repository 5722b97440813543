"""Impasto's wire protocol and client: standard library + pyzmq + msgpack, Python 3.9+.

Imported by the GIMP plug-in (GIMP's own Python), the command line and the daemon alike, so the
protocol exists exactly once. The names below are loaded on first use (PEP 562), so a
standard-library-only module such as ``impasto_wire.limits`` can be imported where pyzmq is
missing (the GIMP plug-in registers its menu entry before it checks its dependencies).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import Client
    from .client_errors import DaemonError, DaemonNotProven, DaemonUnavailable, JobCancelled
    from .endpoints import discover_endpoint
    from .events import Event, Style, new_id
    from .launcher import ensure_daemon
    from .protocol import PROTOCOL_VERSION, EncodedImage, Image, Limits, ProtocolError

_WHERE = {
    "Client": "client", "DaemonError": "client_errors", "DaemonUnavailable": "client_errors",
    "DaemonNotProven": "client_errors",
    "JobCancelled": "client_errors", "Event": "events", "Style": "events", "new_id": "events",
    "discover_endpoint": "endpoints", "ensure_daemon": "launcher",
    "PROTOCOL_VERSION": "protocol", "EncodedImage": "protocol", "Image": "protocol",
    "Limits": "protocol", "ProtocolError": "protocol",
}

__all__ = [
    "PROTOCOL_VERSION", "Client", "DaemonError", "DaemonNotProven", "DaemonUnavailable",
    "EncodedImage", "Event",
    "Image", "JobCancelled", "Limits", "ProtocolError", "Style", "discover_endpoint",
    "ensure_daemon", "new_id",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'impasto_wire' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
