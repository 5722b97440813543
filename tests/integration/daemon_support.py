"""Helpers for the daemon tests: the real ``impasto-daemon`` as a subprocess (CPU, random
weights, tiny images), reached only over ZeroMQ. One shared daemon serves the tests that cannot
disturb it; tests that kill, stop or reconfigure a daemon start their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import zmq

from impasto_wire import Client, DaemonUnavailable, Image, Style
from impasto_wire import endpoints as E
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M

BIN = Path(sys.executable).parent
DAEMON = str(BIN / "impasto-daemon")
IMPASTO = str(BIN / "impasto")

# small limits, so the oversize tests stay cheap
SHARED_ARGS = ["--device", "cpu", "--weights", "random", "--max-message-mb", "4",
               "--max-pixels", str(512 * 512), "--max-iterations", "5000",
               "--client-timeout", "3", "--log-level", "debug"]


class DaemonProcess:
    """One daemon subprocess with its own runtime folder (so announce files never leak)."""

    def __init__(self, root: Path, endpoint: str | None, args: list[str],
                 env: dict[str, str] | None = None) -> None:
        self.root = root
        self.runtime = root / "run"
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        self.log = root / "daemon.log"
        self.env = dict(os.environ, XDG_RUNTIME_DIR=str(self.runtime), **(env or {}))
        self.env.pop("IMPASTO_ENDPOINT", None)
        self.argv = [DAEMON] + (["--endpoint", endpoint] if endpoint else []) + args
        self.endpoint = endpoint or f"ipc://{self.runtime}/impasto/daemon.sock"
        self.proc: subprocess.Popen | None = None

    def start(self, wait: float = 90.0, client_kwargs: dict | None = None) -> DaemonProcess:
        self._log = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env, start_new_session=True)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with Client(self.endpoint, timeout=0.5, **(client_kwargs or {})) as c:
                    c.hello()
                return self
            except DaemonUnavailable:
                time.sleep(0.2)
        raise RuntimeError(f"daemon did not answer within {wait} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()


def picture(h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    """Smooth pixels with, for 2/4 channels, an alpha that varies across the image."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * (k + 3) + y * (5 - k)) % 256 for k in range(c)], axis=2)
    noisy = base + rng.integers(0, 20, (h, w, c))
    img = np.clip(noisy, 0, 255).astype(np.uint8)
    if c in (2, 4):
        img[:, :, -1] = ((x * 255) // max(w - 1, 1)).astype(np.uint8)
        img[0, 0, -1], img[-1, -1, -1] = 0, 255
    return np.ascontiguousarray(img)


def raw(pixels: np.ndarray) -> tuple[Image, np.ndarray]:
    h, w, c = pixels.shape
    return Image(w, h, c), pixels


def small_job(client: Client, iterations: int = 3, size: tuple[int, int] = (20, 24),
              seed: int = 0, **kwargs) -> str:
    """Every step asked for is run (tolerance 0): a test's job never converges early."""
    content = picture(*size, 4, seed)
    style = picture(32, 32, 3, seed + 1)
    settings = {"iterations": iterations, "size": None, "multiscale": False, "tolerance": 0}
    return client.submit([raw(content)], [Style(*raw(style))], settings, **kwargs)


def long_job(client: Client, **kwargs) -> str:
    """Runs for a minute on 2 cores unless cancelled."""
    return small_job(client, iterations=4000, size=(64, 64), **kwargs)


def wait_until_optimising(client: Client, job_id: str, timeout: float = 30.0) -> list:
    seen = []
    for ev in client.events(job_id, timeout=timeout):
        seen.append(ev)
        assert ev.type == M.PROGRESS, ev.header
        if ev.get("stage") == "optimising" and ev.get("step", 0) >= 1:
            return seen
    raise AssertionError("job ended before it was optimising")


class RawPeer:
    """A bare DEALER socket, to send what a well-behaved client never would."""

    def __init__(self, endpoint: str) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

    def send(self, parts: list) -> None:
        self.sock.send_multipart(parts)

    def recv(self, timeout: float = 5.0) -> P.Message | None:
        if not self.sock.poll(int(timeout * 1000)):
            return None
        return P.decode(self.sock.recv_multipart(), expect="reply")

    def ask(self, parts: list, timeout: float = 5.0) -> P.Message:
        self.send(parts)
        msg = self.recv(timeout)
        assert msg is not None, "no answer"
        return msg

    def close(self) -> None:
        self.sock.close()
        self.ctx.term()


#: a plain TCP relay (listen port, target port): a link between a client and a daemon that a test
#: can cut (SIGSTOP) while both ends stay alive
TCP_RELAY = """
import socket, sys, threading
listen, target = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen)); srv.listen(8)
print("ready", flush=True)
def pump(a, b):
    while True:
        data = a.recv(65536)
        if not data:
            break
        b.sendall(data)
while True:
    c, _ = srv.accept()
    u = socket.create_connection(("127.0.0.1", target))
    for a, b in ((c, u), (u, c)):
        threading.Thread(target=pump, args=(a, b), daemon=True).start()
"""


def env_without_endpoint(**extra: str) -> dict[str, str]:
    """This environment without any endpoint, key or configuration file the user may have."""
    env = {k: v for k, v in os.environ.items()
           if k not in (E.ENV_ENDPOINT, "XDG_RUNTIME_DIR", "IMPASTO_CURVE_CLIENT_KEY",
                        "IMPASTO_CURVE_SERVER_KEY", "IMPASTO_CONFIG")}
    env["XDG_CONFIG_HOME"] = "/nonexistent/impasto-test-config"
    env.update(extra)
    return env


def one_line(stderr: str) -> str:
    """The one line a failing command printed: no traceback, and nothing else but the warning
    that a test daemon runs random weights."""
    lines = [line for line in stderr.splitlines()
             if line.strip() and "RANDOM weights" not in line]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]
