"""Jobs through the real daemon: hello, round trip, concurrency, cancel, retries, vanishing
clients, status — all over ZeroMQ."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from daemon_support import long_job, picture, raw, small_job, wait_until_optimising
from PIL import Image as PILImage

from impasto_wire import Client, JobCancelled, Style
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M


def test_hello_announces_versions_models_and_limits(client):
    w = client.hello()
    assert w["protocol"] == P.PROTOCOL_VERSION and w["daemon_version"]
    assert w["device"] == "cpu" and "cpu" in w["devices"]
    [model] = w["models"]
    assert model["name"] == "vgg19" and model["random"] is True
    assert "RANDOM" in model["label"]
    assert client.limits == P.Limits(max_message_bytes=4 * 2**20, max_pixels=512 * 512,
                                     max_iterations=5000)
    assert set(w["encodings"]) == set(P.ENCODINGS)


def test_round_trip_streams_progress_and_keeps_alpha_pixel_exact(client):
    content = picture(20, 24, 4)
    style_png = io.BytesIO()
    PILImage.fromarray(picture(30, 30, 3, 7)).save(style_png, "PNG")
    job = client.submit(
        [raw(content)],
        [Style(*raw(picture(32, 32, 3, 1)), weight=2.0),
         Style.encoded(style_png.getvalue(), "png", weight=1.0)],
        {"iterations": 6, "size": None, "multiscale": False, "seed": 3},
        preview=64,
    )
    events = list(client.events(job, timeout=60))
    progress = [e for e in events if e.type == M.PROGRESS]
    assert events[-1].type == M.RESULT, events[-1].header
    assert progress and progress[-1].get("steps") == 6 and progress[-1].get("fraction") == 1.0
    assert all(e.job_id == job for e in events)
    for e in progress:
        assert {"stage", "fraction", "scale", "scales", "step", "steps", "loss", "elapsed",
                "layer", "layers"} <= set(e.header)
    [(image, frame)] = events[-1].images()
    assert (image.width, image.height, image.channels) == (24, 20, 4)
    out = np.frombuffer(frame, np.uint8).reshape(image.shape)
    assert np.array_equal(out[:, :, 3], content[:, :, 3])
    [stats] = events[-1].get("stats")
    assert stats["iterations"] == 6 and stats["seed"] == 3 and stats["device"] == "cpu"
    assert stats["seconds"] > 0
    assert 0 <= stats["photo_kept"] <= 1 and stats["kept_asked"] == pytest.approx(0.45)  # at 50


def test_several_layers_come_back_together_at_their_own_sizes(client):
    contents = [raw(picture(20, 24, 4, 1)), raw(picture(33, 17, 3, 2)), raw(picture(16, 16, 1))]
    job = client.submit(contents, [Style(*raw(picture(32, 32, 3)))],
                        {"iterations": 2, "size": None, "multiscale": False})
    result = client.wait(job, timeout=60)
    shapes = [(im.height, im.width, im.channels) for im, _ in result.images()]
    assert shapes == [(20, 24, 4), (33, 17, 4), (16, 16, 4)]
    rgb_in = contents[1][1]
    out = np.frombuffer(result.images()[1][1], np.uint8).reshape(33, 17, 4)
    assert (out[:, :, 3] == 255).all() and rgb_in.shape == (33, 17, 3)
    assert len(result.get("stats")) == 3


@pytest.mark.parametrize("mode, fmt", [("L", "PNG"), ("P", "PNG"), ("RGB", "JPEG"),
                                       ("RGBA", "WEBP"), ("I;16", "TIFF"), ("RGB", "BMP")])
def test_encoded_style_formats_and_modes(client, mode, fmt):
    im = PILImage.fromarray(picture(24, 24, 3, 5)).convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        im = PILImage.fromarray(np.asarray(im).astype(np.uint16) * 257)
    buf = io.BytesIO()
    im.save(buf, fmt)
    job = client.submit([raw(picture(16, 16, 3))], [Style.encoded(buf.getvalue(), fmt.lower())],
                        {"iterations": 1, "size": None, "multiscale": False})
    assert client.wait(job, timeout=60).type == M.RESULT


def test_two_clients_at_once_each_get_only_their_own_events(daemon):
    with Client(daemon.endpoint) as a, Client(daemon.endpoint) as b:
        ja = small_job(a, iterations=4, seed=1)
        jb = small_job(b, iterations=4, seed=2)
        got = {ja: [], jb: []}
        for c, j in ((a, ja), (b, jb)):
            while True:
                ev = c.poll(timeout=30)
                assert ev is not None
                got[j].append(ev)
                if ev.terminal:
                    break
        for j in (ja, jb):
            assert all(e.job_id == j for e in got[j])
            assert got[j][-1].type == M.RESULT


def test_duplicate_submit_runs_once_and_a_late_retry_replays_the_result(client):
    before = client.status()["jobs"]["completed"]
    job = small_job(client, iterations=3, seed=9)
    again = small_job(client, iterations=3, seed=9, job_id=job)
    assert again == job
    events = list(client.events(job, timeout=60))
    assert [e.type for e in events].count(M.RESULT) == 1
    assert client.poll(timeout=0.5) is None  # no second run streaming in
    assert client.status()["jobs"]["completed"] == before + 1
    small_job(client, iterations=3, seed=9, job_id=job)  # a retry after it finished
    replay = list(client.events(job, timeout=10))
    assert [e.type for e in replay] == [M.RESULT]
    assert bytes(replay[0].frames[0]) == bytes(events[-1].frames[0])
    assert client.status()["jobs"]["completed"] == before + 1


def test_cancel_mid_job_stops_it_and_the_next_job_succeeds(daemon, client):
    job = long_job(client)
    wait_until_optimising(client, job)
    with Client(daemon.endpoint) as other:  # like `impasto cancel ID` from a shell
        # True is the daemon's answer (its "cancelled"): a cancel nobody answers raises
        # DaemonUnavailable when the client's timeout runs out (Client.cancel -> _wait)
        assert other.cancel(job) is True
    with pytest.raises(JobCancelled):
        client.wait(job, timeout=10)
    assert client.status()["running"] == []
    nxt = small_job(client, iterations=2)
    assert client.wait(nxt, timeout=60).type == M.RESULT


def test_cancel_a_queued_job_and_an_unknown_one(client):
    first = long_job(client)
    queued = small_job(client, iterations=2)
    assert queued in client.status()["queued"]
    assert client.cancel(queued) is True
    assert client.cancel(first) is True
    assert client.cancel("no-such-job") is False
    for job in (first, queued):
        with pytest.raises(JobCancelled):
            client.wait(job, timeout=10)


def test_a_client_that_says_bye_gets_its_job_cancelled(daemon, client):
    c = Client(daemon.endpoint)
    job = long_job(c)
    wait_until_optimising(c, job)
    c.close()  # sends bye
    _wait_until_idle(client, job)


def test_a_client_that_goes_silent_gets_its_job_cancelled(daemon, client):
    c = Client(daemon.endpoint)
    job = long_job(c)
    # never poll again: no pings, so after --client-timeout (3 s) the daemon gives up on it
    _wait_until_idle(client, job, within=10.0)
    c._active.clear()
    c.close()


def _wait_until_idle(client: Client, job: str, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        st = client.status()
        if not any(r["id"] == job for r in st["running"]) and job not in st["queued"]:
            return
        time.sleep(0.2)
    raise AssertionError(f"job {job} still alive after {within} s")


def test_status_shows_the_running_job_and_memory(client):
    job = long_job(client)
    wait_until_optimising(client, job)
    st = client.status()
    assert [r["id"] for r in st["running"]] == [job]
    assert st["memory"]["rss_bytes"] > 0 and st["device"] == "cpu"
    assert st["models"][0]["random"] is True
    client.cancel(job)
    with pytest.raises(JobCancelled):
        client.wait(job, timeout=10)


def test_progress_streams_and_a_cancel_from_inside_the_event_loop_ends_it(client):
    """Cancelling one's own job while reading its events: the cancel's answer is also the end
    of that stream. (That progress comes at least once every HEARTBEAT seconds is proven on the
    router's own, injected clock: tests/unit/test_router_heartbeat.py.)"""
    job = small_job(client, iterations=400, size=(64, 64))
    events, cancelled = [], False
    for ev in client.events(job, timeout=120):
        events.append(ev)
        if ev.type == M.PROGRESS and ev.get("step", 0) >= 40 and not cancelled:
            cancelled = client.cancel(job)
    assert cancelled is True
    assert events[-1].type == M.CANCELLED and events[-1].get("reason") == "cancel"
    assert max(e.get("step", 0) for e in events if e.type == M.PROGRESS) < 400  # mid-run
