"""Proof that the daemon behind a TCP endpoint is ours, before anything private goes to it.

A loopback TCP port is open to every local user: once our daemon is gone (kill -9 leaves its
announce and token files), whoever binds the port next would receive the pictures and the token
of a client that trusts the recorded endpoint (issue 19, item 4). So a client that is about to
send pixels or the token first challenges the daemon: its ``hello`` carries a random
``challenge``, and the daemon's ``welcome`` answers with a ``nonce`` of its own and
``proof = HMAC-SHA256(token, CONTEXT || challenge || nonce)``, the token being the one in the
daemon user's 0600 file for that port (admin_token.py). Only a program that can read that file
can answer; the token itself never travels before the proof is checked, and a replayed answer
fails against a fresh challenge.

Not needed on ipc (the socket sits in a 0700 folder: the operating system proves it) nor with
CurveZMQ (the handshake proves the server holds the secret key of IMPASTO_CURVE_SERVER_KEY).
Required on TCP wherever the endpoint is ours: this user holds a token for its port, or the
announce file records it. A TCP endpoint given explicitly with no token of ours is someone
else's daemon: the client is its guest (it sends no token, sees only its own jobs), and only
CurveZMQ could say whose daemon it is. Standard library only, Python 3.9+.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from . import admin_token
from . import endpoints as E
from .client_errors import DaemonError, DaemonNotProven
from .errors import BAD_REQUEST

CONTEXT = b"impasto daemon proof v1\0"
NONCE_BYTES = 32


def needs_proof(endpoint: str, curve: bool) -> bool:
    """True for TCP without CurveZMQ, where any local user could be listening."""
    return endpoint.startswith("tcp://") and not curve


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def valid_nonce(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == NONCE_BYTES


def answer(token: str, challenge: bytes, nonce: bytes) -> bytes:
    """The daemon's answer to ``challenge`` with its own ``nonce``."""
    return hmac.new(token.encode("ascii"), CONTEXT + challenge + nonce, hashlib.sha256).digest()


def verify(token: str, challenge: bytes, nonce: object, proof: object) -> bool:
    """Client side: does ``proof`` show knowledge of ``token``? Constant-time."""
    if not valid_nonce(nonce) or not isinstance(proof, bytes):
        return False
    return hmac.compare_digest(answer(token, challenge, nonce), proof)  # type: ignore[arg-type]


class ProofCheck:
    """Whether one client's daemon has proved itself: ``challenge`` for its hello, ``check``
    on the welcome, ``require`` before pixels or the token leave."""

    def __init__(self, endpoint: str, curve: bool) -> None:
        self.endpoint = endpoint
        self.proven = not needs_proof(endpoint, curve)
        self._ours: bool | None = None  # decided on first need
        self._token: str | None = None
        self._challenge: bytes | None = None

    def needed(self) -> bool:
        """True while the daemon must still prove it is ours."""
        if self.proven:
            return False
        if self._ours is None:
            self._token = admin_token.read_token(self.endpoint)
            self._ours = self._token is not None or E.read_announced() == self.endpoint
        return self._ours

    def challenge(self) -> bytes | None:
        """A fresh challenge for a hello, when there is a token to check the answer with."""
        if not self.needed():
            return None
        self._token = admin_token.read_token(self.endpoint)
        self._challenge = new_nonce() if self._token is not None else None
        return self._challenge

    def refused(self, exc: DaemonError) -> None:
        """A hello with a challenge was refused: a daemon older than the challenge."""
        if self._challenge is not None and exc.code == BAD_REQUEST and "challenge" in exc.message:
            raise DaemonNotProven(
                f"the impasto daemon at {self.endpoint} is older than this client and cannot "
                "prove it is yours, so nothing was sent to it: restart it with this version")

    def check(self, welcome: Mapping[str, Any]) -> None:
        """Verify the welcome's answer to our challenge; DaemonNotProven if it is wrong (the
        stale record that led here is then removed)."""
        challenge, self._challenge = self._challenge, None
        if challenge is None or self._token is None:
            return
        if verify(self._token, challenge, welcome.get("nonce"), welcome.get("proof")):
            self.proven = True
            return
        path = admin_token.token_path(self.endpoint, create=False)
        removed = _forget_record(self.endpoint, path, self._token)
        raise DaemonNotProven(
            f"the program at {self.endpoint} is not your impasto daemon: it cannot prove it "
            f"knows the token your daemon wrote in {path}, so nothing was sent to it (your "
            "daemon probably died and another program took its port)"
            + ("; the stale endpoint record was removed" if removed else "")
            + f"; start the daemon again (impasto-daemon --endpoint {self.endpoint})")

    def require(self) -> None:
        """After a hello: DaemonNotProven unless the daemon proved itself."""
        if not self.needed():
            return
        announce = E.announce_path()
        raise DaemonNotProven(
            f"{announce} records {self.endpoint} as your daemon, but your daemon left no token "
            "for it, so whatever listens there cannot prove it is yours and nothing was sent to "
            f"it; remove the stale record (rm {announce}) or start the daemon again")


def _forget_record(endpoint: str, token_file: Any, token: str) -> bool:
    """A daemon that cannot answer for the token is not the one that wrote it: the announce
    file naming ``endpoint`` and the token file are stale. True when something was removed."""
    removed = False
    if E.read_announced() == endpoint:
        E.remove_announced(endpoint)
        removed = True
    if token_file is not None and token_file.exists():
        admin_token.remove_token(token_file, token)
        removed = removed or not token_file.exists()
    return removed
