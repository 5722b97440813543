"""A cancel gets the daemon's answer, whatever the client read before it (issue 19, item 14):
a job's end that arrived while ``status()`` waited used to make the client drop the daemon's
``unknown_job`` answer to the cancel as a repeat, so ``cancel`` waited its whole timeout and
called a daemon that had answered at once "probably hung"."""

from __future__ import annotations

import time

from daemon_support import small_job

from impasto_wire import Client
from impasto_wire.protocol import MessageType as M


def finished_while_status_waited(c: Client, job: str) -> None:
    """Ask status until the daemon no longer lists ``job``: its result was sent before that
    reply, so the client has read it (and kept it) while status() waited."""
    deadline = time.monotonic() + 300  # a bound, not a measurement: others' jobs may be ahead
    while time.monotonic() < deadline:
        st = c.status()
        if job not in st["queued"] and job not in [r["id"] for r in st["running"]]:
            return
        time.sleep(0.02)
    raise AssertionError(f"job {job} did not finish")


def test_cancel_after_status_gets_its_answer_every_time(daemon):
    with Client(daemon.endpoint, timeout=5.0, name="pytest") as c:
        for _ in range(20):
            job = small_job(c, iterations=1, size=(8, 8))
            finished_while_status_waited(c, job)
            # a short timeout: a dropped answer raises DaemonUnavailable ("probably hung")
            assert c.cancel(job, timeout=3.0) is False  # it already finished: nothing to stop
            assert c.wait(job, timeout=30).type == M.RESULT  # and its result is still ours
            assert c.cancel(job, timeout=3.0) is False  # asked again once the end was taken


def test_cancel_of_a_running_job_after_status_is_answered_cancelled(daemon):
    with Client(daemon.endpoint, timeout=5.0, name="pytest") as c:
        job = small_job(c, iterations=4000, size=(64, 64))
        c.status()
        assert c.cancel(job, timeout=5.0) is True
