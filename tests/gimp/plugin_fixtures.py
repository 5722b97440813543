"""Fixtures and batch helpers for the Impasto plug-in tests (real GIMP, real daemon).

``daemon``   session-scoped: the real ``impasto-daemon`` on ``tcp://127.0.0.1:<free port>``
             (CPU, random weights, one thread), started once; ``start_daemon()`` makes more.
``impasto``  session-scoped: the shared warm GIMP profile with the plug-in (and ``impasto_wire``
             beside it) installed; ``impasto.run(code, ...)`` runs batch code with the helpers
             below prepended and the daemon's endpoint in GIMP's environment.

Helpers available to batch code (besides the harness's own):
    ``stylize(image, drawables, **props) -> dict``  run plug-in-impasto-stylize NONINTERACTIVE
        (defaults: size=0, iterations=3; ``style_file="/path"`` becomes a Gio.File); returns
        ``{"status": "success", "layers": [ids]}`` or ``{"status": nick, "message": text}``
    ``tree(image) -> list``    every layer top to bottom, depth first: id, name, parent, position,
        offsets, size, type, mask, group
    ``pixels(layer) -> str``   RGBA bytes as hex;  ``mask_pixels(layer) -> str``  the mask, "Y u8"
    ``make_layer(image, name, w, h, rgba, parent=None, position=0, offsets=(0, 0), gray=False)``
    ``pattern(w, h, seed=0, alpha=False) -> bytes``  the same test picture as on the host

Host-side: ``kill_plugin(impasto)`` SIGKILLs the running plug-in the way GIMP's progress-bar
cancel button does; ``trace_lines(log)`` the plug-in's IMPASTO_DEBUG lines.
"""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from harness import REPO_ROOT, GimpResult, GimpRunner
from ports import free_port

from impasto_wire import Client, DaemonUnavailable

PLUGIN_SRC = REPO_ROOT / "gimp_plugin" / "impasto-stylize"
WIRE_SRC = REPO_ROOT / "shared" / "impasto_wire"
DAEMON_BIN = REPO_ROOT / ".venv" / "bin" / "impasto-daemon"
#: the daemon's options in every test: small, CPU, one thread, labelled random weights
DAEMON_ARGS = ("--device", "cpu", "--weights", "random", "--no-announce", "--log-level", "warning")
LEAN_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
PROCEDURE = "plug-in-impasto-stylize"

BATCH_HELPERS = r'''
import time


def stylize(image, drawables, **props):
    proc = Gimp.get_pdb().lookup_procedure("plug-in-impasto-stylize")
    if proc is None:
        raise RuntimeError("plug-in-impasto-stylize is not registered (see the GIMP log)")
    cfg = proc.create_config()
    cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", list(drawables))
    for key, value in {"size": 0, "iterations": 3, **props}.items():
        key = key.replace("_", "-")
        if key in ("style-file", "style2-file") and isinstance(value, str):
            value = Gio.File.new_for_path(value)
        cfg.set_property(key, value)
    result = proc.run(cfg)
    status = result.index(0)
    if status == Gimp.PDBStatusType.SUCCESS:
        return {"status": "success",
                "layers": [l.get_id() for l in result.get_core_object_array(1)]}
    message = result.index(1) if result.length() > 1 else None  # the error, if any
    return {"status": status.value_nick, "message": message if isinstance(message, str) else None}


def _tree(items, parent):
    out = []
    for pos, item in enumerate(items):
        mask = item.get_mask()
        out.append({"id": item.get_id(), "name": item.get_name(), "parent": parent,
                    "position": pos, "offsets": list(item.get_offsets()[1:]),
                    "size": [item.get_width(), item.get_height()],
                    "type": item.type().value_nick, "mask": mask is not None,
                    "group": isinstance(item, Gimp.GroupLayer)})
        if isinstance(item, Gimp.GroupLayer):
            out += _tree(item.get_children(), item.get_name())
    return out


def tree(image):
    return _tree(image.get_layers(), None)


def pixels(layer):
    return read_pixels(layer).hex()


def mask_pixels(layer):
    mask = layer.get_mask()
    w, h = mask.get_width(), mask.get_height()
    return bytes(mask.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, "Y u8",
                                       Gegl.AbyssPolicy.CLAMP)).hex()


def make_layer(image, name, w, h, rgba, parent=None, position=0, offsets=(0, 0), gray=False):
    kind = Gimp.ImageType.GRAYA_IMAGE if gray else Gimp.ImageType.RGBA_IMAGE
    layer = Gimp.Layer.new(image, name, w, h, kind, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, parent, position)
    layer.set_offsets(*offsets)
    write_pixels(layer, rgba)
    return layer
'''


