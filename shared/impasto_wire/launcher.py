"""How to start the daemon, decided once, and starting it on demand (``impasto stylize``, the
GIMP plug-in) and waiting for it.

``daemon_command`` is the one resolver: ``$IMPASTO_DAEMON`` (a shell-style command line) if set,
else the configuration file (``daemon_config``: its program, ``--config`` its path), else
``impasto-daemon`` on PATH or next to the running Python. install.sh writes the systemd unit's
ExecStart and its hints with it too (``python -m impasto_wire.launcher``), so every way of
starting the daemon runs the same command line.

The daemon runs detached (own session, so closing GIMP or the terminal does not kill it), with
its output in ``daemon.log`` in the runtime folder; each start moves the previous log to
``daemon.log.1`` so the log holds this run's messages only.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from . import daemon_config
from .client import Client, DaemonUnavailable
from .curve import ENV_CLIENT_KEY, ENV_SERVER_KEY
from .endpoints import (
    ENV_ENDPOINT,
    LOG_FILE,
    default_endpoint,
    discover_endpoint,
    is_loopback_endpoint,
    runtime_dir,
)

ENV_DAEMON = "IMPASTO_DAEMON"
PROGRAM = "impasto-daemon"
#: the daemon's exit status for missing weights (server/daemon.py EXIT_WEIGHTS, CLI exit 4)
EXIT_WEIGHTS = 4
#: seconds a connected daemon gets to answer before it is called hung
BUSY_PATIENCE = 5.0


class DaemonExited(DaemonUnavailable):
    """The daemon we started exited before answering; ``status`` is its exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def find_program() -> str | None:
    """``impasto-daemon`` on PATH, else beside the running Python (a venv's bin/)."""
    found = shutil.which(PROGRAM)
    if found is None:
        sibling = Path(sys.executable).with_name(PROGRAM)
        found = str(sibling) if sibling.exists() else None
    return found


def daemon_command(config_path: Path | None = None) -> list[str]:
    """The command line that starts the daemon, from the one configuration.

    ``config_path`` names the configuration file when the caller knows better than the
    default (the plug-in, whose GIMP may run with another HOME, reads the path install.sh left
    beside it). Raises DaemonUnavailable saying what to configure when no program is found.
    """
    env = os.environ.get(ENV_DAEMON, "").strip()
    if env:
        return shlex.split(env)
    path = Path(config_path) if config_path is not None else daemon_config.default_path()
    try:
        cfg = daemon_config.load(path)
    except daemon_config.ConfigError as exc:
        raise DaemonUnavailable(str(exc)) from None
    program = (cfg.program if cfg is not None and cfg.program else None) or find_program()
    if program is None:
        raise DaemonUnavailable(
            f"cannot find the {PROGRAM} program; install impasto (./install.sh), set "
            f"daemon.program in {path}, or set {ENV_DAEMON} to the command that starts it"
        )
    return [program, "--config", str(path)] if cfg is not None else [program]


def configured_endpoint(config_path: Path | None = None) -> str:
    """Where clients look for the daemon: ``$IMPASTO_ENDPOINT``, else the configuration's
    endpoint, else the announced or default one (``endpoints.discover_endpoint``)."""
    if not os.environ.get(ENV_ENDPOINT, "").strip():
        try:
            cfg = daemon_config.load(config_path)
        except daemon_config.ConfigError:
            cfg = None  # daemon_command reports it when a start is attempted
        if cfg is not None and cfg.endpoint:
            return cfg.endpoint
    return discover_endpoint()


def configured_defaults(config_path: Path | None = None) -> tuple[str, object]:
    """(default model, weights) the configuration names, for a run that has none of its own:
    the first configured model and {model: source}; ("vgg19", "torchvision") without a file.
    An unreadable file raises DaemonUnavailable with its reason."""
    try:
        cfg = daemon_config.load(config_path)
    except daemon_config.ConfigError as exc:
        raise DaemonUnavailable(str(exc)) from None
    if cfg is None:
        return "vgg19", "torchvision"
    return cfg.default_model, {m: cfg.weights_for(m) for m in cfg.models}


def launch_argv(endpoint: str, command: Sequence[str] | None = None,
                config_path: Path | None = None) -> list[str]:
    """The full argv a start runs: the configured command, plus ``--endpoint`` only when the
    daemon would not choose ``endpoint`` by itself (so an ordinary start is exactly the
    configured command line, the same as the systemd unit's)."""
    argv = list(command) if command else daemon_command(config_path)
    own = None
    try:
        cfg = daemon_config.load(config_path)
        own = cfg.endpoint if cfg is not None and cfg.endpoint else None
    except daemon_config.ConfigError:
        pass
    if endpoint != (own or default_endpoint()):
        argv += ["--endpoint", endpoint]
    return argv


def start_hint(config_path: Path | None = None) -> str:
    """How a person starts the daemon by hand: the exact configured command line."""
    try:
        return shlex.join(daemon_command(config_path))
    except DaemonUnavailable as exc:
        return str(exc)


