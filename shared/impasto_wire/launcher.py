"""Start a local daemon on demand (the plug-in and ``impasto stylize`` do this) and wait for it.

The daemon runs detached (own session, so closing GIMP or the terminal does not kill it), with
its output in ``daemon.log`` in the runtime folder. Which program to run: the ``command`` given,
else ``$IMPASTO_DAEMON`` (a shell-style command line), else ``impasto-daemon`` on PATH or next to
the running Python.
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

from .client import Client, DaemonUnavailable
from .endpoints import LOG_FILE, discover_endpoint, is_loopback_endpoint, runtime_dir

ENV_DAEMON = "IMPASTO_DAEMON"


def daemon_command() -> list[str]:
    """The command that starts a daemon, or DaemonUnavailable saying how to configure one."""
    env = os.environ.get(ENV_DAEMON, "").strip()
    if env:
        return shlex.split(env)
    found = shutil.which("impasto-daemon")
    if found is None:
        sibling = Path(sys.executable).with_name("impasto-daemon")
        found = str(sibling) if sibling.exists() else None
    if found is None:
        raise DaemonUnavailable(
            "cannot find the impasto-daemon program; install impasto (./install.sh) or set "
            f"{ENV_DAEMON} to the command that starts it"
        )
    return [found]


def answers(endpoint: str, timeout: float = 1.0) -> bool:
    """True when a daemon says hello at ``endpoint`` within ``timeout`` seconds."""
    try:
        with Client(endpoint, timeout=timeout) as c:
            c.hello()
        return True
    except DaemonUnavailable:
        return False


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


def ensure_daemon(endpoint: str | None = None, command: Sequence[str] | None = None,
                  wait: float = 120.0) -> bool:
    """Make sure a daemon answers at ``endpoint``; return True if this call started one.

    Raises DaemonUnavailable when it cannot be started or does not answer within ``wait``
    seconds (loading a model onto a GPU can take a while on first start); the message points
    at the log file.
    """
    endpoint = endpoint or discover_endpoint()
    if answers(endpoint):
        return False
    if not is_loopback_endpoint(endpoint):
        raise DaemonUnavailable(f"no daemon answers at {endpoint}, and a remote daemon cannot "
                                "be started from here")
    argv = list(command) if command else daemon_command()
    argv += ["--endpoint", endpoint]
    log = log_path()
    fd = os.open(str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
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
            raise DaemonUnavailable(f"the daemon exited with status {code} before answering; "
                                    f"see {log}{_tail(log)}")
        time.sleep(0.2)
    raise DaemonUnavailable(f"the daemon did not answer within {wait:.0f} s; see {log}")
