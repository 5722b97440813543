"""The daemon's lifecycle as the plug-in sees it (real GIMP, real daemon processes): started on
demand, a start that fails, a daemon that dies mid-job, and a plug-in that is killed mid-job
(what GIMP does when the user presses the progress bar's cancel button)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from plugin_fixtures import (
    DAEMON_ARGS,
    DAEMON_BIN,
    Client,
    DaemonUnavailable,
    kill_plugin,
    pattern,
    start_daemon,
    trace_lines,
)
from ports import free_port

W, H = 48, 40
#: a job still running when the test acts: many iterations on a layer large enough that the
#: engine's convergence rule does not end it within seconds (a 48x40 one ends after ~50 steps)
LONG_JOB = "iterations=5000"
BUSY = (160, 120)


@pytest.fixture(scope="module")
def style(impasto):
    path = impasto.xchg / "style.png"
    Image.frombytes("RGBA", (32, 32), pattern(32, 32, seed=5)).save(path)
    return impasto.path(path)


def one_layer_run(style: str, extra: str = "", size: tuple[int, int] = (W, H)) -> str:
    """Batch code: stylise one layer; emit the result, the layer names, whether it is intact."""
    w, h = size
    return f"""
        img = Gimp.Image.new({w}, {h}, Gimp.ImageBaseType.RGB)
        src = make_layer(img, "Photo", {w}, {h}, pattern({w}, {h}, 1))
        r = stylize(img, [src], style_file={style!r}{extra})
        emit({{"result": r, "layers": [l.get_name() for l in img.get_layers()],
               "intact": read_pixels(src) == pattern({w}, {h}, 1)}})
        img.delete()
    """


def when_running(daemon, action: Callable[[], None], timeout: float = 60.0) -> threading.Thread:
    """In the background: once ``daemon`` runs a job past its first iteration, do ``action``."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                running = daemon.status()["running"]
            except Exception:
                running = []
            if any(j.get("step", 0) >= 1 for j in running):
                action()
                return
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def test_daemon_is_started_on_demand(impasto, style):
    endpoint = f"tcp://127.0.0.1:{free_port()}"  # nothing listens here yet
    runtime = impasto.xchg / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    command = " ".join([str(DAEMON_BIN), *DAEMON_ARGS])
    try:
        res = impasto.run(one_layer_run(style), endpoint=endpoint, timeout=180, env={
            "IMPASTO_DAEMON": command, "XDG_RUNTIME_DIR": impasto.path(runtime)})
        (got,) = res.data
        assert got["result"]["status"] == "success", (got, res.log)
        assert got["layers"] == ["Photo — style", "Photo"] and got["intact"]
        assert f"daemon at {endpoint} on cpu, started here: True" in trace_lines(res.log)
        assert "starting the daemon" in trace_lines(res.log)
        with Client(endpoint, timeout=3.0) as c:  # it keeps running for the next request
            assert c.hello()["models"][0]["random"] is True
    finally:
        _stop(endpoint, runtime)


def _stop(endpoint: str, runtime: Path) -> None:
    """Stop the daemon the plug-in started (it is detached from GIMP on purpose). Stopping a
    TCP daemon takes the token it wrote in its runtime folder, the one GIMP was given, so the
    client reads it there; a refused stop fails the test (and the daemon is killed anyway)
    rather than leaving it running after the suite."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("XDG_RUNTIME_DIR", str(runtime))
        try:
            with Client(endpoint, timeout=3.0) as c:
                pid = c.hello()["pid"]
        except DaemonUnavailable:
            return  # never started: the test failed before
        try:
            with Client(endpoint, timeout=3.0) as c:
                c.stop()
        finally:
            _wait_or_kill(pid)


def _wait_or_kill(pid: int, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def test_daemon_that_cannot_start_says_what_to_run(impasto, style):
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    runtime = impasto.xchg / "runtime-false"
    runtime.mkdir(mode=0o700, exist_ok=True)
    res = impasto.run(one_layer_run(style), endpoint=endpoint, env={
        "IMPASTO_DAEMON": "/bin/false", "XDG_RUNTIME_DIR": impasto.path(runtime)})
    (got,) = res.data
    assert got["result"]["status"] == "execution-error", (got, res.log)
    message = got["result"]["message"]
    assert "starting one failed" in message and "exited with status 1" in message, message
    assert "start it yourself in a terminal with `impasto-daemon`" in message, message
    assert got["layers"] == ["Photo"] and got["intact"]


def test_daemon_killed_mid_job_is_an_error_and_changes_nothing(impasto, style, tmp_path):
    doomed = start_daemon(tmp_path)
    try:
        watcher = when_running(doomed, doomed.kill)
        res = impasto.run(one_layer_run(style, f", {LONG_JOB}", BUSY),
                          endpoint=doomed.endpoint, timeout=120)
        watcher.join(5)
    finally:
        doomed.kill()
    (got,) = res.data
    assert got["result"]["status"] == "execution-error", (got, res.log)
    # noticed by the client's silence limit (its timing: tests/unit/test_client_clock.py); a
    # killed daemon's job never ends, and the run's own bound would leave no result at all
    assert "stopped answering while it worked" in got["result"]["message"]
    assert "nothing was changed" in got["result"]["message"]
    assert got["layers"] == ["Photo"] and got["intact"]


def test_killed_plugin_gets_its_job_cancelled(impasto, style, daemon):
    """GIMP's cancel button SIGKILLs the plug-in (gimp_plug_in_close(plug_in, TRUE)): the daemon
    must notice that its client vanished and stop the job."""
    killed: dict[str, float] = {}

    def kill() -> None:
        if kill_plugin(impasto):
            killed["at"] = time.monotonic()

    cancelled_before = daemon.status()["jobs"]["cancelled"]
    watcher = when_running(daemon, kill)
    res = impasto.run(one_layer_run(style, f", {LONG_JOB}", BUSY), timeout=120)
    watcher.join(5)
    assert "at" in killed, res.log
    (got,) = res.data
    assert got["result"]["status"] != "success"
    assert got["layers"] == ["Photo"] and got["intact"]
    # the daemon stops the orphaned job quickly
    deadline = killed["at"] + 15
    while time.monotonic() < deadline:
        status = daemon.status()
        if not status["running"] and status["jobs"]["cancelled"] == cancelled_before + 1:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the daemon still runs the orphaned job: {daemon.status()}")
