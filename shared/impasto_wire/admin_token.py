"""Proof of being the daemon's own user over TCP: a random token in a 0600 file.

On ipc the socket lives in a 0700 folder, so whoever connects is the daemon's user. A TCP port
is open to every local user, so a daemon listening on TCP writes a fresh random token into
``RUNTIME/tcp-PORT.token`` (RUNTIME: the private runtime folder, see endpoints.py; mode 0600),
and a request carrying that token (``status``, ``cancel``, ``stop``) comes from someone who can
read the daemon's user's files. Clients send it only to loopback endpoints: a token never
leaves the machine. Standard library only, Python 3.9+.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path

from . import endpoints as E
from . import safe_files

TOKEN_BYTES = 32  # written as hex, one line
_MAX_TOKEN_FILE = 2 * TOKEN_BYTES + 2


def token_path(endpoint: str, create: bool = True) -> Path | None:
    """Where the token for a TCP ``endpoint`` lives; None for ipc (not needed there)."""
    if not endpoint.startswith("tcp://"):
        return None
    port = endpoint.rsplit(":", 1)[1]
    if not port.isdigit():
        return None
    return E.runtime_dir(create=create) / f"tcp-{port}.token"


def create_token(endpoint: str) -> tuple[Path, str] | None:
    """Daemon side, after binding: write a new token (0600, replacing any old one)."""
    path = token_path(endpoint)
    if path is None:
        return None
    token = secrets.token_hex(TOKEN_BYTES)
    safe_files.write_file(path, (token + "\n").encode("ascii"), mode=0o600)
    return path, token


def read_token(endpoint: str) -> str | None:
    """Client side: the token for a loopback TCP ``endpoint``; None when there is none.

    The folder gets the runtime folder's checks and the file must be a regular file of ours,
    opened without following a symlink or waiting on a FIFO and read no further than a token
    is long: a planted FIFO would hang the client, a link to /dev/zero exhaust its memory.
    Anything unsafe is an EndpointError saying what is wrong (never a silent use).
    """
    if not E.is_loopback_endpoint(endpoint):
        return None
    path = token_path(endpoint, create=False)
    if path is None:
        return None
    if not path.parent.exists():
        return None  # no daemon ever ran here
    E.check_ancestors(path.parent)
    E.check_private_dir(path.parent)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(str(path), flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise E.EndpointError(f"cannot read the daemon's token {path}: "
                              f"{exc.strerror or exc} (a symbolic link?); remove it") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            raise E.EndpointError(f"{path} is not a file of yours, so it holds no token of "
                                  f"your daemon; remove it (rm {path})")
        text = os.read(fd, _MAX_TOKEN_FILE + 1)
    finally:
        os.close(fd)
    if len(text) > _MAX_TOKEN_FILE:
        raise E.EndpointError(f"{path} is longer than a token; remove it (rm {path})")
    return text.decode("ascii", "replace").strip() or None


def remove_token(path: Path, token: str) -> None:
    """Daemon side, at shutdown: remove the file while it still holds our token."""
    try:
        if hmac.compare_digest(path.read_text(encoding="ascii").strip(), token):
            path.unlink()
    except OSError:
        pass


def token_matches(given: object, token: str | None) -> bool:
    """Constant-time comparison; no token configured means nothing matches."""
    return (token is not None and isinstance(given, str)
            and hmac.compare_digest(given.encode(), token.encode()))
