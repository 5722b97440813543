"""One diagnosis of an endpoint that does not answer, shared by every caller (issue 19, item
11): the launcher starts a daemon only where nothing listens, and ``impasto doctor`` no longer
calls a port held by something else "not running". Real sockets on loopback."""

from __future__ import annotations

import socket

import pytest
import zmq
from ports import free_port

from impasto_daemon.doctor import result as R
from impasto_daemon.doctor.daemon_check import check_daemon
from impasto_wire import DaemonUnavailable
from impasto_wire.launcher import probe


@pytest.fixture
def silent_listener():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        yield f"tcp://127.0.0.1:{srv.getsockname()[1]}"


def test_the_launcher_may_start_a_daemon_only_where_nothing_listens(silent_listener):
    assert probe(f"tcp://127.0.0.1:{free_port()}", timeout=0.5) is False
    with pytest.raises(DaemonUnavailable) as info:
        probe(silent_listener, timeout=0.5)
    assert info.value.kind == DaemonUnavailable.SILENT
    assert "accepts connections" in str(info.value)


def test_the_launcher_calls_a_mute_zeromq_peer_hung_after_waiting_for_a_busy_one():
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    try:
        with pytest.raises(DaemonUnavailable) as info:
            probe(f"tcp://127.0.0.1:{port}", timeout=0.5)
    finally:
        sock.close()
        ctx.term()
    assert info.value.kind == DaemonUnavailable.HUNG


def test_doctor_does_not_call_a_port_held_by_something_else_not_running(silent_listener):
    held = check_daemon(silent_listener, timeout=0.5)
    assert held.status == R.FAIL and "accepts connections" in held.what, held
    free = check_daemon(f"tcp://127.0.0.1:{free_port()}", timeout=0.5)
    assert free.status == R.WARN and "not running" in free.what, free
