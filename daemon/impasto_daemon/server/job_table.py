"""The one owner of job state: live jobs, the queue, finished outcomes, counters, limits.

Every transition happens here under one lock: ``claim``/``submit`` (socket thread), ``next_job``
(workers: queued -> running), ``cancel``/``client_gone``/``drain`` (queued -> gone at once,
running -> asked to stop) and ``finish`` (any -> ended, outcome kept). The router only decodes,
dispatches and sends; the workers only compute.

A job id belongs to the client that first used it: a second submit with the same id is a retry
only from the same connection (routing id and the peer's user; with CurveZMQ also the same
public key) with the same request bytes; anyone else is refused with ``id_in_use``, and
outcomes are replayed only to their owner.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from impasto_wire import protocol as P

from ..bounded_cache import BoundedCache
from .jobs import QUEUED, RUNNING, Job, Requester

MAX_TOMBSTONES = 4096


@dataclass
class Outcome:
    """A job's terminal message, kept for its owner: a retry or a ping gets it again."""

    header: dict[str, Any]
    frames: list[Any]
    owner: bytes
    key: str | None
    digest: bytes
    replay_on_submit: bool  # False: a resubmit runs the job again (it never ran to its end)
    nbytes: int = 0
    peer: int | None = None


@dataclass
class _Tombstone:
    owner: bytes
    key: str | None
    peer: int | None = None


class Claim(enum.Enum):
    NEW = "new"  # never seen (or a retry of a job that must run again): build and submit it
    DUPLICATE = "duplicate"  # the same request is queued or running: acknowledge, run once
    REPLAY = "replay"  # the same request already ended: send its outcome again
    REFUSED = "refused"  # see ``ClaimResult.code``/``message``


@dataclass
class ClaimResult:
    kind: Claim
    job: Job | None = None
    outcome: Outcome | None = None
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class LiveJob:
    """A live job with the fields other threads change, read together under the table's lock."""

    job: Job
    state: str
    cancel_reason: str | None
    started: float | None
    ahead: int  # jobs ahead of it while queued, else 0


class CancelResult(enum.Enum):
    UNKNOWN = "unknown"
    FORBIDDEN = "forbidden"
    DEQUEUED = "dequeued"  # it never started: the caller ends it now
    REQUESTED = "requested"  # running: it stops within one step and the worker reports it


class Busy(Exception):
    """The queue is full, or the queued requests already hold too many bytes."""


@dataclass
class Counters:
    completed: int = 0
    failed: int = 0
    cancelled: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"completed": self.completed, "failed": self.failed, "cancelled": self.cancelled}


