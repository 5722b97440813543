"""CurveZMQ on tcp (allowed key works, unknown key gets nothing) and the command line's daemon
commands (keys, status, stylize through the daemon, cancel, stop)."""

from __future__ import annotations

import argparse
import os
import stat
import subprocess

import numpy as np
import pytest
from daemon_support import IMPASTO, picture, raw, small_job
from PIL import Image as PILImage
from ports import free_port

from impasto_daemon.cli import exit_codes, remote_cmds
from impasto_wire import Client, DaemonUnavailable, Style
from impasto_wire import protocol as P
from impasto_wire.curve import CurveClientKeys, create_key_pair
from impasto_wire.protocol import MessageType as M


def make_keys(folder, name) -> tuple[str, str]:
    out = subprocess.run([IMPASTO, "keys", str(folder), "--name", name],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return str(folder / f"{name}.key"), str(folder / f"{name}.key_secret")


def test_curve_allowed_key_works_unknown_key_gets_nothing_and_stop_is_local(own_daemon, tmp_path):
    server_pub, server_sec = make_keys(tmp_path / "server", "server")
    alice_pub, alice_sec = map(str, create_key_pair(tmp_path / "alice", "alice"))
    _, mallory_sec = create_key_pair(tmp_path / "mallory", "mallory")
    assert stat.S_IMODE(os.stat(server_sec).st_mode) == 0o600
    allowed = tmp_path / "allowed"
    allowed.mkdir(mode=0o700)
    (allowed / "alice.key").write_bytes(open(alice_pub, "rb").read())

    alice = CurveClientKeys.load(alice_sec, server_pub)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    d = own_daemon(endpoint=endpoint, args=[
        "--device", "cpu", "--weights", "random", "--curve-secret-key", server_sec,
        "--curve-allowed-keys", str(allowed), "--no-announce",
    ], client_kwargs={"curve": alice})

    with Client(endpoint, curve=alice) as c:
        assert c.hello()["protocol"] == P.PROTOCOL_VERSION
        job = small_job(c, iterations=2)
        assert c.wait(job, timeout=60).type == M.RESULT

    mallory = CurveClientKeys.load(mallory_sec, server_pub)
    for keys in (mallory, None):  # an unknown key, and no encryption at all
        with pytest.raises(DaemonUnavailable):
            with Client(endpoint, curve=keys, timeout=1.5) as c:
                c.hello()

    # the daemon's own user on its machine (same runtime folder): stop is allowed
    env = dict(os.environ, IMPASTO_ENDPOINT=endpoint, IMPASTO_CURVE_CLIENT_KEY=alice_sec,
               IMPASTO_CURVE_SERVER_KEY=server_pub, XDG_RUNTIME_DIR=str(d.runtime))
    out = subprocess.run([IMPASTO, "stop"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert d.wait(timeout=20) == 0


def test_stylize_through_the_daemon_then_cancel_from_the_shell(daemon, tmp_path, capsys):
    content, style, out_png = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "out.png"
    pixels = picture(20, 24, 4)
    PILImage.fromarray(pixels, "RGBA").save(content)
    PILImage.fromarray(picture(32, 32, 3, 4)).save(style)
    env = dict(os.environ, IMPASTO_ENDPOINT=daemon.endpoint)
    run = subprocess.run(
        [IMPASTO, "stylize", str(content), str(style), "-o", str(out_png), "--iterations", "3",
         "--size", "0", "--no-multiscale"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "RANDOM" in run.stderr  # the user is told the weights are not a real model
    result = np.asarray(PILImage.open(out_png))
    assert result.shape == (20, 24, 4)
    assert np.array_equal(result[:, :, 3], pixels[:, :, 3])

    args = argparse.Namespace(endpoint=daemon.endpoint, timeout=5.0, job_id="no-such-job")
    assert remote_cmds.cancel_cmd(args) == exit_codes.FAILED
    assert "not queued or running" in capsys.readouterr().err

    with Client(daemon.endpoint) as c:
        job = c.submit([raw(picture(64, 64, 3))], [Style(*raw(picture(32, 32, 3)))],
                       {"iterations": 4000, "size": None, "multiscale": False})
        proc = subprocess.Popen([IMPASTO, "cancel", job], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        events = []
        while not (events and events[-1].terminal):  # keep polling: the client stays alive
            ev = c.poll(timeout=0.2)
            if ev is not None:
                events.append(ev)
        assert proc.wait(60) == 0, proc.stderr.read()
        assert events[-1].type == M.CANCELLED and events[-1].get("reason") == "cancel"
