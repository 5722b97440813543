"""A daemon the client cannot reach any more is not called dead unless it is (issue 19, item
15): a real daemon on TCP behind a real relay process; the relay is stopped (the link is cut, the
daemon keeps running) or the daemon is killed behind a relay that still runs. The client's
silence limit is shortened; nothing here measures time."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from daemon_support import TCP_RELAY, long_job, wait_until_optimising
from ports import free_port

from impasto_wire import Client, DaemonUnavailable


@pytest.fixture
def relayed(own_daemon, monkeypatch):
    """A TCP daemon and a relay in front of it: (daemon, relay process, the relay's endpoint)."""
    port, front = free_port(), free_port()
    d = own_daemon(endpoint=f"tcp://127.0.0.1:{port}")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(d.runtime))
    relay = subprocess.Popen([sys.executable, "-c", TCP_RELAY, str(front), str(port)],
                             stdout=subprocess.PIPE, text=True)
    assert relay.stdout.readline().strip() == "ready"
    yield d, relay, f"tcp://127.0.0.1:{front}"
    relay.send_signal(signal.SIGCONT)
    relay.kill()
    relay.wait()


def silence_during_a_job(endpoint: str, cut) -> DaemonUnavailable:
    """Run a long job through ``endpoint``, call ``cut()`` once it optimises, and return what
    the client raises when the daemon goes quiet."""
    with Client(endpoint, timeout=30) as c:
        c.dead_after = 1.5  # the default 3 s, shortened: the outcome does not depend on it
        welcome = c.hello()
        job = long_job(c)
        wait_until_optimising(c, job)
        cut()
        with pytest.raises(DaemonUnavailable) as info:
            for _ in c.events(job):
                pass
    return info.value, welcome


def test_a_cut_link_to_a_running_daemon_is_called_a_lost_connection_not_a_crash(relayed):
    d, relay, endpoint = relayed
    exc, welcome = silence_during_a_job(endpoint, lambda: relay.send_signal(signal.SIGSTOP))
    text = str(exc)
    assert d.proc.poll() is None  # the daemon really is alive
    assert exc.kind == DaemonUnavailable.LOST, text
    assert "lost the connection" in text and "still running" in text, text
    assert f"pid {welcome['pid']}" in text, text
    assert "killed" not in text and "crashed" not in text, text


def test_a_daemon_killed_behind_a_running_relay_is_still_called_dead(relayed):
    d, relay, endpoint = relayed
    exc, welcome = silence_during_a_job(endpoint, lambda: d.signal(signal.SIGKILL))
    text = str(exc)
    assert relay.poll() is None  # the link itself stayed up
    assert exc.kind == DaemonUnavailable.GONE, text
    assert "no longer running" in text and "killed or crashed" in text, text
    assert str(welcome["pid"]) in text, text
