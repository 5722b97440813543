"""CurveZMQ keys: create key pairs and load them, for a daemon reachable beyond this machine.

Files use ZeroMQ's certificate format (``NAME.key`` public, ``NAME.key_secret`` with both keys), so
a folder of allowed client ``*.key`` files is what the daemon's ZAP authenticator reads. Secret
files are created with mode 0600 from the first byte (never chmod-ed afterwards).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import zmq
from zmq.auth.certs import load_certificate
from zmq.utils import z85

from . import safe_files

ENV_CLIENT_KEY = "IMPASTO_CURVE_CLIENT_KEY"  # the client's NAME.key_secret
ENV_SERVER_KEY = "IMPASTO_CURVE_SERVER_KEY"  # the daemon's NAME.key (public)

PathLike = Union[str, "os.PathLike[str]"]


class CurveKeyError(Exception):
    """A key file is missing, malformed or unsafe."""


def _write(path: Path, text: str, mode: int) -> None:
    """Through the one safe writer; ``exclusive``: an existing key is never replaced."""
    safe_files.write_file(path, text.encode("utf-8"), mode=mode, exclusive=True)


def _check_key(key: bytes | None, what: str, path: Path) -> bytes:
    """A CurveZMQ key is 40 Z85 characters (32 bytes); anything else would reach libzmq as an
    "Invalid argument" traceback, so it is refused here, naming the file."""
    if key is None:
        raise CurveKeyError(f"{path} holds no {what}")
    try:
        ok = len(key) == 40 and len(z85.decode(key)) == 32
    except (KeyError, ValueError, TypeError):
        ok = False
    if not ok:
        raise CurveKeyError(f"the {what} in {path} is not a CurveZMQ key (40 Z85 characters; "
                            f"this one has {len(key)}); make a new pair with `impasto keys`")
    return key


def _cert_text(kind: str, public: bytes, secret: bytes | None = None) -> str:
    now = datetime.datetime.now().isoformat(timespec="seconds")
    lines = [
        f"#   ZeroMQ CURVE {kind} certificate, generated {now} by impasto",
        "#   " + ("KEEP PRIVATE: do not share or loosen this file's permissions." if secret
                  else "Give this file to the peer that must accept you."),
        "",
        "metadata",
        "curve",
        '    public-key = "{}"'.format(public.decode("ascii")),
    ]
    if secret is not None:
        lines.append('    secret-key = "{}"'.format(secret.decode("ascii")))
    return "\n".join(lines) + "\n"


def create_key_pair(folder: PathLike, name: str) -> tuple[Path, Path]:
    """Write ``NAME.key`` (0644) and ``NAME.key_secret`` (0600) in ``folder``; never overwrites."""
    if not zmq.has("curve"):
        raise CurveKeyError("this libzmq was built without CurveZMQ support")
    if not name or "/" in name or name.startswith("."):
        raise CurveKeyError(f"key name {name!r} must be a plain file name")
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    public, secret = zmq.curve_keypair()
    pub_path, sec_path = d / (name + ".key"), d / (name + ".key_secret")
    for p in (pub_path, sec_path):
        if p.exists():
            raise CurveKeyError(f"{p} already exists; not overwriting a key")
    _write(sec_path, _cert_text("secret", public, secret), 0o600)
    _write(pub_path, _cert_text("public", public), 0o644)
    return pub_path, sec_path


def _unreadable(path: Path, exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    if isinstance(exc, OSError):
        return f"cannot be read ({exc.strerror or exc})"
    return f"is not a ZeroMQ certificate file ({exc})"


def load_public_key(path: PathLike) -> bytes:
    """The Z85 public key of a ``.key`` (or ``.key_secret``) file."""
    p = Path(path)
    try:
        public, _secret = load_certificate(str(p))
    except (OSError, ValueError) as exc:
        raise CurveKeyError(f"public key {p} {_unreadable(p, exc)}") from None
    if not public:
        raise CurveKeyError(f"{p} holds no public key (a file made by `impasto keys`?)")
    return _check_key(public, "public key", p)


def load_secret_key(path: PathLike) -> tuple[bytes, bytes]:
    """(public, secret) from a ``.key_secret`` file, refusing one that others can read.

    The mode is checked before the file is read, so a secret others could copy is never used.
    """
    p = Path(path)
    try:
        mode = p.stat().st_mode & 0o077
    except OSError as exc:
        raise CurveKeyError(f"secret key {p} {_unreadable(p, exc)}") from None
    if mode and hasattr(os, "getuid"):
        raise CurveKeyError(f"secret key {p} is readable by other users (mode "
                            f"{p.stat().st_mode & 0o777:03o}): run chmod 600 {p}, and make a "
                            "new pair with `impasto keys` if others may have copied it")
    try:
        public, secret = load_certificate(str(p))
    except (OSError, ValueError) as exc:
        raise CurveKeyError(f"secret key {p} {_unreadable(p, exc)}") from None
    if secret is None:
        raise CurveKeyError(f"{p} holds no secret key (use the .key_secret file)")
    return _check_key(public, "public key", p), _check_key(secret, "secret key", p)


@dataclass(frozen=True)
class CurveClientKeys:
    """What a client needs to reach a CurveZMQ daemon: its own pair and the daemon's public key."""

    public: bytes
    secret: bytes
    server_public: bytes

    @classmethod
    def load(cls, client_secret_file: PathLike, server_public_file: PathLike) -> CurveClientKeys:
        public, secret = load_secret_key(client_secret_file)
        return cls(public, secret, load_public_key(server_public_file))

    @classmethod
    def from_env(cls) -> CurveClientKeys | None:
        """From ``IMPASTO_CURVE_CLIENT_KEY`` + ``IMPASTO_CURVE_SERVER_KEY``; None when neither
        is set. One without the other, or an unusable file, is a CurveKeyError whose one line
        names the variable and the fix (never a silent connection without encryption)."""
        client, server = os.environ.get(ENV_CLIENT_KEY), os.environ.get(ENV_SERVER_KEY)
        if not client and not server:
            return None
        if not (client and server):
            have, missing = ((ENV_CLIENT_KEY, ENV_SERVER_KEY) if client
                             else (ENV_SERVER_KEY, ENV_CLIENT_KEY))
            raise CurveKeyError(f"{have} is set but {missing} is not: CurveZMQ needs both (your "
                                "NAME.key_secret and the daemon's public .key); set it, or "
                                "unset both")
        try:
            public, secret = load_secret_key(client)
        except CurveKeyError as exc:
            hint = "; `impasto keys DIR` makes a pair" if "does not exist" in str(exc) else ""
            raise CurveKeyError(f"{ENV_CLIENT_KEY}: {exc}{hint}") from None
        try:
            server_public = load_public_key(server)
        except CurveKeyError as exc:
            raise CurveKeyError(f"{ENV_SERVER_KEY}: {exc} (ask for the daemon's .key file)") \
                from None
        return cls(public, secret, server_public)

    def apply(self, socket: zmq.Socket) -> None:
        """Configure a client socket; call before connect()."""
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_serverkey = self.server_public
