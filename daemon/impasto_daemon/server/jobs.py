"""A job: what was asked, who asked, and where it stands.

Jobs are created by the socket thread and change state only inside ``JobTable``
(job_table.py), under its lock; a worker sees a job only after ``JobTable.next_job`` handed it
over, and a cancel reaches it through ``Job.cancel`` (an Event the engine checks every step).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from impasto_wire.progress import ProgressEvent

from ..engine import StyleSettings

QUEUED, RUNNING, DONE = "queued", "running", "done"


@dataclass(frozen=True)
class Requester:
    """Who sent a message: the routing id of its connection, the CurveZMQ public key it
    authenticated with (None without CURVE), and whether it proved to be the daemon's own user
    (ipc in the private folder, or the token of the 0600 token file)."""

    identity: bytes
    key: str | None = None
    admin: bool = False


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
    key: str | None = None  # the owner's CurveZMQ public key, if any
    digest: bytes = b""  # of the request (header + frames): a retry must be the same request
    nbytes: int = 0  # payload bytes this job holds until it ends (the queued-bytes limit)
    preview: int = 0
    layers: int = 1
    parts: Sequence[Any] = ()  # the received zmq frames the arrays above point into
    cancel: threading.Event = field(default_factory=threading.Event)
    cancel_reason: str | None = None
    cancel_detail: str = ""  # for people: why, e.g. "this client was silent for 12 s"
    cancellers: set[bytes] = field(default_factory=set)  # other clients waiting for the cancel
    state: str = QUEUED
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    progress: ProgressEvent | None = None  # last progress state sent (heartbeats repeat it)
    last_sent: float = field(default_factory=time.monotonic)

    def request_cancel(self, reason: str, detail: str = "") -> None:
        if self.cancel_reason is None:
            self.cancel_reason, self.cancel_detail = reason, detail
        self.cancel.set()

    def release_inputs(self) -> None:
        """Drop the pixel buffers as soon as they are no longer needed."""
        self.contents, self.styles, self.parts = [], [], ()