def curve_configured() -> bool:
    """True when this client is set up for CurveZMQ (either key variable set)."""
    return bool(os.environ.get(ENV_CLIENT_KEY, "").strip()
                or os.environ.get(ENV_SERVER_KEY, "").strip())


def answers(endpoint: str, timeout: float = 1.0) -> bool:
    """True when a daemon says hello at ``endpoint`` within ``timeout`` seconds."""
    try:
        with Client(endpoint, timeout=timeout) as c:
            c.hello()
        return True
    except DaemonUnavailable:
        return False


def probe(endpoint: str, timeout: float = 1.0) -> bool:
    """True when our daemon says hello at ``endpoint``, False when nothing listens there; the
    client's diagnosis (DaemonUnavailable) when something else is there (a silent listener, a
    CurveZMQ mismatch, a stopped or hung daemon, an impostor): a daemon started now would only
    collide with it, and "already running" would hide what is wrong (issue 19, item 11)."""
    try:
        with Client(endpoint, timeout=timeout) as c:
            c.hello()
        return True
    except DaemonUnavailable as exc:
        if exc.kind == DaemonUnavailable.ABSENT:
            return False
        if exc.kind == DaemonUnavailable.HUNG and timeout < BUSY_PATIENCE:
            return probe(endpoint, BUSY_PATIENCE)  # a busy daemon may answer a little later
        raise


def log_path() -> Path:
    return runtime_dir() / LOG_FILE


def _tail(log: Path, lines: int = 5) -> str:
    """The end of the daemon's log, which usually says what went wrong."""
    try:
        with open(log, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4096))
            text = f.read().decode("utf-8", "replace").splitlines()[-lines:]
    except OSError:
        return ""
    return ":\n  " + "\n  ".join(text) if text else ""


def _fresh_log(log: Path) -> int:
    """Open a new log for this start, keeping the previous one as ``daemon.log.1``; never
    through a symlink (the runtime folder is private, but a log is a file we write)."""
    try:
        os.replace(str(log), str(log) + ".1")
    except FileNotFoundError:
        pass
    return os.open(str(log), os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                   | getattr(os, "O_NOFOLLOW", 0), 0o600)


def _close_log(log: Path, status: int) -> None:
    """End the log with a newline and the exit status, so a copy of it reads cleanly."""
    try:  # never through a symlink, like _fresh_log
        fd = os.open(str(log), os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb+") as f:
            f.seek(0, 2)
            if f.tell():
                f.seek(-1, 2)
                if f.read(1) != b"\n":
                    f.write(b"\n")
            f.write(f"(impasto-daemon exited with status {status})\n".encode())
    except OSError:
        pass


def ensure_daemon(endpoint: str | None = None, command: Sequence[str] | None = None,
                  wait: float = 120.0, config_path: Path | None = None) -> bool:
    """Make sure a daemon answers at ``endpoint``; return True if this call started one.

    Without ``command`` the daemon is started as ``daemon_command`` says. Raises
    DaemonUnavailable when it cannot be started or does not answer within ``wait`` seconds
    (loading a model onto a GPU can take a while on first start), DaemonExited when it exited
    first; the message ends with the log's last lines.
    """
    endpoint = endpoint or configured_endpoint(config_path)
    if probe(endpoint):
        return False
    if not is_loopback_endpoint(endpoint):
        raise DaemonUnavailable(f"no daemon answers at {endpoint}, and a remote daemon cannot "
                                "be started from here")
    if curve_configured():
        raise DaemonUnavailable(
            f"no CurveZMQ daemon answers at {endpoint}; this client is set up for CurveZMQ "
            f"({ENV_CLIENT_KEY}, {ENV_SERVER_KEY}), so it never starts a daemon itself (one "
            "started here would listen without keys, open to every local user): start the "
            "daemon with --curve-secret-key and --curve-allowed-keys, or unset both variables "
            "to use a local daemon")
    argv = launch_argv(endpoint, command, config_path)
    log = log_path()
    fd = _fresh_log(log)
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, close_fds=True,
            start_new_session=True, cwd=str(runtime_dir()),
        )
    except OSError as exc:
        raise DaemonUnavailable(f"cannot start {argv[0]}: {exc}") from None
    finally:
        os.close(fd)
    # reap it when it exits, so a long-lived caller is not left holding a zombie
    threading.Thread(target=proc.wait, name="impasto-daemon-reaper", daemon=True).start()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if answers(endpoint, timeout=0.5):
            return True
        code = proc.poll()
        if code is not None:
            if answers(endpoint, timeout=1.0):  # another one won the race ("already running")
                return False
            tail = _tail(log)
            _close_log(log, code)
            raise DaemonExited(f"the daemon exited with status {code} before answering; "
                               f"see {log}{tail}", code)
        time.sleep(0.2)
    raise DaemonUnavailable(f"the daemon did not answer within {wait:.0f} s; see {log}")

