"""A client whose job the daemon cancelled while it could not hear (issue 10, item 3) learns
the outcome and why within a few seconds, instead of waiting forever: after a real SIGSTOP of
a real client process, and after its TCP connection was really dropped (a proxy killed)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from daemon_support import SHARED_ARGS, TCP_RELAY, long_job, wait_until_optimising
from ports import free_port

from impasto_wire import Client, JobCancelled

PEER = str(Path(__file__).with_name("peer_process.py"))
PAUSE = 12.0  # seconds the client is stopped, as in the issue
CLIENT_TIMEOUT = 2  # the daemon gives up on a silent client after this (default 10)


def args_with(**overrides: str) -> list[str]:
    args = list(SHARED_ARGS)
    for flag, value in overrides.items():
        name = "--" + flag.replace("_", "-")
        if name in args:
            args[args.index(name) + 1] = value
        else:
            args += [name, value]
    return args


def read_line(proc: subprocess.Popen, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    buf = ""
    while time.monotonic() < deadline:
        chunk = proc.stdout.readline()
        if chunk:
            buf += chunk
            if buf.endswith("\n"):
                return json.loads(buf)
        elif proc.poll() is not None:
            break
        else:
            time.sleep(0.05)
    raise AssertionError(f"no line from the client within {timeout} s (exit {proc.poll()})")


def test_a_paused_client_learns_its_job_was_cancelled_for_silence(own_daemon):
    d = own_daemon(args=args_with(client_timeout=str(CLIENT_TIMEOUT)))
    proc = subprocess.Popen([sys.executable, PEER, "paused", d.endpoint], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert read_line(proc, 60)["state"] == "optimising"
        proc.send_signal(signal.SIGSTOP)
        time.sleep(PAUSE)
        proc.send_signal(signal.SIGCONT)
        # on waking it asks about its job at once (tests/unit/test_client_clock.py)
        end = read_line(proc, 10)
    finally:
        proc.kill()
        proc.wait()
    assert end["state"] == "cancelled", end
    assert end["reason"] == "client_gone"
    silent = re.search(r"this client was silent for (\d+) s", end["message"])
    assert silent and int(silent.group(1)) >= CLIENT_TIMEOUT, end["message"]




def start_proxy(listen: int, target: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", TCP_RELAY, str(listen), str(target)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_a_client_whose_connection_dropped_learns_its_job_was_cancelled(own_daemon, monkeypatch):
    port, front = free_port(), free_port()
    d = own_daemon(endpoint=f"tcp://127.0.0.1:{port}", args=args_with(client_timeout="10"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(d.runtime))
    proxy = start_proxy(front, port)
    try:
        with Client(f"tcp://127.0.0.1:{front}") as c:
            job = long_job(c)
            wait_until_optimising(c, job)
            proxy.kill()  # the connection drops at both ends; the daemon cancels the job
            proxy.wait()
            time.sleep(1.0)
            proxy = start_proxy(front, port)  # the network is back: the client reconnects
            with pytest.raises(JobCancelled) as info:  # told by the daemon: not a TimeoutError
                c.wait(job, timeout=20)
            assert info.value.reason == "client_gone"
            assert "lost the connection" in info.value.message
    finally:
        proxy.kill()
        proxy.wait()
