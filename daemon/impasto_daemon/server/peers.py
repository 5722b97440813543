"""Who is at the other end of a connection: the user id of the peer process, so a job belongs to
the user who submitted it and not only to a routing id that any local user can present (issue
19, item 8: a script with a fixed id lost its result to another user who connected with it).

ipc: the socket's SO_PEERCRED. TCP on loopback: the peer's own socket, found in /proc/net/tcp
(its local address is our remote one), names its owner. Elsewhere (no /proc, a remote peer):
None, and with CurveZMQ the client's public key is the credential. Socket thread only.
"""

from __future__ import annotations

import os
import socket
import struct
from collections import OrderedDict
from typing import Any

import zmq

_CACHE = 1024  # connections remembered (a lookup reads /proc once per connection)


class PeerCredentials:
    def __init__(self) -> None:
        self._known: OrderedDict[tuple[Any, ...], int | None] = OrderedDict()

    def uid(self, frame: Any) -> int | None:
        """The uid of the process that sent ``frame`` (a zmq.Frame received with copy=False)."""
        try:
            fd = frame.get(zmq.SRCFD)
        except (zmq.ZMQError, AttributeError, TypeError, ValueError):
            return None
        if not isinstance(fd, int) or fd < 0:
            return None
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            return None
        with sock:
            try:
                if sock.family == socket.AF_UNIX:
                    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                            struct.calcsize("3i"))
                    return struct.unpack("3i", creds)[1]
                if sock.family not in (socket.AF_INET, socket.AF_INET6):
                    return None
                key = (fd, sock.family, sock.getpeername()[:2], sock.getsockname()[:2])
            except OSError:
                return None
        if key not in self._known:
            self._known[key] = _tcp_owner(*key[1:])
            while len(self._known) > _CACHE:
                self._known.popitem(last=False)
        return self._known[key]


def _hex_address(family: int, host: str, port: int) -> str:
    """An address as /proc/net/tcp writes it: each 32-bit word in host (little-endian) order."""
    raw = socket.inet_pton(family, host)
    words = "".join(f"{int.from_bytes(raw[i:i + 4], 'little'):08X}" for i in range(0, len(raw), 4))
    return f"{words}:{port:04X}"


def _tcp_owner(family: int, peer: tuple[str, int], local: tuple[str, int]) -> int | None:
    """The uid owning the socket at ``peer`` that is connected to ``local`` (ours), if the
    system lists it (it does for a peer on this machine)."""
    table = "/proc/net/tcp" if family == socket.AF_INET else "/proc/net/tcp6"
    theirs, ours = _hex_address(family, *peer), _hex_address(family, *local)
    try:
        with open(table, encoding="ascii") as f:
            next(f, None)
            for line in f:
                cols = line.split()
                if len(cols) > 7 and cols[1] == theirs and cols[2] == ours:
                    return int(cols[7])
    except (OSError, ValueError):
        return None
    return None
