"""The command line and the daemon against a hostile or unlucky setup (issue 10): a runtime folder
planted by another user, a fake daemon on the old fixed TCP port, failures under ``-q``, a pipe
closed early, an image too large to decode. Real processes throughout; the other user is a real
second uid where the test runs as root."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from daemon_support import DAEMON, IMPASTO, env_without_endpoint, one_line, picture
from PIL import Image as PILImage

from impasto_wire import Client
from impasto_wire import endpoints as E

OTHER_UID = 65534  # "nobody" plays the other local user
as_root = pytest.mark.skipif(os.geteuid() != 0,
                             reason="needs root to act as a second user (chown, setpriv)")


def images(folder: Path, content_size: tuple[int, int] = (20, 24),
           style_size: tuple[int, int] = (32, 32)) -> tuple[Path, Path]:
    content, style = folder / "content.png", folder / "style.png"
    PILImage.fromarray(picture(*content_size, 4), "RGBA").save(content)
    PILImage.fromarray(picture(*style_size, 3, 4)).save(style)
    return content, style


def cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([IMPASTO, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)




# --- item 1: a planted runtime folder never moves anyone to TCP --------------------------------

FAKE_DAEMON = r"""
import sys, zmq
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M
ctx = zmq.Context(); sock = ctx.socket(zmq.ROUTER); sock.setsockopt(zmq.LINGER, 0)
try:
    sock.bind(sys.argv[1])
except zmq.ZMQError as exc:
    print("cannot bind", exc, flush=True); sys.exit(3)
print("ready", flush=True)
while True:
    ident, *parts = sock.recv_multipart()
    msg = P.decode(parts, expect="request")
    print("got", msg.type, flush=True)
    if msg.type == M.HELLO:  # pose as a daemon with real weights, as the attacker did
        welcome = P.make_header(M.WELCOME, msg.id, daemon_version="9", protocol=P.PROTOCOL_VERSION,
                                device="cpu", devices=["cpu"], limits=P.Limits().to_dict(),
                                models=[{"name": "vgg19", "label": "VGG19 ImageNet",
                                         "random": False}])
        sock.send_multipart([ident, *P.encode(welcome)])
