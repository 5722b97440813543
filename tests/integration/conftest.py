"""Fixtures for the daemon tests; the helpers they use live in daemon_support.py."""

from __future__ import annotations

import pytest
from daemon_support import SHARED_ARGS, DaemonProcess, RawPeer

from impasto_wire import Client


@pytest.fixture(scope="session")
def daemon(tmp_path_factory):
    """The shared daemon, on the *default* endpoint of a private XDG_RUNTIME_DIR."""
    d = DaemonProcess(tmp_path_factory.mktemp("shared"), None, SHARED_ARGS).start()
    yield d
    d.stop()


@pytest.fixture
def own_daemon(tmp_path):
    """A factory for daemons a test may kill or stop; all are stopped afterwards."""
    started: list[DaemonProcess] = []

    def make(endpoint: str | None = None, args: list[str] | None = None, start: bool = True,
             **kwargs) -> DaemonProcess:
        root = tmp_path / f"d{len(started)}"
        root.mkdir()
        if endpoint is None:
            endpoint = f"ipc://{root}/sock/d.sock"
        d = DaemonProcess(root, endpoint, args if args is not None else SHARED_ARGS,
                          env=kwargs.pop("env", None))
        started.append(d)
        return d.start(**kwargs) if start else d

    yield make
    for d in started:
        d.stop()


@pytest.fixture
def client(daemon):
    with Client(daemon.endpoint, timeout=5.0, name="pytest") as c:
        yield c


@pytest.fixture
def peer(daemon):
    p = RawPeer(daemon.endpoint)
    yield p
    p.close()
