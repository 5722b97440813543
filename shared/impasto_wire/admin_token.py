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
from pathlib import Path

from . import endpoints as E


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
    token = secrets.token_hex(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(token + "\n")
    os.replace(str(tmp), str(path))
    return path, token


def read_token(endpoint: str) -> str | None:
    """Client side: the token for a loopback TCP ``endpoint`` if this user can read it."""
    try:
        if not E.is_loopback_endpoint(endpoint):
            return None
        path = token_path(endpoint, create=False)
        if path is None:
            return None
        return path.read_text(encoding="ascii").strip() or None
    except (OSError, E.EndpointError):
        return None


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