def pattern(w, h, seed=0, alpha=False):
    """A deterministic RGBA picture with structure (so the optimiser has something to do);
    with ``alpha``, opacity runs from 40 to 255 left to right. Also defined in batch code."""
    out = bytearray()
    for y in range(h):
        for x in range(w):
            a = (40 + (x * 215) // max(1, w - 1)) if alpha else 255
            out += bytes(((x * 7 + seed * 31) % 256, (y * 11 + seed * 17) % 256,
                          ((x ^ y) * 5 + seed) % 256, a))
    return bytes(out)


class DaemonProcess:
    """A real impasto-daemon this test session started (and stops)."""

    def __init__(self, endpoint: str, proc: subprocess.Popen, log: Path) -> None:
        self.endpoint = endpoint
        self.proc = proc
        self.log = log

    def client(self, timeout: float = 3.0) -> Client:
        return Client(self.endpoint, timeout=timeout, name="impasto-gimp-tests")

    def status(self) -> dict:
        with self.client() as c:
            return c.status()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: a crash, not a shutdown."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                with self.client() as c:
                    c.stop()
                self.proc.wait(15)
            except (DaemonUnavailable, subprocess.TimeoutExpired):
                self.kill()


def start_daemon(log_dir: Path) -> DaemonProcess:
    """The real daemon on a free loopback port; waits until it says hello."""
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    log = log_dir / f"daemon-{endpoint.rsplit(':', 1)[1]}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(DAEMON_BIN), "--endpoint", endpoint, *DAEMON_ARGS],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, **LEAN_ENV},
        )
    daemon = DaemonProcess(endpoint, proc, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"impasto-daemon exited ({proc.returncode}):\n{daemon.log_text()}")
        try:
            with daemon.client(timeout=1.0) as c:
                c.hello()
            return daemon
        except DaemonUnavailable:
            time.sleep(0.3)
    daemon.kill()
    raise RuntimeError(f"impasto-daemon did not answer within 90 s:\n{daemon.log_text()}")


class Impasto:
    """The warm GIMP profile with the plug-in installed, talking to ``daemon``."""

    def __init__(self, gimp: GimpRunner, daemon: DaemonProcess) -> None:
        self.gimp = gimp
        self.daemon = daemon
        self.xchg = gimp.xchg

    def path(self, host_path: Path) -> str:
        """The path GIMP sees for a host path."""
        return self.gimp.root_path(host_path)

    def run(self, code: str, *, endpoint: str | None = None,
            env: Mapping[str, str] | None = None, **kw) -> GimpResult:
        """Batch ``code`` with BATCH_HELPERS, IMPASTO_ENDPOINT and IMPASTO_DEBUG=1 set."""
        full_env = {**LEAN_ENV, "IMPASTO_DEBUG": "1",
                    "IMPASTO_ENDPOINT": endpoint or self.daemon.endpoint, **(env or {})}
        helpers = BATCH_HELPERS + "\n" + inspect.getsource(pattern)
        return self.gimp.run_batch(helpers + "\n" + textwrap.dedent(code),
                                   env=full_env, **kw)


@pytest.fixture(scope="session")
def daemon(tmp_path_factory):
    d = start_daemon(tmp_path_factory.mktemp("daemon"))
    yield d
    d.stop()


@pytest.fixture(scope="session")
def impasto(gimp, daemon):
    gimp.install_plugin(PLUGIN_SRC, extra=[WIRE_SRC])
    yield Impasto(gimp, daemon)
    gimp.remove_plugin("impasto-stylize")


def kill_plugin(impasto: Impasto) -> bool:
    """SIGKILL the running impasto-stylize plug-in, as GIMP's progress-bar cancel button does
    (``gimp_plug_in_close(plug_in, TRUE)``). True when one was found."""
    needle = f"{impasto.path(impasto.gimp.profile)}/plug-ins/impasto-stylize/".encode()
    killed = False
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if needle in cmdline:
            os.kill(int(pid), signal.SIGKILL)
            killed = True
    return killed


def trace_lines(log: str) -> list[str]:
    """The plug-in's IMPASTO_DEBUG lines, without their prefix."""
    prefix = "impasto-stylize: "
    return [line[len(prefix):] for line in log.splitlines() if line.startswith(prefix)]
