"""What a client says when its daemon goes silent during a job (issue 19, item 15): "killed or
crashed" only with evidence. Real processes stand in for the daemon's process (one whose command
line names impasto, as the daemon's does); the socket is a real ZeroMQ socket that never hears
an answer."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import zmq
from ports import free_port

from impasto_wire import DaemonUnavailable
from impasto_wire.connection_watch import ConnectionWatch, process_start

SLEEPER = "import time; print('ready', flush=True); time.sleep(600)"


@pytest.fixture
def watch_for():
    ctx = zmq.Context()
    made = []

    def make(endpoint: str) -> ConnectionWatch:
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        watch = ConnectionWatch(sock, endpoint, False)
        sock.connect(endpoint)
        made.append((watch, sock))
        return watch

    yield make
    for watch, sock in made:
        watch.close()
        sock.close()
    ctx.term()


@pytest.fixture
def fake_daemon():
    """A running process whose command line names impasto, like the daemon's."""
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER, "impasto-daemon-stand-in"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"  # running its own command line by now
    yield proc
    proc.send_signal(signal.SIGCONT)
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_a_silent_tcp_daemon_that_still_runs_is_a_lost_connection(watch_for, fake_daemon):
    watch = watch_for(f"tcp://127.0.0.1:{free_port()}")
    watch.welcomed(fake_daemon.pid)
    exc = watch.went_silent(3.2, "j1")
    assert exc.kind == DaemonUnavailable.LOST
    assert "lost the connection" in str(exc) and f"pid {fake_daemon.pid}" in str(exc)
    assert "killed" not in str(exc) and "crashed" not in str(exc)


def test_a_silent_tcp_daemon_of_no_local_process_is_a_lost_connection(watch_for):
    """A pid that names no local impasto process (a daemon through a tunnel, another machine)
    says nothing about the daemon: the client cannot tell, and says so."""
    # a local process, but not an impasto daemon (read its line: it runs its own command by then)
    other = subprocess.Popen(["sh", "-c", "echo ready; while :; do sleep 1; done"],
                             stdout=subprocess.PIPE)
    try:
        assert other.stdout.readline() == b"ready\n"
        watch = watch_for(f"tcp://127.0.0.1:{free_port()}")
        watch.welcomed(other.pid)
        other.kill()
        other.wait()
        exc = watch.went_silent(3.2, "j1")
    finally:
        other.kill()
        other.wait()
        other.stdout.close()
    assert exc.kind == DaemonUnavailable.LOST
    assert "network" in str(exc) and "cannot tell" in str(exc)
    assert "killed" not in str(exc) and "crashed" not in str(exc)


@pytest.mark.parametrize("reap", [True, False], ids=["reaped", "zombie"])
def test_a_silent_daemon_whose_process_ended_is_called_dead(watch_for, fake_daemon, reap):
    watch = watch_for(f"tcp://127.0.0.1:{free_port()}")
    watch.welcomed(fake_daemon.pid)
    fake_daemon.kill()
    if reap:
        fake_daemon.wait()
    else:  # killed but not yet reaped by its parent: still listed, but dead
        while process_start(fake_daemon.pid) is not None:
            pass
    exc = watch.went_silent(3.2, "j1")
    assert exc.kind == DaemonUnavailable.GONE
    assert "no longer running" in str(exc) and "killed or crashed" in str(exc)


def test_a_stopped_daemon_is_called_stopped_with_how_to_continue_it(watch_for, fake_daemon):
    watch = watch_for(f"tcp://127.0.0.1:{free_port()}")
    watch.welcomed(fake_daemon.pid)
    fake_daemon.send_signal(signal.SIGSTOP)
    while True:  # the signal is delivered asynchronously
        exc = watch.went_silent(3.2, "j1")
        if exc.kind != DaemonUnavailable.LOST:
            break
    assert exc.kind == DaemonUnavailable.HUNG
    assert f"kill -CONT {fake_daemon.pid}" in str(exc)


def test_an_ipc_daemon_whose_socket_is_gone_is_called_dead(watch_for, tmp_path):
    watch = watch_for(f"ipc://{tmp_path}/d.sock")  # no pid known: the socket file tells
    exc = watch.went_silent(3.2, "j1")
    assert exc.kind == DaemonUnavailable.GONE and "is gone" in str(exc)
