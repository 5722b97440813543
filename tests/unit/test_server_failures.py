"""How the server turns engine failures into error codes, with a fake engine (no torch work):
out of memory -> ``oom`` (and the next job succeeds), diverged, internal, slow iterations
covered by heartbeats. The real socket loop and worker run in-process on an ipc endpoint."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest
import zmq

from impasto_daemon.engine import (
    OutOfMemory,
    ProgressEvent,
    StyleCancelled,
    StyleDiverged,
    StyleStats,
)
from impasto_daemon.server.job_table import JobTable
from impasto_daemon.server.outbox import Outbox
from impasto_daemon.server.router import Router
from impasto_daemon.server.status import DaemonInfo
from impasto_daemon.server.style_decode import DecodedStyles
from impasto_daemon.server.worker import Worker
from impasto_wire import Client, DaemonError, Image, Style
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M


class FakeEngine:
    """Behaves according to the seed: 1 OOM, 2 diverges, 3 crashes, 4 slow, else succeeds."""

    def __init__(self) -> None:
        self.calls = 0
        self.freed = False

    def stylize(self, content, styles, settings, controls):
        progress, cancel = controls.progress, controls.cancel
        preview_interval = controls.preview_interval
        self.calls += 1
        seed = settings.seed
        if seed == 1:
            self.hog = bytearray(1 << 20)  # something to free
            raise OutOfMemory("out of memory on cuda:0 at size 4096: choose a smaller size")
        if seed == 2:
            raise StyleDiverged("the loss became NaN")
        if seed == 3:
            raise RuntimeError("boom")
        if seed == 4:  # one "iteration" slower than the heartbeat
            for _ in range(3):
                if cancel is not None and cancel.is_set():
                    raise StyleCancelled("cancelled")
                time.sleep(1.3)
        if progress is not None:
            progress(ProgressEvent(
                stage="optimising", fraction=0.5, scale=1, scales=1, step=1, steps=1, loss=0.5,
                size=(content.shape[0], content.shape[1]),
                preview=np.zeros((4, 4, 3), np.uint8) if preview_interval else None))
        h, w = content.shape[:2]
        rgba = np.zeros((h, w, 4), np.uint8)
        rgba[:, :, 3] = content[:, :, -1] if content.shape[2] in (2, 4) else 255
        return rgba, StyleStats(0.01, 1, "fake", seed, settings.model, "fake weights")

    def stylize_many(self, contents, styles, settings, controls):
        """The worker's entry point: one layer after another, like an engine without batching."""
        progress = controls.progress
        return [
            self.stylize(c, styles, settings, dataclasses.replace(controls, progress=(
                None if progress is None else (lambda p, i=i: progress(
                    dataclasses.replace(p, layer=i, layers=len(contents)))))))
            for i, c in enumerate(contents)
        ]


@pytest.fixture
def server(tmp_path):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    endpoint = f"ipc://{tmp_path}/s.sock"
    sock.bind(endpoint)
    engine, outbox, table = FakeEngine(), Outbox(), JobTable(P.Limits())
    info = DaemonInfo("test", "cpu", ["cpu"], [{"name": "vgg19", "label": "fake",
                                                "source": "random", "random": True}], endpoint)
    router = Router(sock, outbox, table, P.Limits(), info, client_timeout=30)
    worker = Worker(engine, table, outbox, DecodedStyles(), 1 << 20)
    worker.start()
    loop = threading.Thread(target=router.serve, args=(5.0,), daemon=True)
    loop.start()
    yield endpoint, engine
    router.request_stop()
    loop.join(10)
    table.close()
    worker.join(5)
    sock.close()
    outbox.close()
    ctx.term()


def run(client: Client, seed: int, preview: int = 0):
    content = np.full((6, 5, 4), 7, np.uint8)
    content[:, :, 3] = np.arange(30, dtype=np.uint8).reshape(6, 5)
    job = client.submit([(Image(5, 6, 4), content)], [Style.raw(2, 2, 3, bytes(12))],
                        {"seed": seed, "iterations": 1}, preview=preview)
    return list(client.events(job, timeout=20))


