"""On TCP every local user can connect, so there only a client that proves to be the daemon's
own user — it can read the token the daemon wrote into its 0600 file — may stop the daemon,
see other clients' job ids or cancel their jobs (issue 10, item 4). The other user is a real
second process that lacks the token; without it a client still runs and cancels its own jobs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from daemon_support import long_job, small_job, wait_until_optimising
from ports import free_port

from impasto_wire import Client, JobCancelled
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M

PEER = str(Path(__file__).with_name("peer_process.py"))


@pytest.fixture
def tcp_daemon(own_daemon, monkeypatch):
    d = own_daemon(endpoint=f"tcp://127.0.0.1:{free_port()}")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(d.runtime))  # this test is the daemon's user
    return d


def as_other_user(tmp_path: Path, *args: str) -> list[dict]:
    """A second process with its own private runtime folder: it cannot read the token."""
    home = tmp_path / "other"
    (home / "run").mkdir(parents=True, mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(home / "run"), HOME=str(home),
               XDG_CACHE_HOME=str(home / "cache"))
    out = subprocess.run([sys.executable, PEER, *args], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_the_token_file_is_private_and_removed_at_shutdown(tcp_daemon):
    port = tcp_daemon.endpoint.rsplit(":", 1)[1]
    token = tcp_daemon.runtime / "impasto" / f"tcp-{port}.token"
    assert stat.S_IMODE(os.stat(token).st_mode) == 0o600
    assert len(token.read_text().strip()) == 64
    with Client(tcp_daemon.endpoint) as c:
        assert c.status()["admin"] is True
        assert c.stop()["type"] == M.STOPPING
    assert tcp_daemon.wait(20) == 0
    assert not token.exists()


def test_another_user_cannot_see_cancel_or_stop_on_tcp(tcp_daemon, tmp_path):
    with Client(tcp_daemon.endpoint) as owner:
        job = long_job(owner)
        wait_until_optimising(owner, job)
        lines = as_other_user(tmp_path, "other-user", tcp_daemon.endpoint, job)
        [status] = [x["status"] for x in lines if "status" in x]
        assert status["running"] == [] and status["queued"] == []
        assert status["admin"] is False and status["hidden_jobs"] == 1
        answers = {x["action"]: x for x in lines if "action" in x}
        assert answers["cancel"]["answer"] == P.FORBIDDEN
        assert answers["stop"]["answer"] == P.FORBIDDEN
        assert "token" in answers["stop"]["message"]
        # untouched: the owner's job still runs and the owner (who has the token) sees it
        assert [r["id"] for r in owner.status()["running"]] == [job]
        assert next(owner.events(job, timeout=10)).type == M.PROGRESS
        assert owner.cancel(job) is True
        with pytest.raises(JobCancelled):
            owner.wait(job, timeout=10)


def test_without_the_token_a_client_still_runs_and_cancels_its_own_jobs(tcp_daemon,
                                                                        monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # a folder without the token
    with Client(tcp_daemon.endpoint) as c:
        assert c.status()["admin"] is False
        job = long_job(c)
        assert [r["id"] for r in c.status()["running"]] + c.status()["queued"] == [job]
        assert c.cancel(job) is True
        with pytest.raises(JobCancelled):
            c.wait(job, timeout=10)
        assert c.wait(small_job(c, iterations=1, size=(64, 64)), timeout=60).type == M.RESULT
