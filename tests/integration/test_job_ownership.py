"""Job ids belong to the client that used them first (issue 10, item 2): another client, in its
own process, can neither take over a running job nor have a finished result replayed to it by
resubmitting the id with a dummy request."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from daemon_support import long_job, small_job, wait_until_optimising

from impasto_wire import Client, DaemonError, JobCancelled
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M

PEER = str(Path(__file__).with_name("peer_process.py"))


def run_peer(*args: str, timeout: float = 60) -> list[dict]:
    out = subprocess.run([sys.executable, PEER, *args], capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_another_client_cannot_take_over_a_running_job_or_a_finished_result(daemon, client):
    done = small_job(client, iterations=2, seed=4)
    finished = client.wait(done, timeout=60)
    running = long_job(client)
    wait_until_optimising(client, running)

    lines = run_peer("hijack", daemon.endpoint, running, done)
    answers = {x["id"]: x for x in lines if "id" in x}
    for job_id in (running, done):
        assert answers[job_id]["answer"] != "accepted", answers[job_id]  # the hijack of old
        assert answers[job_id]["answer"] == P.ID_IN_USE, answers[job_id]
        assert "another request" in answers[job_id]["message"]
    [events] = [x["events"] for x in lines if "events" in x]
    assert events == []  # neither the victim's progress nor its result reached the other one

    # the victim still owns both: progress keeps coming, and its own retry replays its result
    assert next(client.events(running, timeout=10)).type == M.PROGRESS
    assert client.cancel(running) is True
    with pytest.raises(JobCancelled):
        client.wait(running, timeout=10)
    small_job(client, iterations=2, seed=4, job_id=done)
    replay = client.wait(done, timeout=10)
    assert bytes(replay.frames[0]) == bytes(finished.frames[0])


def test_a_retry_must_repeat_the_same_request(client):
    job = small_job(client, iterations=2, seed=5)
    with pytest.raises(DaemonError) as info:  # same client, same id, other content
        small_job(client, iterations=2, seed=6, job_id=job)
    assert info.value.code == P.ID_IN_USE
    assert client.wait(job, timeout=60).type == M.RESULT


def test_an_over_long_job_id_is_refused_at_once_not_after_a_timeout(daemon):
    # an answer, not a timeout: an unanswered request raises DaemonUnavailable, not DaemonError
    with Client(daemon.endpoint, timeout=10) as c:
        with pytest.raises(DaemonError) as info:
            c.cancel("x" * 200)
        assert info.value.code == P.BAD_REQUEST and str(P.MAX_ID_LENGTH) in info.value.message
        with pytest.raises(DaemonError):
            small_job(c, job_id="y" * 200)