def test_out_of_memory_is_an_oom_error_and_the_next_job_succeeds(server):
    endpoint, engine = server
    with Client(endpoint) as c:
        events = run(c, seed=1)
        assert events[-1].type == M.ERROR
        assert events[-1].get("code") == P.OOM and "smaller size" in events[-1].get("message")
        ok = run(c, seed=0)
        assert ok[-1].type == M.RESULT
        [(image, frame)] = ok[-1].images()
        alpha = np.frombuffer(frame, np.uint8).reshape(image.shape)[:, :, 3]
        assert np.array_equal(alpha, np.arange(30).reshape(6, 5))


@pytest.mark.parametrize("seed, code, words", [(2, P.DIVERGED, "NaN"),
                                               (3, P.INTERNAL, "RuntimeError: boom")])
def test_other_failures_have_stable_codes_and_the_daemon_keeps_serving(server, seed, code, words):
    endpoint, _ = server
    with Client(endpoint) as c:
        last = run(c, seed=seed)[-1]
        assert last.get("code") == code and words in last.get("message")
        assert c.status()["jobs"]["failed"] >= 1
        assert run(c, seed=0)[-1].type == M.RESULT


def test_heartbeats_cover_iterations_slower_than_a_second(server):
    endpoint, _ = server
    with Client(endpoint) as c:
        # the worker is silent for 3.9 s: without heartbeats the client would give up at 2.5 s,
        # with them (one a second; their timing: test_router_heartbeat.py) it hears ~1 s apart
        c.dead_after = 2.5
        events = run(c, seed=4)
        assert events[-1].type == M.RESULT
        assert any(e.get("heartbeat") for e in events)


def test_preview_frames_only_when_asked(server):
    endpoint, _ = server
    with Client(endpoint) as c:
        plain = [e for e in run(c, seed=0) if e.type == M.PROGRESS and e.get("stage") != "starting"]
        assert plain and all(e.preview() is None for e in plain)
        shown = [e for e in run(c, seed=0, preview=64) if e.get("preview")]
        image, frame = shown[0].preview()
        assert (image.width, image.height, image.channels) == (4, 4, 3) and len(frame) == 48


def test_submit_refusals_raise_daemon_error(server):
    endpoint, _ = server
    with Client(endpoint) as c:
        with pytest.raises(DaemonError) as info:
            c.submit([(Image(2, 2, 3), bytes(12))], [Style.raw(2, 2, 3, bytes(12))],
                     {"model": "vgg16"})
        assert info.value.code == P.BAD_REQUEST and "--model" in info.value.message
        with pytest.raises(ValueError):
            c.submit([(Image(2, 2, 3), bytes(11))], [Style.raw(2, 2, 3, bytes(12))])


def _replies(c: Client, within: float = 1.0) -> list[P.Message]:
    """Everything on a client's socket for a while, read raw (bypassing the Client)."""
    got, deadline = [], time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        if c._sock.poll(int(left * 1000)):
            got.append(P.decode(c._sock.recv_multipart(), expect="reply"))
    return got


def test_a_ping_naming_an_ended_job_repeats_its_end_to_its_owner_only(server):
    endpoint, _ = server
    with Client(endpoint, name="owner") as owner, Client(endpoint, name="other") as other:
        job = run(owner, seed=0)[-1].job_id
        _replies(owner, 0.3)  # pongs of pings sent while the job ran
        for c in (owner, other):
            c._sock.send(P.pack_header(P.make_header(M.PING, "p-" + c.name, jobs=[job])))
        mine = [(m.type, m.id) for m in _replies(owner)]
        assert mine == [(M.RESULT, job), (M.PONG, "p-owner")]  # the repeat, then the pong
        [pong] = [m for m in _replies(other) if m.id == "p-other"]
        assert pong.header["jobs"] == {job: "unknown"}  # not its job: no state, no result
        owner._sock.send(P.pack_header(P.make_header(M.PING, "again", jobs=[job])))
        assert owner.poll(timeout=1.0) is None  # a repeat of an end already seen is dropped
