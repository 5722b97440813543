"""Starting, finding, stopping and losing the daemon."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time

import pytest
from daemon_support import DAEMON, IMPASTO, SHARED_ARGS, long_job, small_job, wait_until_optimising

from impasto_wire import Client, DaemonError, DaemonUnavailable, ensure_daemon
from impasto_wire import protocol as P
from impasto_wire.endpoints import ipc_path
from impasto_wire.protocol import MessageType as M


def test_socket_folder_is_private_and_the_endpoint_is_discoverable(daemon):
    path = ipc_path(daemon.endpoint)
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    announce = daemon.runtime / "impasto" / "endpoint"
    assert announce.read_text().strip() == daemon.endpoint
    env = dict(os.environ, XDG_RUNTIME_DIR=str(daemon.runtime))
    env.pop("IMPASTO_ENDPOINT", None)
    out = subprocess.run([IMPASTO, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "RANDOM" in out.stdout and daemon.endpoint in out.stdout


def test_a_second_daemon_on_the_same_endpoint_says_already_running(daemon, tmp_path):
    # weights that do not exist: a daemon that loaded its model before asking would exit 4
    args = SHARED_ARGS + ["--weights", str(tmp_path / "absent.pth")]
    out = subprocess.run([DAEMON, "--endpoint", daemon.endpoint] + args,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 3, out.stderr  # answered before loading any model
    assert "already running" in out.stderr and "pid" in out.stderr
    with Client(daemon.endpoint) as c:
        assert c.hello()["protocol"] == P.PROTOCOL_VERSION  # the first one is untouched


def test_listening_beyond_loopback_without_curve_is_refused(tmp_path):
    out = subprocess.run([DAEMON, "--endpoint", "tcp://0.0.0.0:47999", "--weights", "random",
                          "--device", "cpu"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "refusing" in out.stderr and "curve" in out.stderr.lower()


def test_no_daemon_is_reported_as_unavailable_naming_how_to_start_one(tmp_path):
    with pytest.raises(DaemonUnavailable, match="impasto-daemon"):  # not a TimeoutError
        with Client(f"ipc://{tmp_path}/nothing.sock", timeout=2.0) as c:
            c.hello()


def test_kill_9_mid_job_is_reported_as_a_stopped_daemon_and_a_new_daemon_replaces_it(own_daemon):
    d = own_daemon()
    with Client(d.endpoint) as c:
        job = long_job(c)
        wait_until_optimising(c, job)
        d.signal(signal.SIGKILL)
        # the client's silence limit (dead_after, 3 s; its timing is proven on a fake clock in
        # tests/unit/test_client_clock.py), not the job's 30 s bound, which raises TimeoutError
        with pytest.raises(DaemonUnavailable, match="stopped answering"):
            for _ in c.events(job, timeout=30):
                pass
    assert d.wait() == -signal.SIGKILL
    assert os.path.exists(ipc_path(d.endpoint))  # the stale socket the killed daemon left
    d2 = own_daemon(endpoint=d.endpoint)
    with Client(d2.endpoint) as c:
        assert c.hello()["pid"] == d2.proc.pid


def test_sigterm_mid_job_shuts_down_cleanly(own_daemon):
    d = own_daemon()
    path = ipc_path(d.endpoint)
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700  # created private
    with Client(d.endpoint) as c:
        job = long_job(c)
        queued = small_job(c)
        wait_until_optimising(c, job)
        d.signal(signal.SIGTERM)
        for j in (job, queued):
            with pytest.raises(DaemonError) as info:
                c.wait(j, timeout=15)
            assert info.value.code == P.SHUTTING_DOWN
    assert d.wait(timeout=20) == 0
    assert not os.path.exists(path)  # socket removed
    assert not (d.runtime / "impasto" / "endpoint").exists()  # announce removed
    assert "stopped" in d.output()


def test_the_launcher_starts_one_detached_daemon_and_stop_ends_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    endpoint = f"ipc://{tmp_path}/impasto/daemon.sock"
    command = [DAEMON, "--device", "cpu", "--weights", "random"]
    assert ensure_daemon(endpoint, command, wait=90) is True
    try:
        assert ensure_daemon(endpoint, command, wait=90) is False  # already answering
        with Client() as c:  # found through the announce file / default endpoint
            pid = c.hello()["pid"]
            assert c.endpoint == endpoint
        assert "ready on" in (tmp_path / "impasto" / "daemon.log").read_text()
    finally:
        with Client(endpoint) as c:
            assert c.stop()["type"] == M.STOPPING
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the daemon did not stop")