@dataclass
class JobTable:
    limits: P.Limits
    max_outcomes: int = 16
    max_outcome_bytes: int = 256 * 2**20
    counters: Counters = field(default_factory=Counters)
    #: the daemon's clock: it stamps ``Job.started``, and the router reads it for every other
    #: time of a job (submitted, last sent, heartbeats, client silence)
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._live: dict[str, Job] = {}  # queued or running, by id
        self._queue: deque[Job] = deque()
        self._held_bytes = 0
        self._closed = False
        self._tombstones: OrderedDict[str, _Tombstone] = OrderedDict()
        self._outcomes: BoundedCache[str, Outcome] = BoundedCache(
            self.max_outcome_bytes, lambda o: o.nbytes, max_items=self.max_outcomes,
            on_evict=self._bury)

    # --- submitting ---------------------------------------------------------------------------

    def claim(self, job_id: str, who: Requester, digest: bytes) -> ClaimResult:
        """Decide what a submit of ``job_id`` means before anything is built for it."""
        with self._lock:
            job = self._live.get(job_id)
            if job is not None:
                if _same_request(job.owner, job.key, job.peer, job.digest, who, digest):
                    return ClaimResult(Claim.DUPLICATE, job=job)
                return _in_use(job_id)
            done = self._outcomes.peek(job_id)
            if done is not None:
                if not _same_request(done.owner, done.key, done.peer, done.digest, who, digest):
                    return _in_use(job_id)
                if done.replay_on_submit:
                    return ClaimResult(Claim.REPLAY, outcome=done)
                self._outcomes.pop(job_id)  # it never ran to its end: run it again
                return ClaimResult(Claim.NEW)
            gone = self._tombstones.get(job_id)
            if gone is not None:
                if not _same_client(gone.owner, gone.key, gone.peer, who):
                    return _in_use(job_id)
                return ClaimResult(Claim.REFUSED, code=P.BAD_REQUEST, message=(
                    f"job {job_id} already ran and its result is no longer kept; use a new id"))
            return ClaimResult(Claim.NEW)

    def busy_for_new(self, job_id: str, nbytes: int) -> str | None:
        """Why a request of ``nbytes`` for an id this table has never seen cannot be queued
        now, else None: checked from the sizes before the request is hashed or built, so a
        burst of large requests is refused as fast as it arrives (issue 19, item 10). A retry of
        a known id goes on to ``claim`` (it may be a duplicate or get its outcome again)."""
        with self._lock:
            if job_id in self._live or job_id in self._tombstones \
                    or self._outcomes.peek(job_id) is not None:
                return None
            return self._busy(nbytes)

    def _busy(self, nbytes: int) -> str | None:
        lim = self.limits
        if len(self._queue) >= lim.max_queue:
            return f"the queue is full ({lim.max_queue} jobs); try again later"
        if self._live and self._held_bytes + nbytes > lim.max_queued_bytes:
            return (f"the daemon already holds {_mb(self._held_bytes)} of queued requests and "
                    f"this one adds {_mb(nbytes)}, over its limit of "
                    f"{_mb(lim.max_queued_bytes)}; try again when a job has finished")
        return None

    def submit(self, job: Job) -> int:
        """Queue ``job``; returns how many jobs are ahead of it. Raises Busy."""
        with self._lock:
            if job.id in self._live:  # claim() and submit() both run on the socket thread
                raise AssertionError(f"job {job.id} submitted twice")
            busy = self._busy(job.nbytes)
            if busy is not None:
                raise Busy(busy)
            self._tombstones.pop(job.id, None)
            self._live[job.id] = job
            self._queue.append(job)
            self._held_bytes += job.nbytes
            self._lock.notify()
            return len(self._queue) - 1 + self._running_count()

    # --- workers --------------------------------------------------------------------------------

    def next_job(self, timeout: float) -> Job | None:
        """The next queued job, now running; None on timeout or once closed."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._queue and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0 or not self._lock.wait(left):
                    break
            if self._closed or not self._queue:
                return None
            job = self._queue.popleft()
            job.state, job.started = RUNNING, self.clock()
            return job

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    # --- ending ---------------------------------------------------------------------------------

    def cancel(self, job_id: str, who: Requester, reason: str = "cancel",
               detail: str = "") -> tuple[CancelResult, Job | None]:
        """Cancel-or-dequeue, written once. Only the owner (same connection or same CurveZMQ
        key) or the daemon's own user (``who.admin``) may cancel a job."""
        with self._lock:
            job = self._live.get(job_id)
            if job is None:
                return CancelResult.UNKNOWN, None
            if not _may_see(job.owner, job.key, job.peer, who):
                return CancelResult.FORBIDDEN, None
            if who.identity != job.owner:
                job.cancellers.add(who.identity)
            return self._stop(job, reason, detail), job

    def client_gone(self, identity: bytes, reason: str, detail: str) -> list[Job]:
        """Cancel every job of a client that will not hear its results; returns those that never
        started (the caller ends them now); running ones stop within one step."""
        with self._lock:
            mine = [j for j in self._live.values() if j.owner == identity]
            return [j for j in mine if self._stop(j, reason, detail) is CancelResult.DEQUEUED]

    def drain(self) -> list[Job]:
        """Shutdown: every queued job is returned (to be ended), every running one cancelled."""
        with self._lock:
            queued = list(self._queue)
            for job in list(self._live.values()):
                self._stop(job, "shutdown", "")
            return queued

    def _stop(self, job: Job, reason: str, detail: str) -> CancelResult:
        if job.state == QUEUED:
            self._queue.remove(job)
            job.cancel_reason, job.cancel_detail = job.cancel_reason or reason, detail
            job.cancel.set()
            return CancelResult.DEQUEUED
        job.request_cancel(reason, detail)
        return CancelResult.REQUESTED

    def finish(self, job: Job, header: dict[str, Any], frames: Sequence[Any] = (), *,
               counter: str, replay_on_submit: bool) -> bool:
        """End ``job`` with its terminal message and keep that for its owner. False when the
        job had already ended (a late worker message after a cancel while queued)."""
        with self._lock:
            if self._live.get(job.id) is not job:
                return False
            del self._live[job.id]
            if job in self._queue:
                self._queue.remove(job)
            self._held_bytes -= job.nbytes
            setattr(self.counters, counter, getattr(self.counters, counter) + 1)
            frames = list(frames)
        nbytes = sum(memoryview(f).nbytes for f in frames)
        outcome = Outcome(header, frames, job.owner, job.key, job.digest, replay_on_submit, nbytes,
                          job.peer)
        if not self._outcomes.put(job.id, outcome):  # larger than the whole store
            self._bury(job.id, outcome)
        return True

    def _bury(self, job_id: str, outcome: Outcome) -> None:
        with self._lock:
            self._tombstones[job_id] = _Tombstone(outcome.owner, outcome.key, outcome.peer)
            while len(self._tombstones) > MAX_TOMBSTONES:
                self._tombstones.popitem(last=False)

    # --- reading --------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._live.get(job_id)

    def live(self) -> list[LiveJob]:
        with self._lock:
            return [self._view(j) for j in self._live.values()]

    def state_for(self, job_id: str, who: Requester) -> tuple[str, Outcome | None]:
        """What ``who`` may know about ``job_id``: queued/running/ended (with the outcome to
        replay) or unknown (never seen, forgotten, or someone else's)."""
        with self._lock:
            job = self._live.get(job_id)
            if job is not None and _may_see(job.owner, job.key, job.peer, who):
                return job.state, None
            done = self._outcomes.peek(job_id)
            if done is not None and _same_client(done.owner, done.key, done.peer, who):
                return "ended", done
            return "unknown", None

    def visible(self, who: Requester) -> tuple[list[LiveJob], list[LiveJob]]:
        """(running, queued) jobs ``who`` may see: all for the daemon's own user, else its own."""
        with self._lock:
            jobs = [j for j in self._live.values() if _may_see(j.owner, j.key, j.peer, who)]
            return ([self._view(j) for j in jobs if j.state == RUNNING],
                    [self._view(j) for j in self._queue if j in jobs])

    def ahead_of(self, job: Job) -> int:
        with self._lock:
            return self._ahead_of(job)

    def _ahead_of(self, job: Job) -> int:
        if job.state != QUEUED or job not in self._queue:
            return 0
        return self._queue.index(job) + self._running_count()

    def _view(self, job: Job) -> LiveJob:
        return LiveJob(job, job.state, job.cancel_reason, job.started, self._ahead_of(job))

    def owners(self) -> set[bytes]:
        with self._lock:
            return {j.owner for j in self._live.values()}

    @property
    def held_bytes(self) -> int:
        return self._held_bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._live)

    def queue_length(self) -> int:
        with self._lock:
            return len(self._queue)

    def running_count(self) -> int:
        with self._lock:
            return self._running_count()

    def _running_count(self) -> int:
        return sum(j.state == RUNNING for j in self._live.values())


def _same_client(owner: bytes, key: str | None, peer: int | None, who: Requester) -> bool:
    """The same connection's routing id, CurveZMQ key and user: an id presented by another
    user is not the owner's (issue 19, item 8)."""
    return owner == who.identity and key == who.key and peer == who.peer


def _same_request(owner: bytes, key: str | None, peer: int | None, digest: bytes,
                  who: Requester, new_digest: bytes) -> bool:
    return _same_client(owner, key, peer, who) and digest == new_digest


def _may_see(owner: bytes, key: str | None, peer: int | None, who: Requester) -> bool:
    return (who.admin or (owner == who.identity and peer == who.peer)
            or (key is not None and key == who.key))


def _in_use(job_id: str) -> ClaimResult:
    return ClaimResult(Claim.REFUSED, code=P.ID_IN_USE, message=(
        f"job id {job_id} is already used by another request; choose a new id (a retry must "
        "come from the same client with the same request)"))


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"
