"""The default endpoint never moves to TCP behind the user's back, and a runtime folder that is
not safely ours (another user's, a symlink, open to writing) is an error that says what to do.

TCP on loopback can be bound first by any local user, who then receives the pictures and answers
with anything; ipc in a private folder cannot be intercepted. See issue 10, item 1.
"""

from __future__ import annotations

import os
import stat
import tempfile

import pytest

from impasto_wire import endpoints as E

OTHER_UID = 65534  # "nobody": plays the other local user


@pytest.fixture
def no_config(monkeypatch, short_tmp):
    """No XDG_RUNTIME_DIR, no IMPASTO_ENDPOINT, a private cache home and a shared temp folder
    (in ``short_tmp``: the socket lands below it)."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv(E.ENV_ENDPOINT, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(short_tmp / "home" / ".cache"))
    shared = short_tmp / "shared-tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    return short_tmp


def test_a_folder_planted_in_the_temp_dir_cannot_move_the_endpoint_to_tcp(no_config):
    # what another user can do without any privilege: pre-create the old fixed name
    planted = no_config / "shared-tmp" / f"impasto-{os.getuid()}"
    os.symlink(no_config / "shared-tmp", planted)
    endpoint = E.discover_endpoint()
    assert endpoint == f"ipc://{no_config}/home/.cache/impasto/run/daemon.sock"
    run = no_config / "home" / ".cache" / "impasto" / "run"
    assert stat.S_IMODE(os.stat(run).st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a folder owned by another uid")
def test_a_runtime_folder_owned_by_another_user_is_an_error_not_tcp(tmp_path, monkeypatch):
    monkeypatch.delenv(E.ENV_ENDPOINT, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    planted = tmp_path / "impasto"
    planted.mkdir()
    os.chown(planted, OTHER_UID, OTHER_UID)
    os.chmod(planted, 0o777)
    for ask in (E.default_endpoint, E.discover_endpoint):
        with pytest.raises(E.EndpointError) as err:
            ask()
        message = str(err.value)
        assert f"{planted} belongs to" in message and f"uid {OTHER_UID}" in message
        assert "XDG_RUNTIME_DIR" in message  # says what to do instead
    assert os.lstat(planted).st_uid == OTHER_UID  # never taken over or changed


def test_a_runtime_folder_others_can_write_in_is_refused(no_config, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(no_config))
    loose = no_config / "impasto"
    loose.mkdir()
    os.chmod(loose, 0o777)  # anyone could have put a socket or an announce file in it
    with pytest.raises(E.EndpointError, match=r"writable by other users \(mode 0777\).*rm -r"):
        E.discover_endpoint()


def test_a_symlinked_runtime_folder_names_its_target_and_the_fix(no_config, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(no_config))
    os.symlink(no_config / "shared-tmp", no_config / "impasto")
    with pytest.raises(E.EndpointError, match="is a symbolic link.*shared-tmp.*rm "):
        E.default_endpoint()


def test_a_socket_path_too_long_for_unix_sockets_is_an_error_not_tcp(no_config, monkeypatch):
    deep = no_config / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True, mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    with pytest.raises(E.EndpointError, match="longer than the 100 a Unix socket allows"):
        E.default_endpoint()


def test_without_ipc_the_default_is_an_error_naming_the_explicit_tcp_setting(no_config,
                                                                             monkeypatch):
    monkeypatch.setattr(E, "ipc_supported", lambda: False)
    with pytest.raises(E.EndpointError, match="IMPASTO_ENDPOINT=tcp://127.0.0.1:"):
        E.default_endpoint()
    monkeypatch.setenv(E.ENV_ENDPOINT, "tcp://127.0.0.1:47999")  # asked for: then TCP it is
    assert E.discover_endpoint() == "tcp://127.0.0.1:47999"
