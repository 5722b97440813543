"""The router's promises about time, on a clock the test moves by hand: every job's client hears
from the daemon at least once every HEARTBEAT seconds (a heartbeat progress repeating the job's
state), and a client silent for longer than ``client_timeout`` has its jobs cancelled.

A real Router, JobTable and Outbox on an ipc socket, with a real DEALER as the client, but no
worker and no ``serve()`` loop: the test calls the router's own steps (``_read_socket``,
``_guarded_worker_message``, ``_tick``) at the fake times it chooses. Real time only bounds the
waits for messages that must arrive; what did *not* arrive is read from the router's own records
and from the messages ahead of a ping's pong (one connection keeps its order), never from a
poll that came back empty.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
import zmq
from fake_clock import FakeClock

from impasto_daemon.server.job_table import JobTable
from impasto_daemon.server.jobs import Job
from impasto_daemon.server.outbox import JobProgress, JobStarted, Outbox
from impasto_daemon.server.router import HEARTBEAT, Router
from impasto_daemon.server.status import DaemonInfo
from impasto_wire import protocol as P
from impasto_wire.progress import ProgressEvent
from impasto_wire.protocol import MessageType as M

T0 = 1_000_000.0  # the fake clock's start: far from any real time.monotonic() reading
CLIENT_TIMEOUT = 5.0
ARRIVES_MS = 5000  # real-time bound for a message that must arrive (only a hang waits this long)


@dataclass
class Rig:
    router: Router
    table: JobTable
    clock: FakeClock
    server: zmq.Socket
    client: zmq.Socket

    def __post_init__(self) -> None:
        self._ids = itertools.count()

    def deliver(self, header: dict, frames: list[bytes] | None = None) -> None:
        """The client sends a message and the router reads it, at the clock's current time."""
        self.client.send_multipart(P.encode(header, frames or []))
        assert self.server.poll(ARRIVES_MS), "the router's socket never saw the message"
        self.router._read_socket()

    def submit(self, job_id: str) -> Job:
        self.deliver(P.make_header(M.STYLIZE, job_id, contents=[P.Image(2, 2, 3).to_dict()],
                                   styles=[dict(P.Image(2, 2, 3).to_dict(), weight=1.0)],
                                   settings={"iterations": 1}), [bytes(12), bytes(12)])
        [accepted] = self.received()
        assert (accepted.type, accepted.id) == (M.ACCEPTED, job_id), accepted.header
        job = self.table.get(job_id)
        assert job is not None
        return job

    def tick(self, now: float) -> None:
        """One round of the router's housekeeping, at fake time ``now``."""
        self.clock.now = now
        self.router._tick(self.clock())

    def received(self) -> list[P.Message]:
        """Everything the router sent this client so far: a ping's pong comes after all of it,
        so what precedes the pong is complete (the ping counts as hearing from the client)."""
        ping_id = f"barrier-{next(self._ids)}"
        self.deliver(P.make_header(M.PING, ping_id))
        got = []
        while True:
            assert self.client.poll(ARRIVES_MS), "no pong: the router did not answer the ping"
            msg = P.decode(self.client.recv_multipart(), expect="reply")
            if (msg.type, msg.id) == (M.PONG, ping_id):
                return got
            got.append(msg)


@pytest.fixture
def rig(short_tmp):
    ctx = zmq.Context()
    server = ctx.socket(zmq.ROUTER)
    server.setsockopt(zmq.LINGER, 0)
    server.setsockopt(zmq.ROUTER_MANDATORY, 1)
    endpoint = f"ipc://{short_tmp}/r.sock"
    server.bind(endpoint)
    clock = FakeClock(T0)
    table, outbox = JobTable(P.Limits(), clock=clock), Outbox()
    info = DaemonInfo("test", "cpu", ["cpu"], [{"name": "vgg19", "label": "fake",
                                                "source": "random", "random": True}],
                      endpoint, started=T0)
    router = Router(server, outbox, table, P.Limits(), info, client_timeout=CLIENT_TIMEOUT)
    client = ctx.socket(zmq.DEALER)
    client.setsockopt(zmq.LINGER, 0)
    client.connect(endpoint)
    yield Rig(router, table, clock, server, client)
    client.close()
    server.close()
    outbox.close()
    ctx.term()


def _progress(messages: list[P.Message], job_id: str) -> list[P.Message]:
    return [m for m in messages if m.type == M.PROGRESS and m.id == job_id]


