"""Jobs and their queue: what was asked, who asked, and where each job stands.

The socket thread creates jobs and owns their bookkeeping; workers take them from the queue.
Both sides meet only in ``JobQueue`` (a lock) and in ``Job.cancel`` (an Event), so a cancel
reaches a queued job (removed) or a running one (the engine stops within one iteration).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from impasto_wire.progress import ProgressEvent

from ..engine import StyleSettings

QUEUED, RUNNING, DONE = "queued", "running", "done"


@dataclass
class StyleInput:
    """A style image as it arrived: raw pixels (``pixels``) or an encoded file (``encoded``)."""

    pixels: np.ndarray | None = None
    encoding: str | None = None
    encoded: memoryview | None = None


@dataclass
class Job:
    id: str
    owner: bytes  # ZeroMQ routing id of the client that gets the progress and the result
    contents: list[np.ndarray]
    styles: list[StyleInput]
    settings: StyleSettings
    preview: int = 0
    layers: int = 1
    parts: Sequence[Any] = ()  # the received zmq frames the arrays above point into
    cancel: threading.Event = field(default_factory=threading.Event)
    cancel_reason: str | None = None
    cancellers: set[bytes] = field(default_factory=set)  # other clients waiting for the cancel
    state: str = QUEUED
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    progress: ProgressEvent | None = None  # last progress state sent (heartbeats repeat it)
    last_sent: float = field(default_factory=time.monotonic)

    def request_cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.cancel.set()

    def release_inputs(self) -> None:
        """Drop the pixel buffers as soon as they are no longer needed."""
        self.contents, self.styles, self.parts = [], [], ()


class JobQueue:
    """FIFO shared by the socket thread and the worker threads."""

    def __init__(self) -> None:
        self._items: deque[Job] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, job: Job) -> int:
        """Append; returns how many jobs are ahead of it in the queue."""
        with self._cond:
            self._items.append(job)
            self._cond.notify()
            return len(self._items) - 1

    def get(self, timeout: float) -> Job | None:
        """Next job for a worker, marked running; None on timeout or when closed."""
        with self._cond:
            deadline = time.monotonic() + timeout
            while not self._items and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    break
            if self._closed or not self._items:
                return None
            job = self._items.popleft()
            job.state, job.started = RUNNING, time.monotonic()
            return job

    def remove(self, job: Job) -> bool:
        """Take a job out while still queued; False when a worker already has it."""
        with self._cond:
            try:
                self._items.remove(job)
            except ValueError:
                return False
            job.state = DONE
            return True

    def position(self, job: Job) -> int:
        with self._cond:
            try:
                return self._items.index(job)
            except ValueError:
                return 0

    def drain(self) -> list[Job]:
        """Remove and return every queued job (shutdown)."""
        with self._cond:
            items = list(self._items)
            self._items.clear()
            for job in items:
                job.state = DONE
            return items

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


@dataclass
class Finished:
    """A job's terminal message, kept so a retried submit replays it instead of re-running."""

    header: dict[str, Any]
    frames: list[Any]
    nbytes: int


class FinishedJobs:
    """Recent outcomes, bounded by count and bytes; older ids remain as tombstones."""

    def __init__(self, max_items: int = 16, max_bytes: int = 256 * 2**20,
                 max_tombstones: int = 4096) -> None:
        self.max_items, self.max_bytes, self.max_tombstones = max_items, max_bytes, max_tombstones
        self._items: OrderedDict[str, Finished] = OrderedDict()
        self._tombstones: OrderedDict[str, None] = OrderedDict()
        self._bytes = 0

    def add(self, job_id: str, header: dict[str, Any], frames: list[Any]) -> None:
        nbytes = sum(memoryview(f).nbytes for f in frames)
        self._items[job_id] = Finished(header, frames, nbytes)
        self._bytes += nbytes
        while self._items and (len(self._items) > self.max_items or self._bytes > self.max_bytes):
            old_id, old = self._items.popitem(last=False)
            self._bytes -= old.nbytes
            self._tombstones[old_id] = None
            while len(self._tombstones) > self.max_tombstones:
                self._tombstones.popitem(last=False)

    def get(self, job_id: str) -> Finished | None:
        return self._items.get(job_id)

    def forgotten(self, job_id: str) -> bool:
        """The job ran, but its outcome is no longer kept."""
        return job_id in self._tombstones
