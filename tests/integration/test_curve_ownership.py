"""With CurveZMQ a job belongs to the public key that submitted it (issue 10, items 2 and 4):
the same key on another connection sees and cancels it; another allowed key, in its own
process, can neither see it, take it over, cancel it nor stop the daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from daemon_support import long_job, wait_until_optimising
from ports import free_port

from impasto_wire import Client, DaemonError, JobCancelled
from impasto_wire import protocol as P
from impasto_wire.curve import CurveClientKeys, create_key_pair

PEER = str(Path(__file__).with_name("peer_process.py"))


def test_a_job_belongs_to_its_curve_key_not_to_other_allowed_keys(own_daemon, tmp_path,
                                                                  monkeypatch):
    server_pub, server_sec = map(str, create_key_pair(tmp_path / "server", "server"))
    allowed = tmp_path / "allowed"
    allowed.mkdir(mode=0o700)
    keys = {}
    for name in ("alice", "bob"):
        pub, sec = map(str, create_key_pair(tmp_path / name, name))
        (allowed / f"{name}.key").write_bytes(Path(pub).read_bytes())
        keys[name] = sec
    alice = CurveClientKeys.load(keys["alice"], server_pub)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    own_daemon(endpoint=endpoint, args=[
        "--device", "cpu", "--weights", "random", "--curve-secret-key", server_sec,
        "--curve-allowed-keys", str(allowed), "--no-announce",
    ], client_kwargs={"curve": alice})
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "no-token"))  # remote-like: no token

    with Client(endpoint, curve=alice) as first:
        job = long_job(first)
        wait_until_optimising(first, job)

        bob_env = dict(os.environ, IMPASTO_CURVE_CLIENT_KEY=keys["bob"],
                       IMPASTO_CURVE_SERVER_KEY=server_pub)
        for action, args in (("other-user", [job]), ("hijack", [job])):
            out = subprocess.run([sys.executable, PEER, action, endpoint, *args], env=bob_env,
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            lines = [json.loads(line) for line in out.stdout.splitlines()]
            if action == "other-user":
                [status] = [x["status"] for x in lines if "status" in x]
                assert status["running"] == [] and status["hidden_jobs"] == 1
                answers = {x["action"]: x["answer"] for x in lines if "action" in x}
                assert answers == {"cancel": P.FORBIDDEN, "stop": P.FORBIDDEN}
            else:
                assert [x["answer"] for x in lines if "id" in x] == [P.ID_IN_USE]

        with Client(endpoint, curve=alice) as second:  # alice again, on a new connection
            assert [r["id"] for r in second.status()["running"]] == [job]
            with pytest.raises(DaemonError) as info:
                second.stop()  # her key is allowed to work, not to stop the daemon
            assert info.value.code == P.FORBIDDEN
            assert second.cancel(job) is True
        with pytest.raises(JobCancelled):
            first.wait(job, timeout=10)
