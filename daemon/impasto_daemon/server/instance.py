"""One daemon per endpoint: claim it before binding, so a second daemon leaves the first alone.

ZeroMQ's ipc bind silently unlinks an existing socket file, which would steal the endpoint from
a running daemon; so for ipc a lock file is held for the daemon's lifetime and the socket file
is only removed when nothing accepts connections on it. For tcp the bind itself fails when the
port is taken. In both cases a daemon that answers hello is named in the message.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from pathlib import Path

from impasto_wire.client import Client, DaemonUnavailable
from impasto_wire.endpoints import ipc_path, tcp_host

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]


class AlreadyRunning(Exception):
    """Another daemon (or another program) holds the endpoint."""


def describe_running(endpoint: str, timeout: float = 1.0) -> str | None:
    """"pid N, version V" of a daemon answering at ``endpoint``, else None."""
    try:
        with Client(endpoint, timeout=timeout, name="impasto-daemon-probe") as c:
            w = c.hello()
        return f"pid {w.get('pid', '?')}, version {w.get('daemon_version', '?')}"
    except (DaemonUnavailable, Exception):
        return None


def _listening_unix(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def _listening_tcp(endpoint: str) -> bool:
    host = tcp_host(endpoint) or ""
    port = endpoint.rsplit(":", 1)[1]
    if not port.isdigit() or host in ("*", "0.0.0.0", "::", ""):
        host = "127.0.0.1"
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except (OSError, ValueError):
        return False


class EndpointClaim:
    """Held from before bind until after close; ``release`` removes our socket file."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.path = ipc_path(endpoint)
        self._lock_fd: int | None = None

    def acquire(self) -> EndpointClaim:
        if self.path is not None:
            self._lock_ipc(self.path)
        elif _listening_tcp(self.endpoint):
            self._refuse()
        return self

    def _lock_ipc(self, path: str) -> None:
        lock = path + ".lock"
        # never through a symlink: the socket's folder may be one others can write in (warned)
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as exc:
            raise AlreadyRunning(f"cannot open the lock file {lock}: {exc.strerror or exc} (a "
                                 "symbolic link there is refused); remove it") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                    self._refuse(starting=True)
                raise
        self._lock_fd = fd
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if _listening_unix(path):
            self.release(remove_socket=False)
            self._refuse()
        if stat.S_ISSOCK(st.st_mode):
            os.unlink(path)  # stale: left behind by a daemon that was killed
        else:
            self.release(remove_socket=False)
            raise AlreadyRunning(f"{path} exists and is not a socket; refusing to replace it")

    def _refuse(self, starting: bool = False) -> None:
        who = describe_running(self.endpoint)
        if who is not None:
            raise AlreadyRunning(f"an impasto daemon is already running on {self.endpoint} ({who})")
        if starting:
            raise AlreadyRunning(f"another impasto daemon is starting on {self.endpoint}")
        raise AlreadyRunning(f"something else is already listening on {self.endpoint}")

    def release(self, remove_socket: bool = True) -> None:
        if self._lock_fd is None:
            return
        if remove_socket and self.path is not None:
            try:
                if stat.S_ISSOCK(os.lstat(self.path).st_mode):
                    os.unlink(self.path)
            except OSError:
                pass
        os.close(self._lock_fd)  # closing drops the flock; the lock file itself stays
        self._lock_fd = None


def prepare_ipc_folder(endpoint: str) -> Path | None:
    """Create a missing socket folder with mode 0700; return an existing one other users can
    enter (the caller warns) — an existing folder's mode is never changed behind the user."""
    path = ipc_path(endpoint)
    if path is None:
        return None
    folder = Path(path).parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)
        return None
    return folder if os.stat(folder).st_mode & 0o077 else None
