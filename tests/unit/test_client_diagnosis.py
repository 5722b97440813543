"""When nothing answers, the client says what it probably is (issue 10, item 11): nothing
listening, something that accepts connections but never speaks ZeroMQ (a stopped daemon,
another program), a daemon that is connected but silent (hung), or a CurveZMQ handshake that
failed. Real sockets on loopback; the "daemons" here are bare ZeroMQ or TCP listeners."""

from __future__ import annotations

import socket

import pytest
import zmq
from ports import free_port
from zmq.auth.thread import ThreadAuthenticator

from impasto_wire import Client, DaemonUnavailable
from impasto_wire.curve import CurveClientKeys


def unanswered(endpoint: str, **kwargs) -> str:
    with pytest.raises(DaemonUnavailable) as info:
        with Client(endpoint, timeout=1.0, **kwargs) as c:
            c.hello()
    return str(info.value)


def test_nothing_listening_is_called_that():
    message = unanswered(f"tcp://127.0.0.1:{free_port()}")
    assert "no impasto daemon is listening" in message


def test_a_port_that_accepts_but_never_speaks_is_not_called_not_listening():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        message = unanswered(f"tcp://127.0.0.1:{srv.getsockname()[1]}")
    assert "not listening" not in message and "no impasto daemon" not in message
    assert "accepts connections" in message and "hung or stopped daemon" in message


def test_a_connected_daemon_that_does_not_answer_is_called_hung():
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    try:
        message = unanswered(f"tcp://127.0.0.1:{port}")
    finally:
        sock.close()
        ctx.term()
    assert "connected but did not answer" in message and "hung" in message


@pytest.fixture
def curve_router(tmp_path):
    """A CurveZMQ ROUTER whose ZAP handler knows no client key at all."""
    if not zmq.has("curve"):
        pytest.skip("this libzmq has no CurveZMQ")
    ctx = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    (tmp_path / "allowed").mkdir()
    auth.configure_curve(domain="*", location=str(tmp_path / "allowed"))
    public, secret = zmq.curve_keypair()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.curve_secretkey, sock.curve_publickey, sock.curve_server = secret, public, True
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    yield f"tcp://127.0.0.1:{port}", public
    sock.close()
    auth.stop()
    ctx.term()


def test_a_refused_curve_key_is_named(curve_router):
    endpoint, server_public = curve_router
    public, secret = zmq.curve_keypair()
    message = unanswered(endpoint, curve=CurveClientKeys(public, secret, server_public))
    assert "refused this client's CurveZMQ key" in message and "allowed-keys" in message


def test_a_client_without_keys_is_told_the_daemon_wants_curve(curve_router, monkeypatch):
    monkeypatch.delenv("IMPASTO_CURVE_CLIENT_KEY", raising=False)
    monkeypatch.delenv("IMPASTO_CURVE_SERVER_KEY", raising=False)
    endpoint, _ = curve_router
    message = unanswered(endpoint)
    assert "handshake" in message and "requires CurveZMQ" in message
