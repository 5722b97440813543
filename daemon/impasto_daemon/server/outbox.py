"""Hand-off from worker threads to the socket thread, which alone touches the ROUTER socket.

A thread-safe queue plus a socketpair whose read end sits in the socket thread's zmq.Poller, so
a worker's event wakes the loop at once instead of waiting for its next poll timeout.
"""

from __future__ import annotations

import queue
import socket
from typing import Any


class Outbox:
    def __init__(self) -> None:
        self._items: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)

    def put(self, item: Any) -> None:
        """Callable from any thread."""
        self._items.put(item)
        try:
            self._write.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # the pipe is full: the socket thread is already due to wake up

    def fileno(self) -> int:
        return self._read.fileno()

    def drain(self) -> list[Any]:
        """Everything queued so far (socket thread only)."""
        try:
            while self._read.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        items = []
        while True:
            try:
                items.append(self._items.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> None:
        self._read.close()
        self._write.close()
