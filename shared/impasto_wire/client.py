"""The client the GIMP plug-in, the command line and scripts share.

One DEALER socket, not thread-safe (use a Client from one thread). Every wait has a timeout.
While a job is active the client pings every ``ping_interval``, naming its jobs; the daemon
answers with their states and repeats the end of any that ended (so a client that was paused,
or whose connection dropped, still learns that its job was cancelled and why). The daemon
streams progress at least once a second, so more than ``dead_after`` seconds of silence while
the client was itself running means the daemon died or cannot be reached, and
``DaemonUnavailable`` says which, as far as the evidence goes (connection_watch.py).
``poll(0)`` never blocks, which suits a GTK main loop; ``events()``/``wait()`` suit scripts.

When nothing answers, the socket's monitor says what it probably is (connection_watch.py). The
events and styles live in events.py, the exceptions in client_errors.py; all are importable from
here too.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable

import zmq

from . import protocol as P
from .admin_token import read_token
from .client_errors import DaemonError, DaemonNotProven, DaemonUnavailable, JobCancelled
from .connection_watch import ConnectionWatch
from .curve import CurveClientKeys
from .daemon_proof import ProofCheck
from .endpoints import discover_endpoint
from .events import Event, Style, bytes_view, new_id
from .protocol import MessageType


class Client:
    """Talk to one daemon. ``with Client() as c: c.hello()``."""

    ping_interval = 1.0
    dead_after = 3.0

    def __init__(self, endpoint: str | None = None, *, timeout: float = 5.0,
                 curve: CurveClientKeys | None = None, context: zmq.Context | None = None,
                 name: str = "impasto-client",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = endpoint or discover_endpoint()
        #: every deadline and silence is read on this clock (tests drive a fake one); ZeroMQ's
        #: own wait for a message runs on real time, for as long as the clock says is left
        self._clock = clock
        self.timeout = timeout
        self.name = name
        self.welcome: dict[str, Any] | None = None
        self.limits: P.Limits | None = None
        self._own_ctx = context is None
        self._ctx = context or zmq.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 200)  # lets a final "bye" out, never hangs close()
        self._sock.setsockopt(zmq.IMMEDIATE, 1)  # don't queue for a daemon that isn't there
        # a fixed identity survives reconnects, so the daemon keeps routing our job's events
        self._sock.setsockopt(zmq.ROUTING_ID, b"c-" + uuid.uuid4().bytes)
        if curve is None:
            curve = CurveClientKeys.from_env()
        if curve is not None:
            curve.apply(self._sock)
        self._watch = ConnectionWatch(self._sock, self.endpoint, curve is not None)
        self._proof = ProofCheck(self.endpoint, curve is not None)
        self._sock.connect(self.endpoint)
        self._token: str | None = None  # read when first needed (TCP only)
        self._pending: deque[Event] = deque()
        self._inbox: deque[Event] = deque()  # events made from a pong's job states
        # job id -> when we last heard of it (submitted, an event), until its terminal event
        self._active: dict[str, float] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()  # recent terminal ids (de-duplicate)
        self._cancelling: set[str] = set()  # ids whose cancel awaits its answer
        self._last_heard = self._clock()
        self._last_ping = 0.0
        self._last_tick = self._clock()
        self._closed = False

    # --- requests -------------------------------------------------------------------------------

    def hello(self, timeout: float | None = None) -> dict[str, Any]:
        """Ask the daemon who it is; stores ``welcome`` and ``limits``. Raises DaemonUnavailable."""
        msg_id = new_id()
        challenge = self._proof.challenge()
        self._send(P.make_header(MessageType.HELLO, msg_id, client=self.name,
                                 challenge=challenge), (), timeout)
        try:
            ev = self._reply(msg_id, (MessageType.WELCOME,), timeout)
        except DaemonError as exc:
            self._proof.refused(exc)
            raise
        self._proof.check(ev.header)
        self._watch.welcomed(ev.header.get("pid"))
        self.welcome = ev.header
        self.limits = P.Limits.from_dict(ev.header.get("limits", {}))
        return ev.header

    def status(self, timeout: float | None = None) -> dict[str, Any]:
        """Daemon, device, models, queue, running job and memory. Other clients' job ids only
        for the daemon's own user (``admin`` true in the reply; ``hidden_jobs`` counts the
        rest)."""
        msg_id = new_id()
        self._proven(timeout)
        header = P.make_header(MessageType.STATUS, msg_id, token=self._admin_token())
        self._send(header, (), timeout)
        return self._reply(msg_id, (MessageType.STATUS_REPLY,), timeout).header

    def stop(self, timeout: float | None = None) -> dict[str, Any]:
        """Ask the daemon to shut down (only its own user may: ipc, or the token on TCP)."""
        msg_id = new_id()
        self._proven(timeout)
        self._send(P.make_header(MessageType.STOP, msg_id, token=self._admin_token()), (), timeout)
        return self._reply(msg_id, (MessageType.STOPPING,), timeout).header

    def echo(self, images: Sequence[tuple[P.Image, Any]], timeout: float | None = None) -> Event:
        """Diagnostic: send frames and get them back unchanged (protocol overhead, no work)."""
        msg_id = new_id()
        frames = [bytes_view(d, im.nbytes, f"image {i}") for i, (im, d) in enumerate(images)]
        self._proven(timeout)
        header = P.make_header(MessageType.ECHO, msg_id, images=[im.to_dict() for im, _ in images])
        self._send(header, frames, timeout)
        return self._reply(msg_id, (MessageType.ECHOED,), timeout)

    def submit(self, contents: Sequence[tuple[P.Image, Any]], styles: Sequence[Style],
               settings: Mapping[str, Any] | None = None, *, job_id: str | None = None,
               preview: int = 0, timeout: float | None = None) -> str:
        """Queue a stylize job and return its id once the daemon ``accepted`` it.

        ``contents``: (Image, pixels) per layer; ``styles``: Style objects. Reusing ``job_id``
        for a retry never runs the job twice. A refusal raises DaemonError; progress, result,
        error and cancelled then arrive through ``poll``/``events``/``wait``.
        """
        job_id = self._checked_id(job_id or new_id())
        frames: list[Any] = []
        for i, (im, data) in enumerate(contents):
            frames.append(bytes_view(data, im.nbytes, f"content {i}"))
        style_descs = []
        for i, st in enumerate(styles):
            frames.append(bytes_view(st.data, st.image.nbytes, f"style {i}"))
            d = st.image.to_dict()
            d["weight"] = float(st.weight)
            style_descs.append(d)
        header = P.make_header(MessageType.STYLIZE, job_id,
                               contents=[im.to_dict() for im, _ in contents],
                               styles=style_descs, settings=dict(settings or {}),
                               preview=int(preview) or None)
        self._check_local_limits(header, frames)
        self._proven(timeout)
        self._send(header, frames, timeout)
        already = job_id in self._active  # a retry of a job still running here
        self._active[job_id] = self._clock()
        self._ended.pop(job_id, None)
        # the answer: accepted or an error; or, for a retry of a job that already ended, its
        # replayed end (while the job is still active here, its own end is not the answer)
        answers = (MessageType.ACCEPTED, MessageType.ERROR) if already else \
            (MessageType.ACCEPTED, MessageType.ERROR, MessageType.RESULT, MessageType.CANCELLED)
        ev = self._wait(lambda e: e.job_id == job_id and e.type in answers,
                        self.timeout if timeout is None else timeout)
        if ev.type == MessageType.ERROR:
            if not already:
                self._active.pop(job_id, None)
            raise DaemonError(ev.header["code"], ev.header["message"], job_id)
        if ev.type != MessageType.ACCEPTED:  # a retry of a finished job: its outcome replayed
            self._pending.append(ev)
        return job_id

    def cancel(self, job_id: str, timeout: float | None = None) -> bool:
        """Cancel a queued or running job: this client's own, or (as the daemon's own user:
        ipc, or the token on TCP) anyone's. True once it stopped, False if unknown; DaemonError
        ``forbidden`` for another client's job without that proof."""
        self._checked_id(job_id)
        self._proven(timeout)
        header = P.make_header(MessageType.CANCEL, job_id, token=self._admin_token())
        self._send(header, (), timeout)
        # the answer is the next terminal message about the id, even when the job's own end
        # already arrived (kept for events()/wait(), or taken): the daemon then answers
        # unknown_job, which _recv would otherwise drop as a repeat (issue 19, item 14)
        self._cancelling.add(job_id)
        try:
            ev = self._wait(lambda e: e.job_id == job_id and e.type in P.TERMINAL_TYPES,
                            max(self.timeout, 10.0) if timeout is None else timeout)
        finally:
            self._cancelling.discard(job_id)
        if ev.type == MessageType.ERROR and ev.header.get("code") == P.UNKNOWN_JOB:
            return False
        if ev.type == MessageType.ERROR and ev.header.get("code") == P.FORBIDDEN:
            raise DaemonError(P.FORBIDDEN, ev.header.get("message", ""), job_id)
        if job_id in self._active and not self._terminal_pending(job_id):
            self._pending.append(ev)  # our own job: events()/wait() still see its end
        return ev.type == MessageType.CANCELLED

    # --- job events -----------------------------------------------------------------------------

    def poll(self, timeout: float = 0.0) -> Event | None:
        """The next job event (any job) within ``timeout`` seconds, else None. Never blocks longer.

        Raises DaemonUnavailable when a job is active and the daemon has been silent too long.
        """
        if self._pending:
            return self._take(self._pending.popleft())
        deadline = self._clock() + max(0.0, timeout)
        while True:
            self._keepalive()
            left = deadline - self._clock()
            step = min(left, self.ping_interval) if self._active else left
            ev = self._recv(max(step, 0.0))
            if ev is not None:
                return self._take(ev)
            if self._clock() >= deadline:
                return None

    def events(self, job_id: str, timeout: float | None = None) -> Iterator[Event]:
        """Yield ``job_id``'s events up to and including its terminal one.

        ``timeout`` bounds the whole job (None: as long as the daemon is alive and working).
        Events of other jobs stay queued for ``poll``.
        """
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            ev = self._pop_pending(job_id)
            if ev is None:
                if job_id not in self._active:
                    raise KeyError(f"job {job_id} is not active on this client")
                left = None if deadline is None else deadline - self._clock()
                if left is not None and left <= 0:
                    raise TimeoutError(f"job {job_id} did not finish within {timeout:.1f} s")
                ev = self._wait(lambda e: e.job_id == job_id and e.type != MessageType.PONG, None,
                                job_deadline=deadline)
            self._take(ev)
            yield ev
            if ev.terminal:
                return

    def wait(self, job_id: str, on_progress: Callable[[Event], None] | None = None,
             timeout: float | None = None) -> Event:
        """Block until ``job_id`` ends; return its ``result`` event.

        Raises JobCancelled, DaemonError (``code`` e.g. "oom"), DaemonUnavailable or TimeoutError.
        """
        for ev in self.events(job_id, timeout):
            if ev.type == MessageType.PROGRESS and on_progress is not None:
                on_progress(ev)
            elif ev.type == MessageType.RESULT:
                return ev
            elif ev.type == MessageType.CANCELLED:
                why = ev.header.get("reason", "cancel")
                detail = ev.header.get("message")
                text = f"job {job_id} was cancelled: {detail}" if detail else \
                    f"job {job_id} was cancelled ({why})"
                raise JobCancelled("cancelled", text, job_id, reason=why)
            elif ev.type == MessageType.ERROR:
                raise DaemonError(ev.header["code"], ev.header["message"], job_id)
        raise DaemonUnavailable(f"job {job_id} ended without a result")  # pragma: no cover

    # --- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Say goodbye (the daemon cancels our unfinished jobs) and release the socket."""
        if self._closed:
            return
        self._closed = True
        if self._active:
            try:
                bye = P.make_header(MessageType.BYE, new_id())
                self._sock.send(P.pack_header(bye), zmq.NOBLOCK)
            except zmq.ZMQError:
                pass
        self._watch.close()
        self._sock.close()
        if self._own_ctx:
            self._ctx.term()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def active_jobs(self) -> list[str]:
        return list(self._active)

    # --- internals ------------------------------------------------------------------------------

    def _admin_token(self) -> str | None:
        """The daemon's token for a loopback TCP endpoint (proof of being its user), if this
        user can read it; nothing on ipc, where the private folder is the proof. Sent only
        once the daemon proved it holds the same token (``_proven``)."""
        if self._token is None:
            self._token = read_token(self.endpoint)
        return self._token

    def _proven(self, timeout: float | None) -> None:
        """Before pixels or the token leave: the daemon behind a TCP endpoint of ours must have
        proved it is ours (a hello answered with the token's HMAC; daemon_proof.py), else
        DaemonNotProven and nothing is sent."""
        if self._proof.needed():
            self.hello(timeout)
            self._proof.require()

    def _checked_id(self, job_id: str) -> str:
        try:
            return P.check_id(job_id, "a job id")
        except P.ProtocolError as exc:
            raise DaemonError(exc.code, exc.message, "") from None

    def _send(self, header: dict[str, Any], frames: Sequence[Any], timeout: float | None) -> None:
        t = self.timeout if timeout is None else timeout
        if not self._sock.poll(int(t * 1000), zmq.POLLOUT):
            raise self._watch.unavailable(t)
        try:
            self._sock.send_multipart(P.encode(header, frames), flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            raise self._watch.unavailable(t) from None

    def _recv(self, timeout: float) -> Event | None:
        """One message within ``timeout`` s (pongs count as life: they are read for the states
        of our jobs and swallowed; a repeated end of a job we already saw end is dropped)."""
        if self._inbox:
            return self._inbox.popleft()
        if not self._sock.poll(int(timeout * 1000), zmq.POLLIN):
            return None
        parts = self._sock.recv_multipart(copy=False)
        self._last_heard = self._clock()
        try:
            msg = P.decode(parts, expect="reply")
        except P.ProtocolError as exc:
            raise DaemonError(exc.code,
                              f"unreadable reply from the daemon: {exc.message}") from None
        if msg.type == MessageType.PONG:
            self._job_states(msg.header.get("jobs") or {})
            return self._inbox.popleft() if self._inbox else None
        if msg.type in P.TERMINAL_TYPES and msg.id not in self._cancelling and (
                (msg.id in self._ended and msg.id not in self._active)
                or self._terminal_pending(msg.id)):
            return None  # told again in answer to a ping that crossed the first telling
        if msg.id in self._active:
            self._active[msg.id] = self._last_heard
        return Event(msg.type, msg.id, msg.header, msg.frames)

    def _terminal_pending(self, job_id: str) -> bool:
        return any(e.job_id == job_id and e.terminal for e in self._pending)

    def _job_states(self, states: Mapping[str, Any]) -> None:
        """A job of ours the daemon does not know (any more) will never end by itself."""
        for job_id, state in states.items():
            if state == "unknown" and job_id in self._active:
                self._inbox.append(Event(MessageType.ERROR, job_id, P.error_header(
                    job_id, P.UNKNOWN_JOB,
                    f"the impasto daemon at {self.endpoint} no longer knows job {job_id} (was "
                    "it restarted?); submit it again")))

    def _keepalive(self, check_alive: bool = True) -> None:
        """Ping every ``ping_interval`` while jobs are active (the daemon cancels the jobs of a
        client it stops hearing from); give up on the daemon after ``dead_after`` s of
        silence."""
        now = self._clock()
        if now - self._last_tick > self.dead_after:
            # we were not running (stopped, suspended, or the caller did not poll): silence
            # meanwhile says nothing about the daemon; ask about our jobs at once instead
            self._last_heard, self._last_ping = now, 0.0
        self._last_tick = now
        if not self._active:
            return
        quiet = now - self._last_heard
        if check_alive and quiet > self.dead_after:
            jobs = ", ".join(sorted(self._active))
            self._active.clear()
            raise self._watch.went_silent(quiet, jobs)
        if now - self._last_ping >= self.ping_interval:
            self._last_ping = now
            # name the jobs we have not heard of for a while (a live one hears at least once a
            # second): the daemon answers their states and repeats the end of an ended one
            jobs = [j for j, heard in self._active.items()
                    if now - heard > 2 * self.ping_interval and not self._terminal_pending(j)]
            jobs = jobs[:P.MAX_PING_JOBS] or None
            try:
                self._sock.send(P.pack_header(P.make_header(MessageType.PING, new_id(), jobs=jobs)),
                                zmq.NOBLOCK)
            except zmq.ZMQError:
                pass  # not connected any more: silence will tell

    def _wait(self, match: Callable[[Event], bool], timeout: float | None,
              job_deadline: float | None = None) -> Event:
        """Receive until ``match``; other events are kept for later.

        ``timeout`` None means: wait while the daemon is alive (job waits); otherwise raise
        DaemonUnavailable when it runs out."""
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            now = self._clock()
            if deadline is not None and now >= deadline:
                raise self._watch.unavailable(timeout or 0.0)
            if job_deadline is not None and now >= job_deadline:
                raise TimeoutError("the job did not finish in time")
            self._keepalive(check_alive=deadline is None)
            ends = [d for d in (deadline, job_deadline) if d is not None]
            step = min([self.ping_interval / 2] + [d - now for d in ends])
            ev = self._recv(max(step, 0.0))
            if ev is None:
                continue
            if match(ev):
                return ev
            self._pending.append(ev)

    def _pop_pending(self, job_id: str) -> Event | None:
        for i, ev in enumerate(self._pending):
            if ev.job_id == job_id:
                del self._pending[i]
                return ev
        return None

    def _take(self, ev: Event) -> Event:
        if ev.terminal:
            self._active.pop(ev.job_id, None)
            self._ended[ev.job_id] = None
            while len(self._ended) > 256:
                self._ended.popitem(last=False)
        return ev

    def _reply(self, msg_id: str, types: tuple[MessageType, ...], timeout: float | None) -> Event:
        ev = self._wait(lambda e: e.job_id == msg_id and e.type in (*types, MessageType.ERROR),
                        self.timeout if timeout is None else timeout)
        if ev.type == MessageType.ERROR:
            raise DaemonError(ev.header["code"], ev.header["message"], msg_id)
        return ev

    def _check_local_limits(self, header: dict[str, Any], frames: list[Any]) -> None:
        """Refuse locally what the daemon would refuse (or drop, past MAXMSGSIZE)."""
        if self.limits is None:
            return
        total = sum(memoryview(f).nbytes for f in frames)
        if total > self.limits.max_message_bytes:
            raise DaemonError(P.TOO_LARGE, f"the request is {total} bytes, the daemon accepts "
                              f"at most {self.limits.max_message_bytes}", header["id"])
        try:
            P.decode(P.encode(header), self.limits)
        except P.ProtocolError as exc:
            if exc.code != P.BAD_FRAMES:  # frames are checked above, not passed here
                raise DaemonError(exc.code, exc.message, header["id"]) from None


__all__ = ["Client", "DaemonError", "DaemonNotProven", "DaemonUnavailable", "Event",
           "JobCancelled", "Style", "new_id"]