"""


@pytest.fixture
def fake_daemon_of_another_user(tmp_path):
    """A fake daemon run as uid 65534 on the port the client once fell back to."""
    endpoint = f"tcp://127.0.0.1:{E.DEFAULT_TCP_PORT}"
    proc = subprocess.Popen(
        ["setpriv", "--reuid", str(OTHER_UID), "--regid", str(OTHER_UID), "--clear-groups",
         sys.executable, "-c", FAKE_DAEMON, endpoint],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd="/",
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    first = proc.stdout.readline().strip()
    if first != "ready":
        proc.kill()
        pytest.skip(f"the fake daemon cannot listen on {endpoint}: {first or proc.wait()}")
    yield proc
    proc.kill()
    proc.wait(5)


def heard(proc: subprocess.Popen) -> list[str]:
    proc.kill()
    return [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]


@as_root
@pytest.mark.parametrize("where", ["XDG_RUNTIME_DIR", "temp folder"])
def test_the_cli_never_talks_to_another_users_fake_daemon_through_a_planted_folder(
        tmp_path, short_tmp, fake_daemon_of_another_user, where):
    shared = tmp_path / "shared"  # a sticky, world-writable folder like /tmp
    shared.mkdir()
    os.chmod(shared, 0o1777)
    if where == "XDG_RUNTIME_DIR":  # a session whose runtime folder is a shared one
        planted = shared / "impasto"
        env = env_without_endpoint(XDG_RUNTIME_DIR=str(shared))
    else:  # no XDG_RUNTIME_DIR: the folder the client used to expect in the temp dir
        planted = shared / f"impasto-{os.getuid()}"
        env = env_without_endpoint(TMPDIR=str(shared), XDG_CACHE_HOME=str(short_tmp / "cache"))
    planted.mkdir(mode=0o777)
    os.chmod(planted, 0o777)
    os.chown(planted, OTHER_UID, OTHER_UID)
    env["IMPASTO_DAEMON"] = "false"  # starting a real daemon is not what is tested here
    content, style = images(tmp_path)
    out = tmp_path / "out.png"
    run = cli("stylize", str(content), str(style), "-o", str(out), "--iterations", "2", "-q",
              env=env)
    assert heard(fake_daemon_of_another_user) == [], "the CLI talked to the fake daemon"
    assert run.returncode != 0 and not out.exists()
    if where == "XDG_RUNTIME_DIR":
        assert run.returncode == 2
        line = one_line(run.stderr)
        assert f"{planted} belongs to user nobody" in line and "XDG_RUNTIME_DIR" in line
    else:  # the private folder in the user's cache is used; no daemon could start there
        assert run.returncode == 7
        assert f"see {short_tmp}/cache/impasto/run/daemon.log" in one_line(run.stderr)


@pytest.mark.parametrize("explicit", [False, True])
def test_the_daemon_refuses_a_planted_runtime_folder_in_one_line_before_loading_weights(
        tmp_path, explicit):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    os.symlink(tmp_path, runtime / "impasto")  # plantable by anyone in a shared folder
    argv = [DAEMON, "--device", "cpu", "--weights", str(tmp_path / "absent.pth")]
    if explicit:  # a good socket path, but the announce file would go in the planted folder
        argv += ["--endpoint", f"ipc://{tmp_path}/sock/d.sock"]
    run = subprocess.run(argv, env=env_without_endpoint(XDG_RUNTIME_DIR=str(runtime)),
                         capture_output=True, text=True, timeout=120)
    # 2 (configuration), not 4: the missing weights file was never looked at
    assert run.returncode == 2, run.stderr
    line = one_line(run.stderr)
    assert f"{runtime / 'impasto'} is a symbolic link" in line


# --- item 7: -q silences progress only ---------------------------------------------------------


def test_quiet_still_says_why_an_oversized_style_is_refused(daemon, tmp_path):
    content, style = images(tmp_path, style_size=(600, 520))  # > the daemon's 512*512 pixels
    run = cli("stylize", str(content), str(style), "-o", str(tmp_path / "o.png"), "-q",
              env=env_without_endpoint(IMPASTO_ENDPOINT=daemon.endpoint))
    assert run.returncode == 2
    line = one_line(run.stderr)
    assert "520x600 is 0.31 Mpx" in line  # width x height
    assert f"limit of {512 * 512} pixels" in line  # the daemon's, from its hello


def test_quiet_still_says_the_optimisation_diverged(daemon, tmp_path):
    content, style = images(tmp_path)
    run = cli("stylize", str(content), str(style), "-o", str(tmp_path / "o.png"), "-q",
              "--style-weight", "1e38", "--size", "0", "--iterations", "3", "--no-multiscale",
              env=env_without_endpoint(IMPASTO_ENDPOINT=daemon.endpoint))
    assert run.returncode == 6
    assert "NaN/infinite" in one_line(run.stderr)


def test_quiet_still_says_the_daemon_died(own_daemon, tmp_path):
    d = own_daemon()
    content, style = images(tmp_path, content_size=(64, 64))
    proc = subprocess.Popen(
        [IMPASTO, "stylize", str(content), str(style), "-o", str(tmp_path / "o.png"), "-q",
         "--iterations", "4000", "--size", "0", "--no-multiscale"],
        env=env_without_endpoint(IMPASTO_ENDPOINT=d.endpoint), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    with Client(d.endpoint, timeout=5) as c:
        deadline = time.monotonic() + 60
        while not c.status().get("running"):
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
            time.sleep(0.2)
    d.signal(signal.SIGKILL)
    assert proc.wait(30) == 7
    line = one_line(proc.stderr.read())
    assert "stopped answering" in line


# --- item 12: pipes closed early, ids too long, images too large to decode ---------------------


def test_status_into_a_pipe_closed_early_leaves_without_a_traceback(daemon):
    proc = subprocess.Popen([IMPASTO, "status"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env_without_endpoint(IMPASTO_ENDPOINT=daemon.endpoint))
    proc.stdout.close()  # `| head` that has already read what it wanted
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 141 and err == ""


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height RGB pixels and holds none: cheap to make, and fatal
    to whoever tries to decode it rather than read its header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_a_huge_style_is_refused_from_its_header_quoting_the_daemons_limit(daemon, tmp_path):
    content, _ = images(tmp_path)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(9000, 9000))  # 81 Mpx declared in 57 bytes
    run = cli("stylize", str(content), str(bomb), "-o", str(tmp_path / "o.png"), "-q",
              env=env_without_endpoint(IMPASTO_ENDPOINT=daemon.endpoint))
    assert run.returncode == 2  # too large, refused unread (a decode would fail: exit 3)
    line = one_line(run.stderr)
    assert "9000x9000 is 81.0 Mpx" in line and f"limit of {512 * 512} pixels" in line

