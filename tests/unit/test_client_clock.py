"""The client's sense of time runs on a clock it is given, so its promises are proven here by
moving a fake clock, not by measuring real seconds: a daemon silent during a job for more than
``dead_after`` is given up on (and not a moment before), the client pings once a
``ping_interval`` while a job runs, and a client that was itself not running (suspended, or not
polled) does not blame the daemon for the silence meanwhile. The "daemon" is a bare ZeroMQ
ROUTER in a thread that accepts one job and then never speaks again."""

from __future__ import annotations

import threading
import time

import pytest
import zmq
from fake_clock import FakeClock

from impasto_wire import Client, DaemonUnavailable, Image, Style
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType


class MuteDaemon(threading.Thread):
    """Accepts every stylize, answers nothing else, and counts what it is sent."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(daemon=True)
        self.endpoint, self.ready, self.done = endpoint, threading.Event(), threading.Event()
        self.received: list[MessageType] = []

    def run(self) -> None:
        ctx = zmq.Context()
        sock = ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(self.endpoint)
        self.ready.set()
        while not self.done.is_set():
            if not sock.poll(50):
                continue
            identity, *parts = sock.recv_multipart()
            msg = P.decode(parts)
            self.received.append(msg.type)
            if msg.type == MessageType.STYLIZE:
                sock.send_multipart([identity, P.pack_header(
                    P.make_header(MessageType.ACCEPTED, msg.id, position=0))])
        sock.close()
        ctx.term()

    def pings(self) -> int:
        return self.received.count(MessageType.PING)


@pytest.fixture
def job_on_a_mute_daemon(short_tmp):
    """A client on the fake clock with one accepted job, and the daemon that went mute."""
    daemon = MuteDaemon(f"ipc://{short_tmp}/d.sock")
    daemon.start()
    assert daemon.ready.wait(10)
    clock = FakeClock()
    client = Client(daemon.endpoint, clock=clock, timeout=30)
    pixels = bytes(4 * 4 * 3)
    job = client.submit([(Image(4, 4, 3), pixels)], [Style.raw(4, 4, 3, pixels)],
                        {"iterations": 1})
    yield client, clock, daemon, job
    client._active.clear()  # no goodbye to a daemon that is not listening any more
    client.close()
    daemon.done.set()
    daemon.join(10)


def settle(daemon: MuteDaemon, pings: int) -> int:
    """The daemon's ping count once ``pings`` arrived (or a few seconds passed), read again a
    moment later so that a ping too many has had time to arrive as well."""
    for _ in range(100):
        if daemon.pings() >= pings:
            break
        time.sleep(0.05)
    time.sleep(0.2)
    return daemon.pings()


def test_a_daemon_silent_during_a_job_is_given_up_after_dead_after_and_not_before(
        job_on_a_mute_daemon):
    client, clock, _, job = job_on_a_mute_daemon
    for _ in range(29):  # 2.9 s of silence, read every 0.1 s: still alive
        clock.now += 0.1
        assert client.poll(0) is None
    assert client.active_jobs == [job]
    clock.now += 0.2  # 3.1 s: past dead_after (3 s)
    with pytest.raises(DaemonUnavailable, match=r"stopped answering for 3\.1 s") as info:
        client.poll(0)
    assert job in str(info.value)
    assert client.active_jobs == []


def test_the_client_pings_once_a_ping_interval_while_its_job_runs(job_on_a_mute_daemon):
    client, clock, daemon, _ = job_on_a_mute_daemon
    before = settle(daemon, 1)  # the submit's wait pinged once, at the fake clock's start
    assert before == 1
    for _ in range(8):  # 2.0 s in quarter seconds: pings at +1.0 and +2.0
        clock.now += 0.25
        client.poll(0)
    assert settle(daemon, before + 2) == before + 2


def test_a_client_that_was_not_running_does_not_blame_the_daemon_for_the_gap(
        job_on_a_mute_daemon):
    client, clock, daemon, job = job_on_a_mute_daemon
    before = settle(daemon, 1)
    clock.now += 60  # the program was suspended: the silence says nothing about the daemon
    assert client.poll(0) is None
    assert client.active_jobs == [job]
    assert settle(daemon, before + 1) == before + 1  # it asks about its job at once instead
    clock.now += 2.9
    assert client.poll(0) is None
    clock.now += 0.2  # and from then on the daemon's silence counts again
    with pytest.raises(DaemonUnavailable, match="stopped answering"):
        client.poll(0)
