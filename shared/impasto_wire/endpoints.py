"""Where the daemon listens, found the same way by the daemon, the plug-in and the command line.

Order: ``$IMPASTO_ENDPOINT`` -> the announce file the running daemon wrote in the runtime folder
-> the default, ``ipc://RUNTIME/daemon.sock``. RUNTIME is a private 0700 folder of this user's:
``$XDG_RUNTIME_DIR/impasto``, else ``$XDG_CACHE_HOME/impasto/run`` (``~/.cache/impasto/run``),
never a fixed name in the shared temp folder, which another user could create first.

There is no silent fallback to TCP: any local user can bind a loopback port first and pose as
the daemon, so TCP is used only when asked for (``IMPASTO_ENDPOINT`` or ``--endpoint``). A
runtime folder that is not safely ours is an EndpointError saying what to do.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import sys
from pathlib import Path

from . import safe_files

ENV_ENDPOINT = "IMPASTO_ENDPOINT"
DEFAULT_TCP_PORT = 47213  # the port to suggest for an explicit tcp endpoint; never used unasked
ANNOUNCE_FILE = "endpoint"
SOCKET_NAME = "daemon.sock"
LOG_FILE = "daemon.log"
# sun_path is 108 bytes on Linux, 104 on macOS; keep a margin
_MAX_IPC_PATH = 100
_USE_INSTEAD = (f"set XDG_RUNTIME_DIR to a private folder of yours, or {ENV_ENDPOINT} to an "
                "ipc:// path in one")


class EndpointError(Exception):
    """The endpoint or its folder is unusable (bad URL, unsafe folder permissions)."""


def _uid() -> int:
    return os.getuid() if hasattr(os, "getuid") else 0


def _cache_home() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(cache):
        return Path(cache)
    try:
        return Path.home() / ".cache"
    except (RuntimeError, KeyError) as exc:  # no HOME and no passwd entry
        raise EndpointError(f"cannot find your home folder ({exc}); {_USE_INSTEAD}") from None


def runtime_dir(create: bool = True) -> Path:
    """The private per-user folder for the socket, the announce file and the daemon log.

    ``$XDG_RUNTIME_DIR/impasto`` (the session's own 0700 folder), else a folder in the user's
    cache: both live where other users cannot create names. ``create`` also checks that an
    existing folder is ours, a real folder and closed to others (EndpointError otherwise).
    """
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(xdg) and os.path.isdir(xdg):
        path = Path(xdg) / "impasto"
    else:
        path = _cache_home() / "impasto" / "run"
        if create:
            try:
                os.makedirs(path.parent, mode=0o700, exist_ok=True)
            except OSError as exc:
                raise EndpointError(f"cannot create {path.parent}: {exc.strerror or exc}; "
                                    f"{_USE_INSTEAD}") from None
    if create:
        check_ancestors(path)
        ensure_private_dir(path)
    return path


def _folders_above(path: Path) -> list[Path]:
    """Every folder above ``path``, as written and as the system resolves it (a symlinked
    folder is judged by where it leads and by the folder it sits in)."""
    written = Path(os.path.abspath(path)).parent
    real = Path(os.path.realpath(written))
    seen: dict[Path, None] = {}
    for folder in (*reversed((written, *written.parents)), *reversed((real, *real.parents))):
        seen.setdefault(folder, None)
    return list(seen)


def check_ancestors(path: Path) -> None:
    """Refuse a runtime folder that another user could swap: every folder above it must be
    ours or root's, and closed to writing by others unless sticky (as /tmp is, where only an
    entry's owner may rename it). Otherwise whoever owns or may write such a folder can
    replace the runtime folder between our check and our use of it (issue 19, item 5)."""
    me = _uid()
    if not hasattr(os, "getuid"):
        return
    for folder in _folders_above(path):
        try:
            st = os.stat(folder)
        except OSError as exc:
            raise EndpointError(f"cannot check {folder}: {exc.strerror or exc}; "
                                f"{_USE_INSTEAD}") from None
        if st.st_uid not in (me, 0):
            raise EndpointError(
                f"{folder}, a folder above Impasto's runtime folder {path}, belongs to "
                f"{_owner(st.st_uid)}, who could replace what is in it; {_USE_INSTEAD}")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o022 and not mode & stat.S_ISVTX:
            raise EndpointError(
                f"{folder}, a folder above Impasto's runtime folder {path}, is writable by "
                f"other users (mode {mode:04o}), who could replace what is in it: run "
                f"chmod go-w {folder}, or {_USE_INSTEAD}")


def _owner(uid: int) -> str:
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` with mode 0700, or check that an existing one is safely ours.

    Refused (EndpointError with what to do): a symlink, a non-folder, another user's folder
    (someone may be trying to intercept the socket), or a folder others can write in (they
    could have planted a socket or an announce file in it). A folder that is ours and merely
    readable by others is closed to 0700.
    """
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise EndpointError(f"cannot create {path}: {exc.strerror or exc}; {_USE_INSTEAD}") \
            from None
    mode = check_private_dir(path)
    if mode != 0o700:
        os.chmod(path, 0o700)
    return path


def check_private_dir(path: Path) -> int:
    """The checks of ``ensure_private_dir`` without creating or changing anything; returns the
    folder's mode. EndpointError for a symlink, a non-folder, another user's folder or one
    others can write in."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise EndpointError(f"cannot use {path}: {exc.strerror or exc}; {_USE_INSTEAD}") \
            from None
    if stat.S_ISLNK(st.st_mode):
        raise EndpointError(
            f"{path} is a symbolic link (to {os.readlink(path)}), not Impasto's own folder; "
            f"if you did not make it, someone else did: remove it (rm {path}), or {_USE_INSTEAD}")
    if not stat.S_ISDIR(st.st_mode):
        raise EndpointError(f"{path} exists and is not a folder: remove it (rm {path}), or "
                            f"{_USE_INSTEAD}")
    if hasattr(os, "getuid") and st.st_uid != _uid():
        raise EndpointError(
            f"{path} belongs to {_owner(st.st_uid)}, not to you: another user may be trying to "
            f"intercept Impasto; have it removed, or {_USE_INSTEAD}")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        raise EndpointError(
            f"{path} is writable by other users (mode {mode:04o}), so what is in it cannot be "
            f"trusted: remove it (rm -r {path}) and Impasto makes a private one")
    return mode


def ipc_supported() -> bool:
    if sys.platform.startswith("win"):
        return False
    try:
        import zmq

        return bool(zmq.has("ipc"))
    except Exception:  # pragma: no cover - zmq missing is reported by the caller
        return False


def default_endpoint() -> str:
    """The local-only endpoint used when nothing is configured: ipc in the runtime folder.

    Raises EndpointError (never falls back to TCP) when ipc is unavailable, the runtime
    folder is unsafe, or the socket path is too long for a Unix socket.
    """
    if not ipc_supported():
        raise EndpointError(
            f"this ZeroMQ has no ipc transport; set {ENV_ENDPOINT}=tcp://127.0.0.1:"
            f"{DEFAULT_TCP_PORT} to use TCP (any local user can connect to a TCP port)")
    path = runtime_dir() / SOCKET_NAME
    size = len(os.fsencode(str(path)))
    if size > _MAX_IPC_PATH:
        raise EndpointError(
            f"the socket path {path} is {size} bytes, longer than the {_MAX_IPC_PATH} a Unix "
            f"socket allows; {_USE_INSTEAD} with a shorter path")
    return f"ipc://{path}"


def announce_path() -> Path:
    return runtime_dir() / ANNOUNCE_FILE


def read_announced() -> str | None:
    """The endpoint a running daemon announced, if any (it may be stale: callers try hello)."""
    try:
        text = announce_path().read_text(encoding="utf-8").strip()
    except (OSError, EndpointError):  # an unsafe folder is reported by default_endpoint()
        return None
    return text if text.startswith(("ipc://", "tcp://")) else None


def write_announced(endpoint: str) -> Path:
    """Written by the daemon after binding, atomically and mode 0600."""
    return safe_files.write_file(announce_path(), (endpoint + "\n").encode(), mode=0o600)


def remove_announced(endpoint: str) -> None:
    """Remove the announce file, but only while it still names ``endpoint``."""
    if read_announced() == endpoint:
        try:
            announce_path().unlink()
        except OSError:
            pass


def discover_endpoint() -> str:
    """The endpoint a client should use, without any configuration.

    Raises EndpointError when nothing is configured and the default cannot be used safely.
    """
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
        if ipc_path(endpoint).startswith("@"):
            raise EndpointError(
                f"ipc endpoint {endpoint!r} is in Linux's abstract namespace, which has no "
                "permissions: every local user could connect as you; use a socket path in a "
                f"private folder (the default, or ipc://$XDG_RUNTIME_DIR/impasto/{SOCKET_NAME})")
        return endpoint
    if endpoint.startswith("tcp://"):
        tcp_host(endpoint)
        port = endpoint.rpartition(":")[2]
        if not (port.isdigit() and 1 <= int(port) <= 65535):
            raise EndpointError(f"tcp endpoint {endpoint!r}: the port must be a number from 1 "
                                f"to 65535 (e.g. {DEFAULT_TCP_PORT}), not {port!r}")
        return endpoint
    raise EndpointError(f"endpoint {endpoint!r} must start with ipc:// or tcp://")