def test_a_silent_workers_job_gets_a_heartbeat_once_heartbeat_seconds_passed(rig):
    job = rig.submit("j1")
    assert job.submitted == job.last_sent == T0  # stamped by the router's clock
    started = T0 + 0.5
    rig.clock.now = started
    assert rig.table.next_job(0) is job  # a worker takes it, says so, then computes in silence
    rig.router._guarded_worker_message(JobStarted(job))
    [starting] = rig.received()
    assert starting.header["stage"] == "starting" and not starting.header.get("heartbeat")
    assert job.last_sent == started

    rig.tick(started + 0.9)
    assert job.last_sent == started  # not yet: 0.9 s since the last message to the client
    assert rig.received() == []

    rig.tick(started + HEARTBEAT)
    assert job.last_sent == started + HEARTBEAT
    [beat] = rig.received()
    assert (beat.type, beat.id) == (M.PROGRESS, "j1")
    assert beat.header["heartbeat"] is True and beat.header["stage"] == "starting"
    assert beat.header["elapsed"] == pytest.approx(HEARTBEAT)  # since it started, same clock

    rig.tick(started + HEARTBEAT + 0.9)  # the count starts again from that heartbeat
    assert rig.received() == []
    rig.tick(started + 2 * HEARTBEAT)
    assert [m.header["heartbeat"] for m in _progress(rig.received(), "j1")] == [True]


def test_a_workers_progress_restarts_the_heartbeat_count_and_is_what_it_repeats(rig):
    job = rig.submit("j2")
    rig.table.next_job(0)
    rig.clock.now = T0 + 0.8
    step = ProgressEvent(stage="optimising", fraction=0.25, step=7, steps=28)
    rig.router._guarded_worker_message(JobProgress(job, step))
    [sent] = rig.received()
    assert sent.header["step"] == 7 and not sent.header.get("heartbeat")

    rig.tick(T0 + 0.8 + 0.9)  # 1.7 s after submission, but 0.9 s after the last message
    assert job.last_sent == T0 + 0.8 and rig.received() == []
    rig.tick(T0 + 0.8 + HEARTBEAT)
    [beat] = rig.received()
    assert beat.header["heartbeat"] is True
    assert (beat.header["stage"], beat.header["step"], beat.header["steps"]) == \
        ("optimising", 7, 28)


def test_a_queued_jobs_heartbeat_says_queued_and_how_many_are_ahead(rig):
    first, second = rig.submit("first"), rig.submit("second")
    assert rig.table.next_job(0) is first  # running, silent; "second" waits behind it
    rig.tick(T0 + 0.9)
    assert first.last_sent == second.last_sent == T0 and rig.received() == []
    rig.tick(T0 + HEARTBEAT)
    got = rig.received()
    [queued] = _progress(got, "second")
    assert queued.header["heartbeat"] is True
    assert (queued.header["stage"], queued.header["position"]) == ("queued", 1)
    assert queued.header["elapsed"] == pytest.approx(HEARTBEAT)  # since it was submitted
    [running] = _progress(got, "first")
    assert running.header["heartbeat"] is True and running.header["stage"] != "queued"


def test_a_client_silent_past_the_timeout_of_the_routers_clock_has_its_job_cancelled(rig):
    job = rig.submit("quiet")  # the last time the router heard from this client: T0
    rig.tick(T0 + CLIENT_TIMEOUT)  # silent for exactly the timeout: not longer
    assert rig.table.get("quiet") is job and job.cancel_reason is None

    rig.tick(T0 + CLIENT_TIMEOUT + 0.1)
    assert rig.table.get("quiet") is None and job.cancel_reason == "client_gone"
    [end] = [m for m in rig.received() if m.type != M.PROGRESS]
    assert (end.type, end.id, end.header["reason"]) == (M.CANCELLED, "quiet", "client_gone")
    assert "silent for" in end.header["message"]


def test_hearing_from_the_client_restarts_its_silence_on_the_routers_clock(rig):
    job = rig.submit("chatty")
    rig.clock.now = T0 + 4.0
    rig.received()  # the client pings at T0 + 4
    rig.tick(T0 + 4.0 + CLIENT_TIMEOUT)  # 9 s after submission, 5 s after the ping
    assert rig.table.get("chatty") is job and job.cancel_reason is None
    rig.tick(T0 + 4.0 + CLIENT_TIMEOUT + 0.1)
    assert rig.table.get("chatty") is None and job.cancel_reason == "client_gone"
