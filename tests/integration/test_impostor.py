"""A recorded TCP endpoint whose daemon died leads to whoever holds the port next (issue 19,
item 4): after a kill -9 the announce and token files stay, and a plain ``impasto status`` or
``impasto stylize`` used to send the token and the pictures to that program. Now the daemon
must first answer a challenge with the token's HMAC (daemon_proof.py); the impostor here, a real
ZeroMQ ROUTER on the dead daemon's port that answers like a daemon and records all it receives,
never gets a pixel frame or the token, and the command says so in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from daemon_support import IMPASTO, one_line, picture
from PIL import Image as PILImage
from ports import free_port

from impasto_wire import Client, DaemonNotProven

# a program that speaks enough of the protocol to be taken for the daemon: it welcomes with a
# made-up proof, accepts every job, answers status; it records every message it receives
IMPOSTOR = r"""
import json, os, sys, threading, zmq, msgpack
ctx = zmq.Context()
s = ctx.socket(zmq.ROUTER)
s.setsockopt(zmq.LINGER, 0)
s.bind(sys.argv[1])
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
print("listening", flush=True)
got = []
limits = {"max_message_bytes": 64 << 20, "max_pixels": 1 << 24, "max_styles": 8,
          "max_layers": 16, "max_iterations": 10000, "max_header_bytes": 65536,
          "max_queue": 16, "max_queued_bytes": 1 << 30}
while not stop.is_set():
    if not s.poll(100):
        continue
    ident, head, *frames = s.recv_multipart()
    h = msgpack.unpackb(head, raw=False)
    got.append({"type": h.get("type"), "keys": sorted(h), "frames": [len(f) for f in frames],
                "token": h.get("token")})
    t, i = h.get("type"), h.get("id")
    if t == "hello":
        reply = {"type": "welcome", "daemon_version": "9", "protocol": 2, "device": "cpu",
                 "devices": ["cpu"], "models": [{"name": "vgg19", "label": "x", "random": False}],
                 "limits": limits, "nonce": os.urandom(32), "proof": os.urandom(32)}
    elif t == "stylize":
        reply = {"type": "accepted", "position": 0}
    elif t == "status":
        reply = {"type": "status_reply"}
    else:
        continue
    s.send_multipart([ident, msgpack.packb(dict(reply, v=2, id=i))])
print(json.dumps(got), flush=True)
"""


@pytest.fixture
def dead_daemons_port(own_daemon, tmp_path):
    """A TCP daemon, killed with -9 after it recorded its endpoint and token; the impostor
    then binds its port. Yields (env for our commands, the impostor, the stale files)."""
    d = own_daemon(endpoint=f"tcp://127.0.0.1:{free_port()}")
    env = dict(os.environ, XDG_RUNTIME_DIR=str(d.runtime))
    env.pop("IMPASTO_ENDPOINT", None)
    folder = d.runtime / "impasto"
    port = d.endpoint.rsplit(":", 1)[1]
    stale = {folder / "endpoint": b"", folder / f"tcp-{port}.token": b""}
    for path in stale:
        stale[path] = path.read_bytes()
    ok = subprocess.run([IMPASTO, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr  # our daemon proves itself
    d.signal(signal.SIGKILL)
    d.wait()
    assert all(path.exists() for path in stale)  # kill -9 leaves the record behind
    impostor = subprocess.Popen([sys.executable, "-c", IMPOSTOR, d.endpoint],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert impostor.stdout.readline().strip() == "listening"
        yield env, impostor, stale, d.endpoint
    finally:
        if impostor.poll() is None:
            impostor.kill()
            impostor.wait()


def received(impostor: subprocess.Popen) -> list[dict]:
    out, _ = impostor.communicate("", timeout=30)
    return json.loads(out.strip().splitlines()[-1])


def restore(stale: dict[Path, bytes]) -> None:
    for path, data in stale.items():
        path.write_bytes(data)
        path.chmod(0o600)


def test_an_impostor_on_a_dead_daemons_port_gets_no_token_and_no_pictures(
        dead_daemons_port, tmp_path, monkeypatch):
    env, impostor, stale, endpoint = dead_daemons_port
    monkeypatch.setenv("XDG_RUNTIME_DIR", env["XDG_RUNTIME_DIR"])  # the library, as its user
    status = subprocess.run([IMPASTO, "status"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert status.returncode == 7, status.stderr  # exit_codes.DAEMON_UNAVAILABLE
    line = one_line(status.stderr)
    assert "is not your impasto daemon" in line and "nothing was sent" in line, line
    # the stale record was removed; put it back for the next command to find
    assert not any(path.exists() for path in stale)
    restore(stale)

    content, style = tmp_path / "c.png", tmp_path / "s.png"
    PILImage.fromarray(picture(20, 24, 4), "RGBA").save(content)
    PILImage.fromarray(picture(32, 32, 3, 4)).save(style)
    out = tmp_path / "out.png"
    run = subprocess.run([IMPASTO, "stylize", str(content), str(style), "-o", str(out),
                          "--iterations", "3"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 7, run.stderr
    line = one_line(run.stderr)
    assert "is not your impasto daemon" in line and "nothing was sent" in line, line
    assert not out.exists()

    restore(stale)
    with Client(endpoint, timeout=5.0) as c:  # the library refuses the same way
        with pytest.raises(DaemonNotProven):
            c.status()

    got = received(impostor)
    assert got and {m["type"] for m in got} == {"hello"}, got  # only challenges reached it
    assert all(m["frames"] == [] and m["token"] is None for m in got), got
    assert all("token" not in m["keys"] for m in got), got


def test_a_recorded_endpoint_without_a_token_is_not_trusted(dead_daemons_port, monkeypatch):
    env, impostor, stale, endpoint = dead_daemons_port
    monkeypatch.setenv("XDG_RUNTIME_DIR", env["XDG_RUNTIME_DIR"])
    token = [p for p in stale if p.name.endswith(".token")][0]
    token.unlink()  # the record names the port, but nothing can be proved against it
    with Client(endpoint, timeout=5.0) as c:
        with pytest.raises(DaemonNotProven) as info:
            c.status()
    assert "left no token" in str(info.value)
    got = received(impostor)
    assert all(m["frames"] == [] and m["token"] is None for m in got), got
