"""Where the daemon listens, found the same way by the daemon, the plug-in and the command line.

Order: ``$IMPASTO_ENDPOINT`` -> the announce file the running daemon wrote in the runtime folder
-> the default, ``ipc://$XDG_RUNTIME_DIR/impasto/daemon.sock`` (a private 0700 folder; without
XDG_RUNTIME_DIR, ``/tmp/impasto-$UID/``), or ``tcp://127.0.0.1:47213`` where ipc cannot serve.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import sys
import tempfile
from pathlib import Path

ENV_ENDPOINT = "IMPASTO_ENDPOINT"
DEFAULT_TCP_PORT = 47213
ANNOUNCE_FILE = "endpoint"
SOCKET_NAME = "daemon.sock"
LOG_FILE = "daemon.log"
# sun_path is 108 bytes on Linux, 104 on macOS; keep a margin
_MAX_IPC_PATH = 100


class EndpointError(Exception):
    """The endpoint or its folder is unusable (bad URL, unsafe folder permissions)."""


def _uid() -> int:
    return os.getuid() if hasattr(os, "getuid") else 0


def runtime_dir(create: bool = True) -> Path:
    """The private per-user folder for the socket, the announce file and the daemon log."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        path = Path(xdg) / "impasto"
    else:
        path = Path(tempfile.gettempdir()) / f"impasto-{_uid()}"
    if create:
        ensure_private_dir(path)
    return path


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` with mode 0700, or check an existing one is ours, not a symlink, and 0700.

    A folder in /tmp could have been planted by another user; refusing it keeps them from
    intercepting the socket.
    """
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise EndpointError(f"{path} exists and is not a folder")
    if hasattr(os, "getuid") and st.st_uid != _uid():
        raise EndpointError(f"{path} belongs to another user; refusing to use it")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def ipc_supported() -> bool:
    if sys.platform.startswith("win"):
        return False
    try:
        import zmq

        return bool(zmq.has("ipc"))
    except Exception:  # pragma: no cover - zmq missing is reported by the caller
        return False


def default_endpoint() -> str:
    """The local-only endpoint used when nothing is configured."""
    if ipc_supported():
        try:
            path = runtime_dir() / SOCKET_NAME
        except (OSError, EndpointError):
            path = None
        if path is not None and len(str(path).encode()) <= _MAX_IPC_PATH:
            return f"ipc://{path}"
    return f"tcp://127.0.0.1:{DEFAULT_TCP_PORT}"


def announce_path() -> Path:
    return runtime_dir() / ANNOUNCE_FILE


def read_announced() -> str | None:
    """The endpoint a running daemon announced, if any (it may be stale: callers try hello)."""
    try:
        text = announce_path().read_text(encoding="utf-8").strip()
    except (OSError, EndpointError):
        return None
    return text if text.startswith(("ipc://", "tcp://")) else None


def write_announced(endpoint: str) -> Path:
    """Written by the daemon after binding, atomically and mode 0600."""
    path = announce_path()
    tmp = path.with_name(f".{ANNOUNCE_FILE}.{os.getpid()}")
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(endpoint + "\n")
    os.replace(str(tmp), str(path))
    return path


def remove_announced(endpoint: str) -> None:
    """Remove the announce file, but only while it still names ``endpoint``."""
    if read_announced() == endpoint:
        try:
            announce_path().unlink()
        except OSError:
            pass


def discover_endpoint() -> str:
    """The endpoint a client should use, without any configuration."""
    env = os.environ.get(ENV_ENDPOINT, "").strip()
    if env:
        return env
    return read_announced() or default_endpoint()


def ipc_path(endpoint: str) -> str | None:
    """The filesystem path of an ``ipc://`` endpoint, else None."""
    if endpoint.startswith("ipc://"):
        return endpoint[len("ipc://"):]
    return None


def tcp_host(endpoint: str) -> str | None:
    """The host part of a ``tcp://host:port`` endpoint (brackets stripped), else None."""
    if not endpoint.startswith("tcp://"):
        return None
    rest = endpoint[len("tcp://"):]
    host, sep, _port = rest.rpartition(":")
    if not sep:
        raise EndpointError(f"tcp endpoint {endpoint!r} lacks a port")
    return host.strip("[]")


def is_loopback_endpoint(endpoint: str) -> bool:
    """True when only this machine can reach ``endpoint`` (ipc, inproc, tcp on loopback)."""
    if endpoint.startswith(("ipc://", "inproc://")):
        return True
    host = tcp_host(endpoint)
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "*", an interface name, a host name: reachable from elsewhere


def is_loopback_address(address: str) -> bool:
    """For a ZeroMQ ``Peer-Address`` property: loopback IPs (and ipc peers) are local."""
    if not address or address.startswith("localhost"):
        return True  # ipc peers report "" or "localhost:..."
    try:
        return ipaddress.ip_address(address.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def check_endpoint(endpoint: str) -> str:
    """Refuse a malformed endpoint early, with a message a person can act on."""
    if endpoint.startswith("ipc://"):
        if not ipc_path(endpoint):
            raise EndpointError(f"ipc endpoint {endpoint!r} has no path")
        return endpoint
    if endpoint.startswith("tcp://"):
        tcp_host(endpoint)
        return endpoint
    raise EndpointError(f"endpoint {endpoint!r} must start with ipc:// or tcp://")
