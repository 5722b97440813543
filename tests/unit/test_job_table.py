"""JobTable, the one owner of job state: who may retry, see, cancel and be told what; the
queue and queued-bytes limits; every transition under its lock (workers race the router)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading

import numpy as np
import pytest

from impasto_daemon.server.job_table import Busy, CancelResult, Claim, JobTable
from impasto_daemon.server.jobs import QUEUED, RUNNING, Job, Requester
from impasto_daemon.settings import StyleSettings
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M

ALICE = Requester(b"alice")
BOB = Requester(b"bob")
ADMIN = Requester(b"shell", admin=True)


def job(job_id: str, owner: Requester = ALICE, digest: bytes = b"d1", nbytes: int = 10) -> Job:
    return Job(id=job_id, owner=owner.identity, key=owner.key, digest=digest, nbytes=nbytes,
               contents=[np.zeros((2, 2, 3), np.uint8)], styles=[], settings=StyleSettings())


def test_a_retry_is_only_the_same_client_with_the_same_request():
    t = JobTable(P.Limits())
    j = job("a")
    assert t.claim("a", ALICE, b"d1").kind is Claim.NEW
    t.submit(j)
    assert t.claim("a", ALICE, b"d1").kind is Claim.DUPLICATE
    for who, digest in ((BOB, b"d1"), (ALICE, b"other"), (Requester(b"alice", key="K"), b"d1")):
        refused = t.claim("a", who, digest)
        assert refused.kind is Claim.REFUSED and refused.code == P.ID_IN_USE
    assert t.finish(j, P.make_header(M.RESULT, "a", images=[], stats=[]), counter="completed",
                    replay_on_submit=True)
    assert t.claim("a", ALICE, b"d1").kind is Claim.REPLAY
    assert t.claim("a", BOB, b"d1").code == P.ID_IN_USE  # nobody else gets the result
    assert t.state_for("a", ALICE)[0] == "ended" and t.state_for("a", BOB)[0] == "unknown"


def test_the_same_curve_key_owns_its_jobs_across_connections():
    carol1, carol2 = Requester(b"c1", key="CAROL"), Requester(b"c2", key="CAROL")
    t = JobTable(P.Limits())
    t.submit(job("x", carol1))
    assert t.visible(carol2)[1][0].job.id == "x" and t.visible(BOB) == ([], [])
    assert t.cancel("x", Requester(b"c3", key="MALLORY"))[0] is CancelResult.FORBIDDEN
    assert t.cancel("x", carol2)[0] is CancelResult.DEQUEUED


def test_cancel_dequeues_a_queued_job_and_asks_a_running_one_to_stop():
    t = JobTable(P.Limits())
    a, b = job("a"), job("b")
    t.submit(a)
    t.submit(b)
    assert t.next_job(0.1) is a and a.state == RUNNING
    assert t.cancel("a", BOB)[0] is CancelResult.FORBIDDEN and not a.cancel.is_set()
    assert t.cancel("a", ADMIN) == (CancelResult.REQUESTED, a) and a.cancel.is_set()
    assert t.cancel("b", ALICE) == (CancelResult.DEQUEUED, b) and b.state == QUEUED
    assert t.next_job(0.05) is None  # b left the queue
    assert t.cancel("nope", ADMIN)[0] is CancelResult.UNKNOWN


def test_queue_length_and_queued_bytes_are_limited():
    t = JobTable(P.Limits(max_queue=2, max_queued_bytes=100))
    t.submit(job("big", nbytes=150))  # alone it always fits, even over the byte limit
    with pytest.raises(Busy, match="holds"):
        t.submit(job("more", nbytes=1))
    t.finish(t.get("big"), P.error_header("big", P.OOM, "x"), counter="failed",
             replay_on_submit=True)
    assert t.held_bytes == 0
    t.submit(job("a", nbytes=40))
    t.submit(job("b", nbytes=40))
    with pytest.raises(Busy, match="queue is full"):
        t.submit(job("c", nbytes=1))
    assert t.counters.as_dict() == {"completed": 0, "failed": 1, "cancelled": 0}


def test_a_job_cancelled_for_client_gone_runs_again_when_its_client_retries():
    t = JobTable(P.Limits())
    j = job("a")
    t.submit(j)
    [gone] = t.client_gone(b"alice", "client_gone", "silent for 12 s")
    assert gone is j and j.cancel_detail == "silent for 12 s"
    t.finish(j, P.make_header(M.CANCELLED, "a", reason="client_gone"), counter="cancelled",
             replay_on_submit=False)
    assert t.state_for("a", ALICE)[1].header["reason"] == "client_gone"  # told on a ping
    assert t.claim("a", ALICE, b"d1").kind is Claim.NEW


def test_forgotten_outcomes_leave_a_tombstone_for_their_owner_only():
    t = JobTable(P.Limits(), max_outcomes=1)
    for name in ("a", "b"):
        j = job(name)
        t.submit(j)
        t.finish(j, P.make_header(M.RESULT, name, images=[], stats=[]), counter="completed",
                 replay_on_submit=True)
    again = t.claim("a", ALICE, b"d1")
    assert again.kind is Claim.REFUSED and "no longer kept" in again.message
    assert t.claim("a", BOB, b"d1").code == P.ID_IN_USE


def test_workers_racing_for_jobs_each_get_a_different_one():
    t = JobTable(P.Limits(max_queue=500))
    for i in range(200):
        t.submit(job(f"j{i}"))
    taken: list[Job] = []
    lock = threading.Lock()

    def work() -> None:
        while (j := t.next_job(0.05)) is not None:
            with lock:
                taken.append(j)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(j.id for j in taken) == sorted(f"j{i}" for i in range(200))
    assert t.running_count() == 200 and t.queue_length() == 0


def test_live_views_are_read_under_the_lock_with_the_queue_position():
    t = JobTable(P.Limits())
    for name in ("a", "b", "c"):
        t.submit(job(name))
    running = t.next_job(0.1)
    assert running is not None and running.id == "a"
    t.cancel("c", ALICE)  # dequeued: live, and cancelled, until the router ends it
    views = {v.job.id: v for v in t.live()}
    assert (views["a"].state, views["a"].ahead, views["a"].started) == (RUNNING, 0,
                                                                        running.started)
    assert (views["b"].state, views["b"].ahead, views["b"].cancel_reason) == (QUEUED, 1, None)
    assert views["c"].cancel_reason == "cancel"
    (run_view,), (queued_view,) = t.visible(ALICE)
    assert run_view.job.id == "a" and queued_view.job.id == "b"


def test_a_running_summary_is_the_last_progress_event_with_the_time_run_so_far():
    from impasto_daemon.server.status import running_summary
    from impasto_wire.progress import ProgressEvent

    t = JobTable(P.Limits())
    j = job("a")
    j.layers = 3
    t.submit(j)
    t.next_job(0.1)
    (view,) = t.live()
    before = running_summary(view, view.started + 2.0)
    assert before == {"id": "a", **ProgressEvent(layers=3, elapsed=2.0).to_header()}
    j.progress = ProgressEvent(stage="optimising", layer=1, layers=3, fraction=0.25, scale=2,
                               scales=3, step=7, steps=40, eta=9.0, elapsed=1.0)
    now = running_summary(view, view.started + 5.0)
    assert now["elapsed"] == 5.0 and ProgressEvent.from_header(now) == dataclasses.replace(
        j.progress, elapsed=5.0)


def test_the_servers_data_modules_do_not_load_torch():
    """Jobs, the table, status and the router are plain data and sockets: importing them (as
    the settings they carry) must not load the engine, which imports torch."""
    code = ("import sys; import impasto_daemon.server.jobs, impasto_daemon.server.job_table, "
            "impasto_daemon.server.status, impasto_daemon.server.clients, "
            "impasto_daemon.server.router; assert 'torch' not in sys.modules, 'torch loaded'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr


def test_client_liveness_with_an_injected_clock():
    from impasto_daemon.server.clients import ClientLiveness

    c = ClientLiveness(timeout=10.0)
    c.heard(b"a", 100.0)
    assert c.silence(b"a", since=0.0, now=109.0) is None
    assert c.silence(b"a", since=0.0, now=112.5) == 12.5
    assert c.silence(b"never", since=105.0, now=112.0) is None  # counted from the submission
    assert c.silence(b"never", since=100.0, now=111.0) == 11.0
    c.heard(b"b", 105.0)
    assert c.alive(109.0) == 2 and c.alive(112.0) == 1
    c.unreachable(b"b")
    assert c.take_unreachable() == [b"b"] and c.take_unreachable() == []
    c.forget(b"a")
    assert c.silence(b"a", since=100.0, now=105.0) is None and c.alive(106.0) == 1
