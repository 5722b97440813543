"""The socket loop: the only code that touches the ROUTER socket. It decodes, dispatches and
sends; who owns which job and what state it is in belongs to the JobTable.

Every message is validated (``impasto_wire.protocol.decode``: header size, schema, limits, every
frame's length) before anything is allocated for it. hello, ping, status, cancel and stop are
answered at once; stylize is checked, queued and acknowledged — the work itself happens in the
worker threads, whose messages arrive through the Outbox. The loop also keeps every job's client
informed at least once a second (a heartbeat progress) and cancels the jobs of clients that
vanished (explicit ``bye``, unreachable, or silent for ``client_timeout`` seconds: see
clients.py) — telling them why, and telling them again when they ask (a ping naming the job, or
a retried submit). Jobs are built in jobs.py, the welcome and status in status.py.

Who may do what: on ipc (a 0700 folder) every peer is the daemon's user. On TCP a peer proves
that only with the token of the 0600 token file (admin_token.py); without it a peer sees and
cancels only its own jobs (same connection, or with CurveZMQ the same public key) and cannot
stop the daemon. The other way round, a hello's challenge is answered with the token's HMAC,
so a client knows it reached its own daemon before it sends pixels or the token
(daemon_proof.py).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import zmq

from impasto_wire import protocol as P
from impasto_wire.admin_token import token_matches
from impasto_wire.progress import ProgressEvent
from impasto_wire.protocol import MessageType

from .clients import ClientLiveness
from .job_table import Busy, CancelResult, Claim, JobTable, LiveJob
from .jobs import QUEUED, RUNNING, Job, Requester, build_job, request_digest, result_header
from .outbox import (
    JobCancelled,
    JobFailed,
    JobFinished,
    JobProgress,
    JobStarted,
    Outbox,
    WorkerMessage,
)
from .peers import PeerCredentials
from .status import DaemonInfo, status_header, welcome_header

if TYPE_CHECKING:
    from ..engine import StyleStats

log = logging.getLogger("impasto.daemon.router")

HEARTBEAT = 1.0  # seconds: every job's client hears from us at least this often
POLL_MS = 100
MAX_READS_PER_ROUND = 64
# after a stop, keep the socket open this long (answering) before closing it: a client whose
# connection closes drops the replies it has not read yet (ZMQ_IMMEDIATE), e.g. "stopping"
STOP_SETTLE = 0.5

# why a job was cancelled -> whether a retried submit with the same id replays that outcome
# (True) or runs the job again (False: it was cancelled only because its client was away)
_CANCEL_IS_FINAL = {"cancel": True, "client_gone": False, "bye": False, "shutdown": False}


class Router:
    def __init__(self, sock: zmq.Socket, outbox: Outbox, table: JobTable, limits: P.Limits,
                 info: DaemonInfo, *, client_timeout: float = 10.0, local_transport: bool = True,
                 token: str | None = None,
                 extra_status: Callable[[], dict[str, Any]] | None = None) -> None:
        """Every heartbeat, silence, retry and shutdown deadline, and the jobs built here, are
        timed on the table's clock (``JobTable.clock``), the one that stamps a job's start: one
        clock for all of a job's times, which a test drives by hand."""
        self.sock, self.outbox, self.table = sock, outbox, table
        self.clock = table.clock
        self.limits, self.info = limits, info
        self.client_timeout = client_timeout
        self.local_transport = local_transport  # ipc: every peer is the daemon's user
        self.token = token  # TCP: the content of the 0600 token file
        self.extra_status = extra_status or dict
        self.clients = ClientLiveness(client_timeout)
        self.peers = PeerCredentials()
        self._retry: list[tuple[bytes, list[Any], float]] = []
        self._stop_requested = False
        self.stopping = False
        self._stop_deadline = 0.0
        self._settle_until = 0.0

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
            now = self.clock()
            if self.stopping and (now > self._stop_deadline or (
                    not len(self.table) and now >= self._settle_until)):
                break
            ready = dict(poller.poll(POLL_MS))
            if self.sock in ready:
                self._read_socket()
            if self.outbox.fileno() in ready:
                for item in self.outbox.drain():
                    self._guarded_worker_message(item)
            self._tick(self.clock())
        self._flush_retries()

    def _begin_shutdown(self, grace: float) -> None:
        self.stopping = True
        now = self.clock()
        self._stop_deadline = now + grace
        self._settle_until = now + min(STOP_SETTLE, grace)
        queued = self.table.drain()
        log.info("shutting down: %d queued job(s) dropped, %d running cancelled",
                 len(queued), len(self.table) - len(queued))
        for job in queued:
            self._end_cancelled(job)

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
            self.clients.heard(identity, self.clock())
            try:
                self._handle(identity, parts[1:])
            except Exception as exc:  # a bug must not take the daemon down with it
                log.exception("while handling a message")
                self._send(identity, P.error_header("", P.INTERNAL, f"{type(exc).__name__}: {exc}"))

    def _requester(self, identity: bytes, first: Any, header: dict[str, Any]) -> Requester:
        try:
            key = first.get("User-Id")  # the z85 CurveZMQ public key the ZAP handler accepted
        except (zmq.ZMQError, AttributeError):
            key = None
        admin = self.local_transport or token_matches(header.get("token"), self.token)
        return Requester(identity, key or None, admin, self.peers.uid(first))

    def _handle(self, identity: bytes, parts: Sequence[Any]) -> None:
        try:
            msg = P.decode(parts, self.limits)
        except P.ProtocolError as exc:
            log.info("refused a message: %s", exc)
            self._send(identity, P.error_header(exc.job_id, exc.code, exc.message))
            return
        who = self._requester(identity, parts[0], msg.header)
        t = msg.type
        if t == MessageType.PING:
            self._ping(who, msg)
        elif t == MessageType.HELLO:
            self._send(identity, welcome_header(msg.id, self.info, self.limits, self.token,
                                                msg.header.get("challenge")))
        elif t == MessageType.STATUS:
            self._send(identity, status_header(
                msg.id, who, self.info, self.limits, self.table, self.clients,
                now=self.clock(), stopping=self.stopping, extra=self.extra_status))
        elif t == MessageType.STYLIZE:
            self._submit(who, msg)
        elif t == MessageType.CANCEL:
            self._cancel(msg.id, who)
        elif t == MessageType.BYE:
            self._client_gone(identity, "bye", "the client said goodbye")
        elif t == MessageType.ECHO:
            echoed = P.make_header(MessageType.ECHOED, msg.id, images=msg.header["images"])
            self._send(identity, echoed, list(parts[1:]))
        elif t == MessageType.STOP:
            if who.admin:
                self._send(identity, P.make_header(MessageType.STOPPING, msg.id))
                log.info("stop requested by a client")
                self.request_stop()
            else:
                self._send(identity, P.error_header(msg.id, P.FORBIDDEN, _NOT_ADMIN % "stop"))

    def _send(self, identity: bytes, header: dict[str, Any], frames: Sequence[Any] = (),
              terminal: bool = False) -> bool:
        parts = [identity, P.pack_header(header), *frames]
        try:
            self.sock.send_multipart(parts, flags=zmq.NOBLOCK, copy=False)
            return True
        except zmq.ZMQError as exc:
            if exc.errno == zmq.EHOSTUNREACH:
                self.clients.unreachable(identity)
            elif exc.errno == zmq.EAGAIN and terminal:
                self._retry.append((identity, parts, self.clock() + self.client_timeout))
            else:
                log.debug("dropped a %s message: %s", header.get("type"), exc)
            return False

    # --- requests -------------------------------------------------------------------------------

    def _ping(self, who: Requester, msg: P.Message) -> None:
        """Pong, with the state of each job asked about; a job of the asker's that has ended is
        told again (its terminal message first), so a client that missed it learns the outcome."""
        states: dict[str, str] = {}
        for job_id in msg.header.get("jobs", []):
            state, outcome = self.table.state_for(job_id, who)
            states[job_id] = state
            if outcome is not None:
                self._send(who.identity, outcome.header, outcome.frames, terminal=True)
        self._send(who.identity, P.make_header(MessageType.PONG, msg.id, jobs=states or None))

    def _submit(self, who: Requester, msg: P.Message) -> None:
        job_id, identity = msg.id, who.identity
        if self.stopping:
            self._send(identity, P.error_header(job_id, P.SHUTTING_DOWN, "the daemon is stopping"))
            return
        busy = self.table.busy_for_new(job_id, sum(len(f) for f in msg.frames))
        if busy is not None:  # before hashing: a burst is refused as fast as it arrives
            self._send(identity, P.error_header(job_id, P.BUSY, busy))
            return
        digest = request_digest(msg)
        claim = self.table.claim(job_id, who, digest)
        if claim.kind is Claim.DUPLICATE:  # a retry: the job runs once
            assert claim.job is not None
            self._send(identity, P.make_header(MessageType.ACCEPTED, job_id,
                                               position=self.table.ahead_of(claim.job),
                                               duplicate=True))
            return
        if claim.kind is Claim.REPLAY:
            assert claim.outcome is not None
            self._send(identity, P.make_header(MessageType.ACCEPTED, job_id, position=0,
                                               duplicate=True))
            self._send(identity, claim.outcome.header, claim.outcome.frames, terminal=True)
            return
        if claim.kind is Claim.REFUSED:
            log.info("job %s refused: %s", job_id, claim.message)
            self._send(identity, P.error_header(job_id, claim.code, claim.message))
            return
        try:
            job = build_job(who, msg, digest, self.limits.max_pixels, self.info.model_names,
                            now=self.clock())
            ahead = self.table.submit(job)
        except P.ProtocolError as exc:
            self._send(identity, P.error_header(job_id, exc.code, exc.message))
            return
        except Busy as exc:
            self._send(identity, P.error_header(job_id, P.BUSY, str(exc)))
            return
        log.info("job %s accepted: %d layer(s), %d style(s), %s, %d ahead", job_id, job.layers,
                 len(job.styles), job.settings.model, ahead)
        self._send(identity, P.make_header(MessageType.ACCEPTED, job_id, position=ahead))

    def _cancel(self, job_id: str, who: Requester) -> None:
        result, job = self.table.cancel(job_id, who)
        if result is CancelResult.UNKNOWN:
            state, _ = self.table.state_for(job_id, who)
            self._send(who.identity, P.error_header(
                job_id, P.UNKNOWN_JOB, f"job {job_id} is not queued or running"
                + (" (it already finished)" if state == "ended" else "")))
        elif result is CancelResult.FORBIDDEN:
            self._send(who.identity, P.error_header(
                job_id, P.FORBIDDEN, _NOT_ADMIN % "cancelling another client's job"))
        elif result is CancelResult.DEQUEUED:
            assert job is not None
            self._end_cancelled(job)

    def _client_gone(self, identity: bytes, reason: str, detail: str) -> None:
        """Its jobs are cancelled: nobody would receive the results."""
        for job in self.table.client_gone(identity, "bye" if reason == "bye" else "client_gone",
                                          detail):
            self._end_cancelled(job)
        self.clients.forget(identity)

    # --- worker side ----------------------------------------------------------------------------

    def _guarded_worker_message(self, item: WorkerMessage) -> None:
        """No worker message may end the daemon (a result msgpack cannot encode once did): the
        job's owner is told ``internal`` and the loop goes on."""
        try:
            self._on_worker_message(item)
        except Exception as exc:
            job = item.job
            log.exception("while delivering a worker's message for job %s", job.id)
            header = P.error_header(job.id, P.INTERNAL, "the daemon could not deliver this "
                                    f"job's {type(item).__name__}: {type(exc).__name__}: {exc}")
            try:
                if self.table.get(job.id) is job:
                    self._end(job, header, counter="failed", replay_on_submit=True)
                else:  # it ended on the way; its owner still waits for word
                    self._send(job.owner, header)
            except Exception:  # noqa: BLE001 - the daemon outlives a broken delivery
                log.exception("while failing job %s", job.id)

    def _on_worker_message(self, item: WorkerMessage) -> None:
        job = item.job
        if self.table.get(job.id) is not job:
            return  # already ended (cancelled while queued, shutdown)
        # set by JobTable.next_job before the worker's first message about the job
        started = job.started or job.submitted
        if isinstance(item, JobStarted):
            log.info("job %s started", job.id)
            self._progress(job, ProgressEvent(stage="starting"), since=started)
        elif isinstance(item, JobProgress):
            self._engine_progress(job, item.event, started)
        elif isinstance(item, JobFinished):
            self._result(job, item.images, item.stats, started)
        elif isinstance(item, JobFailed):
            log.info("job %s failed: %s: %s", job.id, item.code, item.message)
            self._end(job, P.error_header(job.id, item.code, item.message), counter="failed",
                      replay_on_submit=True)
        elif isinstance(item, JobCancelled):
            self._end_cancelled(job)

    def _engine_progress(self, job: Job, event: ProgressEvent, started: float) -> None:
        frames: list[Any] = []
        preview = None
        if job.preview and event.preview is not None:
            pv = event.preview
            preview = P.Image(pv.shape[1], pv.shape[0], pv.shape[2]).to_dict()
            frames.append(pv)
        self._progress(job, event, frames, since=started, preview=preview)

    def _progress(self, job: Job, event: ProgressEvent, frames: Sequence[Any] = (), *,
                  since: float, heartbeat: bool = False,
                  preview: dict[str, Any] | None = None) -> None:
        """Send ``event`` to the job's owner; ``since`` is when the job started (or was
        submitted, while it waits)."""
        now = self.clock()
        event = dataclasses.replace(event, layers=job.layers, heartbeat=heartbeat,
                                    elapsed=now - since, preview=None)
        if not heartbeat:
            job.progress = event
        job.last_sent = now
        header = P.make_header(MessageType.PROGRESS, job.id, **event.to_header(), preview=preview)
        self._send(job.owner, header, frames)

    def _result(self, job: Job, images: list[Any], stats: list[StyleStats],
                started: float) -> None:
        header = result_header(job.id, images, stats, seconds=self.clock() - started)
        log.info("job %s done in %.2f s", job.id, header["seconds"])
        for other in job.cancellers:
            self._send(other, P.error_header(job.id, P.UNKNOWN_JOB,
                                             f"job {job.id} finished before it could be cancelled"))
        job.cancellers.clear()
        self._end(job, header, images, counter="completed", replay_on_submit=True)

    def _end_cancelled(self, job: Job) -> None:
        reason = job.cancel_reason or "cancel"
        log.info("job %s cancelled (%s%s)", job.id, reason,
                 f": {job.cancel_detail}" if job.cancel_detail else "")
        if reason == "shutdown":
            header = P.error_header(job.id, P.SHUTTING_DOWN,
                                    "the daemon is shutting down; the job was cancelled")
        else:
            header = P.make_header(MessageType.CANCELLED, job.id, reason=reason,
                                   message=job.cancel_detail or None)
        self._end(job, header, counter="cancelled",
                  replay_on_submit=_CANCEL_IS_FINAL.get(reason, False),
                  to_owner=reason != "bye")

    def _end(self, job: Job, header: dict[str, Any], frames: Sequence[Any] = (), *,
             counter: str, replay_on_submit: bool, to_owner: bool = True) -> None:
        """End the job in the table (its outcome is kept for its owner) and deliver it."""
        if not self.table.finish(job, header, frames, counter=counter,
                                 replay_on_submit=replay_on_submit):
            return
        if to_owner:
            self._send(job.owner, header, frames, terminal=True)
        for other in job.cancellers:
            self._send(other, header, terminal=True)

    # --- housekeeping ---------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        for identity in self.clients.take_unreachable():
            self._client_gone(identity, "unreachable",
                              "the daemon cancelled it because it lost the connection to this "
                              "client")
        live = self.table.live()
        silent = self._silent_clients(live, now)
        for view in live:
            if view.job.owner not in silent:
                self._heartbeat(view, now)
        if self._retry:
            self._flush_retries()
        self.clients.prune(self.table.owners, now)

    def _silent_clients(self, live: list[LiveJob], now: float) -> set[bytes]:
        """Cancel the jobs of every client silent for longer than the client timeout."""
        silent: dict[bytes, float] = {}
        for view in live:
            if view.cancel_reason is None:
                quiet = self.clients.silence(view.job.owner, view.job.submitted, now)
                if quiet is not None:
                    silent.setdefault(view.job.owner, quiet)
        for owner, quiet in silent.items():
            self._client_gone(owner, "silent", (
                f"the daemon cancelled it because this client was silent for {quiet:.0f} s "
                f"(longer than the daemon's client timeout of {self.client_timeout:g} s; was "
                "the program paused or suspended?)"))
        return set(silent)

    def _heartbeat(self, view: LiveJob, now: float) -> None:
        """Repeat a job's state to its client when nothing was sent for HEARTBEAT seconds."""
        job = view.job
        if now - job.last_sent < HEARTBEAT or view.cancel_reason in ("client_gone", "bye"):
            return
        if view.state == QUEUED:
            self._progress(job, ProgressEvent(stage="queued", position=view.ahead),
                           since=job.submitted, heartbeat=True)
        elif view.state == RUNNING:
            self._progress(job, job.last_progress, since=view.started or job.submitted,
                           heartbeat=True)

    def _flush_retries(self) -> None:
        pending, self._retry = self._retry, []
        now = self.clock()
        for identity, parts, deadline in pending:
            try:
                self.sock.send_multipart(parts, flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                if now < deadline:
                    self._retry.append((identity, parts, deadline))
            except zmq.ZMQError:
                pass


_NOT_ADMIN = ("%s needs proof that you are the daemon's own user: on TCP the client sends the "
              "token the daemon wrote in its runtime folder (tcp-PORT.token, mode 0600), so run "
              "the command as that user on the daemon's machine")
