"""Who may talk to the daemon.

ipc in a 0700 folder relies on the operating system: only the daemon's user can connect. TCP on
loopback does not — every local user can connect — so there the router asks for the token of
the daemon's 0600 token file before it stops, shows other clients' job ids or cancels their jobs
(``impasto_wire.admin_token``; the table in PROTOCOL.md says who may do what). Anything
reachable from other machines must use CurveZMQ: the daemon's secret key plus a folder of allowed
client public keys, checked by a ZAP authenticator; a client whose key is not there gets nothing,
not even an error. Binding beyond loopback without that is refused.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import zmq
from zmq.auth.certs import load_certificates
from zmq.auth.thread import ThreadAuthenticator

from impasto_wire.curve import CurveKeyError, load_secret_key
from impasto_wire.endpoints import is_loopback_endpoint

log = logging.getLogger("impasto.daemon.security")


class SecurityError(Exception):
    """The configuration would expose the daemon, or its keys are unusable."""


@dataclass(frozen=True)
class CurveServerConfig:
    secret_key_file: str
    allowed_keys_dir: str


def check_bind_policy(endpoint: str, curve: CurveServerConfig | None) -> None:
    """Refuse a non-loopback bind without CurveZMQ, with the way out in the message."""
    if curve is None and not is_loopback_endpoint(endpoint):
        raise SecurityError(
            f"refusing to listen on {endpoint}: it is reachable from other machines. Use "
            "ipc:// or tcp://127.0.0.1:PORT, or configure CurveZMQ with --curve-secret-key FILE "
            "--curve-allowed-keys DIR (create keys with `impasto keys DIR`)"
        )


class CurveServer:
    """Server keys + the ZAP authenticator thread; ``apply`` configures the ROUTER socket."""

    def __init__(self, context: zmq.Context, config: CurveServerConfig) -> None:
        if not zmq.has("curve"):
            raise SecurityError("this libzmq was built without CurveZMQ support")
        try:
            self.public, self.secret = load_secret_key(config.secret_key_file)
        except CurveKeyError as exc:
            raise SecurityError(str(exc)) from None
        allowed = Path(config.allowed_keys_dir)
        if not allowed.is_dir():
            raise SecurityError(f"allowed client keys folder {allowed} does not exist")
        if os.stat(allowed).st_mode & 0o022:
            raise SecurityError(
                f"{allowed} is writable by other users, who could add their own keys; "
                f"run: chmod go-w {allowed}"
            )
        count = len(load_certificates(str(allowed)))
        if count == 0:
            raise SecurityError(
                f"no client public keys (*.key) in {allowed}: nobody could connect. Create one "
                f"with `impasto keys DIR --name NAME` and copy NAME.key into {allowed}"
            )
        self.auth = ThreadAuthenticator(context, log=logging.getLogger("impasto.daemon.zap"))
        self.auth.start()
        self.auth.configure_curve(domain="*", location=str(allowed))
        log.info("CurveZMQ on: %d allowed client key(s) from %s", count, allowed)

    def apply(self, socket: zmq.Socket) -> None:
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_server = True

    def stop(self) -> None:
        self.auth.stop()
