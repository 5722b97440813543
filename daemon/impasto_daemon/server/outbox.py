"""Hand-off from worker threads to the socket thread, which alone touches the ROUTER socket.

A thread-safe queue plus a socketpair whose read end sits in the socket thread's zmq.Poller, so
a worker's event wakes the loop at once instead of waiting for its next poll timeout. What a
worker says about a job is one of the small messages below.
"""

from __future__ import annotations

import queue
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from ..engine import ProgressEvent, StyleStats
    from .jobs import Job


@dataclass(frozen=True)
class JobStarted:
    job: Job


@dataclass(frozen=True)
class JobProgress:
    job: Job
    event: ProgressEvent


@dataclass(frozen=True)
class JobFinished:
    job: Job
    images: list[np.ndarray]  # one RGBA image per content layer
    stats: list[StyleStats]


@dataclass(frozen=True)
class JobFailed:
    job: Job
    code: str  # one of impasto_wire.protocol.ERROR_CODES
    message: str


@dataclass(frozen=True)
class JobCancelled:
    job: Job


WorkerMessage = JobStarted | JobProgress | JobFinished | JobFailed | JobCancelled


class Outbox:
    def __init__(self) -> None:
        self._items: queue.SimpleQueue[WorkerMessage] = queue.SimpleQueue()
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)

    def put(self, item: WorkerMessage) -> None:
        """Callable from any thread."""
        self._items.put(item)
        try:
            self._write.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # the pipe is full: the socket thread is already due to wake up

    def fileno(self) -> int:
        return self._read.fileno()

    def drain(self) -> list[WorkerMessage]:
        """Everything queued so far (socket thread only)."""
        try:
            while self._read.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        items: list[Any] = []
        while True:
            try:
                items.append(self._items.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> None:
        self._read.close()
        self._write.close()
