"""What the daemon says about itself: the ``welcome`` to a hello and the ``status_reply``.

A running job is summarised by its last ``ProgressEvent`` (the one its client last heard), so
``status`` and the progress stream show the same fields, written once in progress.py.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from impasto_wire import daemon_proof
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType

from .clients import ClientLiveness
from .job_table import JobTable, LiveJob
from .jobs import Requester
from .memory_report import memory_report


@dataclass
class DaemonInfo:
    """What the daemon says about itself in ``welcome`` and ``status``."""

    daemon_version: str
    device: str
    devices: list[str]
    models: list[dict[str, Any]]  # name, label, source, random
    endpoint: str
    pid: int = field(default_factory=os.getpid)
    started: float = field(default_factory=time.monotonic)

    @property
    def model_names(self) -> set[str]:
        return {m["name"] for m in self.models}


def welcome_header(msg_id: str, info: DaemonInfo, limits: P.Limits, token: str | None = None,
                   challenge: bytes | None = None) -> dict[str, Any]:
    """With a hello's ``challenge`` and our TCP ``token``: a nonce and the proof that we hold
    the token (daemon_proof.py); nothing on ipc, where no token exists and none is needed."""
    proof: dict[str, bytes] = {}
    if challenge is not None and token is not None and daemon_proof.valid_nonce(challenge):
        nonce = daemon_proof.new_nonce()
        proof = {"nonce": nonce, "proof": daemon_proof.answer(token, challenge, nonce)}
    return P.make_header(
        MessageType.WELCOME, msg_id, daemon_version=info.daemon_version,
        protocol=P.PROTOCOL_VERSION, device=info.device, devices=info.devices,
        models=info.models, limits=limits.to_dict(), encodings=list(P.ENCODINGS), pid=info.pid,
        **proof,
    )


def running_summary(view: LiveJob, now: float) -> dict[str, Any]:
    """One running job: its id and its last progress, with the time it has run so far."""
    job = view.job
    event = dataclasses.replace(job.last_progress, elapsed=now - (view.started or now))
    return {"id": job.id, **event.to_header()}


def status_header(msg_id: str, who: Requester, info: DaemonInfo, limits: P.Limits,
                  table: JobTable, clients: ClientLiveness, *, now: float, stopping: bool,
                  extra: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The daemon, its device and memory, and the jobs ``who`` may see (all of them for the
    daemon's own user; ``hidden_jobs`` counts the others). ``now`` is the router's clock, the
    one the clients' and jobs' times were taken with."""
    running, queued = table.visible(who)
    return P.make_header(
        MessageType.STATUS_REPLY, msg_id, daemon_version=info.daemon_version,
        protocol=P.PROTOCOL_VERSION, pid=info.pid, uptime=now - info.started,
        endpoint=info.endpoint, device=info.device, devices=info.devices, models=info.models,
        queue_length=table.queue_length(), queued=[v.job.id for v in queued],
        running=[running_summary(v, now) for v in running],
        admin=who.admin, hidden_jobs=len(table) - len(running) - len(queued),
        memory=memory_report(info.device), jobs=table.counters.as_dict(),
        queued_bytes=table.held_bytes, clients=clients.alive(now),
        limits=limits.to_dict(), stopping=stopping, **extra(),
    )
