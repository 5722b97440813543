"""The socket loop: the only code that touches the ROUTER socket.

Every message is validated (``impasto_wire.protocol.decode``: header size, schema, limits, every
frame's length) before anything is allocated for it. hello, ping, status, cancel and stop are
answered at once; stylize is checked, queued and acknowledged — the work itself happens in the
worker threads, whose events arrive through the Outbox. The loop also keeps every job's client
informed at least once a second (a heartbeat progress) and cancels the jobs of clients that
vanished (explicit ``bye``, unreachable, or silent for ``client_timeout`` seconds).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import zmq

from impasto_wire import protocol as P
from impasto_wire.endpoints import is_loopback_address
from impasto_wire.progress import ProgressEvent

from ..engine import StyleSettings, StyleStats
from .images import probe_encoded, raw_pixels
from .jobs import QUEUED, RUNNING, FinishedJobs, Job, JobQueue, StyleInput
from .memory import memory_report
from .outbox import Outbox

log = logging.getLogger("impasto.daemon.router")

HEARTBEAT = 1.0  # seconds: every job's client hears from us at least this often
POLL_MS = 100
MAX_READS_PER_ROUND = 64

# why a job was cancelled -> whether a retried submit with the same id replays that outcome
_CANCEL_IS_FINAL = {"cancel": True, "client_gone": False, "bye": False}


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


class Router:
    def __init__(self, sock: zmq.Socket, outbox: Outbox, queue: JobQueue, limits: P.Limits,
                 info: DaemonInfo, *, client_timeout: float = 10.0, local_transport: bool = True,
                 extra_status: Callable[[], dict[str, Any]] | None = None) -> None:
        self.sock, self.outbox, self.queue = sock, outbox, queue
        self.limits, self.info = limits, info
        self.client_timeout = client_timeout
        self.local_transport = local_transport
        self.extra_status = extra_status or dict
        self.jobs: dict[str, Job] = {}  # queued or running, by id
        self.finished = FinishedJobs()
        self.last_seen: dict[bytes, float] = {}
        self.counters = {"completed": 0, "failed": 0, "cancelled": 0}
        self._gone: set[bytes] = set()
        self._retry: list[tuple[bytes, list[Any], float]] = []
        self._stop_requested = False
        self.stopping = False
        self._stop_deadline = 0.0

    # --- lifetime -------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Safe from a signal handler: the loop notices within one poll interval."""
        self._stop_requested = True

    def serve(self, shutdown_grace: float = 10.0) -> None:
        """Run until a stop was requested and the running job ended (or ``shutdown_grace``)."""
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        poller.register(self.outbox.fileno(), zmq.POLLIN)
        while True:
            if self._stop_requested and not self.stopping:
                self._begin_shutdown(shutdown_grace)
            if self.stopping and (not self.jobs or time.monotonic() > self._stop_deadline):
                break
            ready = dict(poller.poll(POLL_MS))
            if self.sock in ready:
                self._read_socket()
            if self.outbox.fileno() in ready:
                for item in self.outbox.drain():
                    self._on_worker_event(item)
            self._tick(time.monotonic())
        self._flush_retries()

    def _begin_shutdown(self, grace: float) -> None:
        log.info("shutting down: %d queued job(s) dropped, %d running cancelled",
                 len(self.queue), sum(j.state == RUNNING for j in self.jobs.values()))
        self.stopping = True
        self._stop_deadline = time.monotonic() + grace
        for job in self.queue.drain():
            self._end(job, P.error_header(job.id, P.SHUTTING_DOWN,
                                          "the daemon is shutting down; the job did not run"))
        for job in self.jobs.values():
            job.request_cancel("shutdown")

    # --- socket side ----------------------------------------------------------------------------

    def _read_socket(self) -> None:
        for _ in range(MAX_READS_PER_ROUND):
            try:
                parts = self.sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            if len(parts) < 2:
                continue
            identity = parts[0].bytes
            self.last_seen[identity] = time.monotonic()
            try:
                self._handle(identity, parts[1:])
            except Exception as exc:  # a bug must not take the daemon down with it
                log.exception("while handling a message")
                self._send(identity, P.error_header("", P.INTERNAL, f"{type(exc).__name__}: {exc}"))

    def _handle(self, identity: bytes, parts: Sequence[Any]) -> None:
        try:
            msg = P.decode(parts, self.limits)
        except P.ProtocolError as exc:
            log.info("refused a message: %s", exc)
            self._send(identity, P.error_header(exc.job_id, exc.code, exc.message))
            return
        t = msg.type
        if t == P.PING:
            self._send(identity, P.make_header(P.PONG, msg.id))
        elif t == P.HELLO:
            self._send(identity, self._welcome(msg.id))
        elif t == P.STATUS:
            self._send(identity, self._status(msg.id))
        elif t == P.STYLIZE:
            self._submit(identity, msg)
        elif t == P.CANCEL:
            self._cancel(msg.id, identity)
        elif t == P.BYE:
            self._client_gone(identity, "bye")
        elif t == P.ECHO:
            self._send(identity, P.make_header(P.ECHOED, msg.id, images=msg.header["images"]),
                       list(parts[1:]))
        elif t == P.STOP:
            if self._is_local(parts[0]):
                self._send(identity, P.make_header(P.STOPPING, msg.id))
                log.info("stop requested by a client")
                self.request_stop()
            else:
                self._send(identity, P.error_header(
                    msg.id, P.FORBIDDEN, "stop is only accepted from this machine"))

    def _send(self, identity: bytes, header: dict[str, Any], frames: Sequence[Any] = (),
              terminal: bool = False) -> bool:
        parts = [identity, P.pack_header(header), *frames]
        try:
            self.sock.send_multipart(parts, flags=zmq.NOBLOCK, copy=False)
            return True
        except zmq.ZMQError as exc:
            if exc.errno == zmq.EHOSTUNREACH:
                self._gone.add(identity)
            elif exc.errno == zmq.EAGAIN and terminal:
                self._retry.append((identity, parts, time.monotonic() + self.client_timeout))
            else:
                log.debug("dropped a %s message: %s", header.get("type"), exc)
            return False

    def _is_local(self, frame: Any) -> bool:
        if self.local_transport:
            return True
        try:
            return is_loopback_address(frame.get("Peer-Address"))
        except (zmq.ZMQError, AttributeError):
            return False

    # --- requests -------------------------------------------------------------------------------

    def _welcome(self, msg_id: str) -> dict[str, Any]:
        i = self.info
        return P.make_header(
            P.WELCOME, msg_id, daemon_version=i.daemon_version, protocol=P.PROTOCOL_VERSION,
            device=i.device, devices=i.devices, models=i.models, limits=self.limits.to_dict(),
            encodings=list(P.ENCODINGS), pid=i.pid,
        )

    def _status(self, msg_id: str) -> dict[str, Any]:
        now = time.monotonic()
        running = [j for j in self.jobs.values() if j.state == RUNNING]
        queued = [j.id for j in self.jobs.values() if j.state == QUEUED]
        i = self.info
        return P.make_header(
            P.STATUS_REPLY, msg_id, daemon_version=i.daemon_version, protocol=P.PROTOCOL_VERSION,
            pid=i.pid, uptime=now - i.started, endpoint=i.endpoint, device=i.device,
            devices=i.devices, models=i.models, queue_length=len(queued), queued=queued,
            running=[self._running_summary(j, now) for j in running],
            memory=memory_report(i.device), jobs=dict(self.counters),
            clients=sum(now - t < self.client_timeout for t in self.last_seen.values()),
            limits=self.limits.to_dict(), stopping=self.stopping, **self.extra_status(),
        )

    def _running_summary(self, job: Job, now: float) -> dict[str, Any]:
        p = job.progress or ProgressEvent()
        return {
            "id": job.id, "stage": p.stage, "layer": p.layer, "layers": job.layers,
            "fraction": p.fraction, "scale": p.scale, "scales": p.scales, "step": p.step,
            "steps": p.steps, "elapsed": now - (job.started or now),
        }

    def _submit(self, identity: bytes, msg: P.Message) -> None:
        job_id = msg.id
        if self.stopping:
            self._send(identity, P.error_header(job_id, P.SHUTTING_DOWN, "the daemon is stopping"))
            return
        job = self.jobs.get(job_id)
        if job is not None:  # a retry: the job runs once, its events go to the latest sender
            job.owner = identity
            self._send(identity, P.make_header(P.ACCEPTED, job_id, position=self._ahead(job),
                                               duplicate=True))
            return
        done = self.finished.get(job_id)
        if done is not None:
            self._send(identity, P.make_header(P.ACCEPTED, job_id, position=0, duplicate=True))
            self._send(identity, done.header, done.frames, terminal=True)
            return
        if self.finished.forgotten(job_id):
            self._send(identity, P.error_header(
                job_id, P.BAD_REQUEST,
                f"job {job_id} already ran and its result is no longer kept; use a new id"))
            return
        if len(self.queue) >= self.limits.max_queue:
            self._send(identity, P.error_header(
                job_id, P.BUSY, f"the queue is full ({self.limits.max_queue} jobs); try later"))
            return
        try:
            job = self._make_job(identity, msg)
        except P.ProtocolError as exc:
            self._send(identity, P.error_header(job_id, exc.code, exc.message))
            return
        self.jobs[job_id] = job
        ahead = self.queue.put(job) + sum(j.state == RUNNING for j in self.jobs.values())
        log.info("job %s accepted: %d layer(s), %d style(s), %s, %d ahead", job_id, job.layers,
                 len(job.styles), job.settings.model, ahead)
        self._send(identity, P.make_header(P.ACCEPTED, job_id, position=ahead))

    def _make_job(self, identity: bytes, msg: P.Message) -> Job:
        h = msg.header
        contents_d, styles_d = h["contents"], h["styles"]
        settings = dict(h.get("settings", {}))
        weights = [float(d.get("weight", 1.0)) for d in styles_d]
        if "style_blend" not in settings and any(w != 1.0 for w in weights):
            settings["style_blend"] = weights
        try:
            st = StyleSettings.from_dict(settings)
            st.blend_for(len(styles_d))
        except ValueError as exc:
            raise P.ProtocolError(P.BAD_REQUEST, str(exc)) from None
        if st.model not in self.info.model_names:
            raise P.ProtocolError(
                P.BAD_REQUEST, f"model {st.model} is not loaded by this daemon (loaded: "
                f"{', '.join(sorted(self.info.model_names))}); start it with --model "
                f"{','.join(sorted(self.info.model_names | {st.model}))}")
        frames = msg.frames
        contents = [raw_pixels(P.image_from_dict(d), f) for d, f in zip(contents_d, frames)]
        styles = []
        for d, f in zip(styles_d, frames[len(contents_d):]):
            im = P.image_from_dict(d)
            if isinstance(im, P.EncodedImage):
                probe_encoded(f, im.encoding, self.limits.max_pixels)
                styles.append(StyleInput(encoding=im.encoding, encoded=f))
            else:
                styles.append(StyleInput(pixels=raw_pixels(im, f)))
        return Job(id=msg.id, owner=identity, contents=contents, styles=styles, settings=st,
                   preview=int(h.get("preview", 0)), parts=msg.parts, layers=len(contents))

    def _ahead(self, job: Job) -> int:
        if job.state != QUEUED:
            return 0
        return self.queue.position(job) + sum(j.state == RUNNING for j in self.jobs.values())

    def _cancel(self, job_id: str, requester: bytes, reason: str = "cancel") -> None:
        job = self.jobs.get(job_id)
        if job is None:
            ran = self.finished.get(job_id) is not None or self.finished.forgotten(job_id)
            self._send(requester, P.error_header(
                job_id, P.UNKNOWN_JOB,
                f"job {job_id} is not queued or running"
                + (" (it already finished)" if ran else "")))
            return
        if requester != job.owner:
            job.cancellers.add(requester)
        if self.queue.remove(job):
            job.cancel_reason = reason
            self._end_cancelled(job)
        else:
            job.request_cancel(reason)

    def _client_gone(self, identity: bytes, reason: str) -> None:
        """Its jobs are cancelled: nobody would receive the results."""
        for job in [j for j in self.jobs.values() if j.owner == identity]:
            log.info("job %s: client gone (%s), cancelling", job.id, reason)
            if self.queue.remove(job):
                job.cancel_reason = "client_gone"
                self._end_cancelled(job)
            else:
                job.request_cancel("client_gone")
        self.last_seen.pop(identity, None)

    # --- worker side ----------------------------------------------------------------------------

    def _on_worker_event(self, item: tuple) -> None:
        kind, job = item[0], item[1]
        if self.jobs.get(job.id) is not job:
            return  # already ended (cancelled while queued, shutdown)
        if kind == "started":
            log.info("job %s started", job.id)
            self._progress(job, ProgressEvent(stage="starting"))
        elif kind == "progress":
            self._engine_progress(job, item[2])
        elif kind == "result":
            self._result(job, item[2], item[3])
        elif kind == "error":
            log.info("job %s failed: %s: %s", job.id, item[2], item[3])
            self.counters["failed"] += 1
            self._end(job, P.error_header(job.id, item[2], item[3]), record=True)
        elif kind == "cancelled":
            self._end_cancelled(job)

    def _engine_progress(self, job: Job, event: ProgressEvent) -> None:
        frames: list[Any] = []
        preview = None
        if job.preview and event.preview is not None:
            pv = event.preview
            preview = P.Image(pv.shape[1], pv.shape[0], pv.shape[2]).to_dict()
            frames.append(pv)
        self._progress(job, event, frames, preview=preview)

    def _progress(self, job: Job, event: ProgressEvent, frames: Sequence[Any] = (),
                  heartbeat: bool = False, preview: dict[str, Any] | None = None) -> None:
        now = time.monotonic()
        event = dataclasses.replace(event, layers=job.layers, heartbeat=heartbeat,
                                    elapsed=now - (job.started or job.submitted), preview=None)
        if not heartbeat:
            job.progress = event
        job.last_sent = now
        header = P.make_header(P.PROGRESS, job.id, **event.to_header(), preview=preview)
        self._send(job.owner, header, frames)

    def _result(self, job: Job, images: list[Any], stats: list[StyleStats]) -> None:
        header = P.make_header(
            P.RESULT, job.id,
            images=[P.Image(a.shape[1], a.shape[0], a.shape[2]).to_dict() for a in images],
            stats=[_plain(dict(dataclasses.asdict(s),
                               peak_bytes_per_megapixel=s.peak_bytes_per_megapixel))
                   for s in stats],
            seconds=time.monotonic() - (job.started or job.submitted),
        )
        log.info("job %s done in %.2f s", job.id, header["seconds"])
        self.counters["completed"] += 1
        for other in job.cancellers:
            self._send(other, P.error_header(job.id, P.UNKNOWN_JOB,
                                             f"job {job.id} finished before it could be cancelled"))
        job.cancellers.clear()
        self._end(job, header, images, record=True)

    def _end_cancelled(self, job: Job) -> None:
        reason = job.cancel_reason or "cancel"
        self.counters["cancelled"] += 1
        log.info("job %s cancelled (%s)", job.id, reason)
        if reason == "shutdown":
            header = P.error_header(job.id, P.SHUTTING_DOWN,
                                    "the daemon is shutting down; the job was cancelled")
        else:
            header = P.make_header(P.CANCELLED, job.id, reason=reason)
        self._end(job, header, record=_CANCEL_IS_FINAL.get(reason, False),
                  to_owner=reason not in ("client_gone", "bye"))

    def _end(self, job: Job, header: dict[str, Any], frames: Sequence[Any] = (),
             record: bool = False, to_owner: bool = True) -> None:
        """Deliver a job's terminal message and forget the job (keeping the outcome if asked)."""
        self.jobs.pop(job.id, None)
        if to_owner:
            self._send(job.owner, header, frames, terminal=True)
        for other in job.cancellers:
            self._send(other, header, terminal=True)
        if record:
            self.finished.add(job.id, header, list(frames))

    # --- housekeeping ---------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        for identity in list(self._gone):
            self._client_gone(identity, "unreachable")
        self._gone.clear()
        for job in list(self.jobs.values()):
            seen = self.last_seen.get(job.owner, job.submitted)
            if now - seen > self.client_timeout and job.cancel_reason is None:
                self._client_gone(job.owner, f"silent for {now - seen:.0f} s")
                continue
            if now - job.last_sent >= HEARTBEAT and job.cancel_reason != "client_gone":
                if job.state == QUEUED:
                    self._progress(job, ProgressEvent(stage="queued", position=self._ahead(job)),
                                   heartbeat=True)
                elif job.state == RUNNING:
                    self._progress(job, job.progress or ProgressEvent(), heartbeat=True)
        if self._retry:
            self._flush_retries()
        if len(self.last_seen) > 1024:  # forget long-gone clients that own nothing
            owners = {j.owner for j in self.jobs.values()}
            for identity, t in list(self.last_seen.items()):
                if identity not in owners and now - t > 10 * self.client_timeout:
                    del self.last_seen[identity]

    def _flush_retries(self) -> None:
        pending, self._retry = self._retry, []
        now = time.monotonic()
        for identity, parts, deadline in pending:
            try:
                self.sock.send_multipart(parts, flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                if now < deadline:
                    self._retry.append((identity, parts, deadline))
            except zmq.ZMQError:
                pass


def _plain(value: Any) -> Any:
    """Tuples to lists, numpy scalars to Python numbers: what msgpack can carry."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value
