"""Every command tells the same story about an endpoint that does not answer (issue 19, item
11): ``impasto stylize`` used to start a second daemon there and report its "exited with status
3 ... something else is already listening" for a silent TCP listener, a CurveZMQ key mismatch,
a mute or a stopped daemon, although ``impasto status`` told them apart. Now it reports the
client's own diagnosis, in one line, and starts a daemon only where nothing listens. Each case
is a real process on a real socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
import zmq
import zmq.auth
from daemon_support import IMPASTO, one_line, picture
from PIL import Image as PILImage
from ports import free_port

MUTE_ROUTER = r"""
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.ROUTER)
if len(sys.argv) > 2:
    s.curve_secretkey, s.curve_publickey = sys.argv[2].encode(), sys.argv[3].encode()
    s.curve_server = True
s.bind(sys.argv[1])
print("listening", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def pictures(tmp_path):
    content, style = tmp_path / "c.png", tmp_path / "s.png"
    PILImage.fromarray(picture(20, 24, 4), "RGBA").save(content)
    PILImage.fromarray(picture(32, 32, 3, 4)).save(style)
    return content, style


def commands(endpoint: str, pictures, tmp_path, **env_extra: str) -> tuple[str, str]:
    """(stylize's line, status's line) for ``endpoint``, both exiting 7."""
    env = dict(os.environ, IMPASTO_ENDPOINT=endpoint, XDG_RUNTIME_DIR=str(tmp_path / "run"),
               **env_extra)
    (tmp_path / "run").mkdir(mode=0o700, exist_ok=True)
    out = tmp_path / "out.png"
    lines = []
    for argv in ([IMPASTO, "stylize", str(pictures[0]), str(pictures[1]), "-o", str(out),
                  "--iterations", "3"], [IMPASTO, "status", "--timeout", "2"]):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 7, (argv[1], done.stderr)  # exit_codes.DAEMON_UNAVAILABLE
        lines.append(one_line(done.stderr))
    assert not out.exists()
    for line in lines:
        assert "exited with status" not in line and "already listening" not in line, line
    return lines[0], lines[1]


def mute_router(endpoint: str, *keys: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", MUTE_ROUTER, endpoint, *keys],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "listening"
    return proc


def finish(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


def test_a_silent_tcp_listener_is_called_that_by_stylize_and_status(pictures, tmp_path):
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        stylize, status = commands(f"tcp://127.0.0.1:{srv.getsockname()[1]}", pictures,
                                   tmp_path)
    for line in (stylize, status):
        assert "accepts connections but did not complete the ZeroMQ handshake" in line, line


def test_a_mute_daemon_is_called_hung_by_stylize_and_status(pictures, tmp_path):
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    proc = mute_router(endpoint)
    try:
        stylize, status = commands(endpoint, pictures, tmp_path)
    finally:
        finish(proc)
    for line in (stylize, status):
        assert "connected but did not answer" in line and "hung" in line, line


def test_a_curve_key_mismatch_is_called_that_by_stylize_and_status(pictures, tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    _, server_secret_file = zmq.auth.create_certificates(str(keys), "server")
    wrong_public_file, _ = zmq.auth.create_certificates(str(keys), "wrong")
    _, client_secret_file = zmq.auth.create_certificates(str(keys), "client")
    server_public, server_secret = zmq.auth.load_certificate(server_secret_file)
    os.chmod(client_secret_file, 0o600)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    proc = mute_router(endpoint, server_secret.decode(), server_public.decode())
    try:
        stylize, status = commands(endpoint, pictures, tmp_path,
                                   IMPASTO_CURVE_CLIENT_KEY=client_secret_file,
                                   IMPASTO_CURVE_SERVER_KEY=wrong_public_file)
    finally:
        finish(proc)
    for line in (stylize, status):
        assert "handshake" in line and "IMPASTO_CURVE_SERVER_KEY" in line, line


def test_a_stopped_daemon_is_called_that_by_stylize_and_status(own_daemon, pictures, tmp_path):
    d = own_daemon()
    d.signal(signal.SIGSTOP)
    try:
        stylize, status = commands(d.endpoint, pictures, tmp_path)
    finally:
        d.signal(signal.SIGCONT)
    for line in (stylize, status):
        assert "hung or stopped daemon" in line, line
