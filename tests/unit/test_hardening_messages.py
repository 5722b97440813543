"""Clear one-line errors where a bad value once gave a traceback, the wrong reason or silence
(issue 19, items 6, 9, 12, 15): a token that is not a plain file of ours, a CurveZMQ key of the
wrong length or alphabet, a port out of range, a configuration file in UTF-16 or binary, a
daemon setting out of its range."""

from __future__ import annotations

import os

import pytest

from impasto_wire import admin_token, daemon_config
from impasto_wire import endpoints as E
from impasto_wire.curve import CurveClientKeys, CurveKeyError, create_key_pair

PORT = 47298


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = E.runtime_dir()
    return folder


@pytest.mark.parametrize("planted", ["fifo", "dev_zero", "huge"])
def test_a_token_that_is_not_a_small_plain_file_is_refused_without_hanging(runtime, planted):
    token = runtime / f"tcp-{PORT}.token"
    if planted == "fifo":
        os.mkfifo(token)  # opening it for reading would wait for a writer forever
    elif planted == "dev_zero":
        os.symlink("/dev/zero", token)  # reading it whole would exhaust memory
    else:
        token.write_text("a" * 100_000)
    with pytest.raises(E.EndpointError) as err:
        admin_token.read_token(f"tcp://127.0.0.1:{PORT}")
    assert str(token) in str(err.value) and "\n" not in str(err.value)


def test_the_daemons_own_token_is_still_read(runtime):
    path, token = admin_token.create_token(f"tcp://127.0.0.1:{PORT}")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert admin_token.read_token(f"tcp://127.0.0.1:{PORT}") == token


@pytest.mark.parametrize("key, why", [("tooshort", "this one has 8"),
                                      ("~" * 40, "40 Z85 characters")],
                         ids=["short", "not-z85"])
def test_a_curve_key_of_the_wrong_length_or_alphabet_is_one_line(tmp_path, monkeypatch, key, why):
    pub, secret = create_key_pair(tmp_path, "client")
    server_pub, _ = create_key_pair(tmp_path, "server")
    text = server_pub.read_text()
    start = text.index('public-key = "') + len('public-key = "')
    server_pub.write_text(text[:start] + key + text[text.index('"', start):])
    monkeypatch.setenv("IMPASTO_CURVE_CLIENT_KEY", str(secret))
    monkeypatch.setenv("IMPASTO_CURVE_SERVER_KEY", str(server_pub))
    with pytest.raises(CurveKeyError) as err:
        CurveClientKeys.from_env()
    message = str(err.value)
    assert "IMPASTO_CURVE_SERVER_KEY" in message and str(server_pub) in message
    assert why in message and "\n" not in message


@pytest.mark.parametrize("endpoint", ["tcp://127.0.0.1:99999", "tcp://127.0.0.1:0",
                                      "tcp://127.0.0.1:http"])
def test_a_tcp_port_out_of_range_is_refused_not_bound_at_random(endpoint):
    with pytest.raises(E.EndpointError, match="from 1 to 65535"):
        E.check_endpoint(endpoint)


@pytest.mark.parametrize("content", [
    "[daemon]\nmodels = [\"vgg16\"]\n".encode("utf-16"),
    bytes(range(256)) * 4,
    b"[daemon]\n\x00\x00device = \"cpu\"\n",
], ids=["utf16", "binary", "nul-bytes"])
def test_a_configuration_in_utf16_or_binary_names_the_file(tmp_path, content):
    path = tmp_path / "daemon.toml"
    path.write_bytes(content)
    with pytest.raises(daemon_config.ConfigError) as err:
        daemon_config.load(path)
    assert str(path) in str(err.value) and "UTF-8" in str(err.value)


def test_every_daemon_setting_is_bounded_from_limits_where_it_is_parsed(tmp_path):
    from impasto_daemon.cli.daemon_main import build_parser
    from impasto_wire.limits import DAEMON_SETTING_RANGES, check_setting

    parser = build_parser()
    for name, (low, high) in DAEMON_SETTING_RANGES.items():
        flag = "--" + name.replace("_", "-")
        assert getattr(parser.parse_args([flag, str(high)]), name) == high
        for bad in (high * 2 + 1, low - 1):
            with pytest.raises(SystemExit):
                parser.parse_args([flag, str(int(bad) if float(bad).is_integer() else bad)])
        with pytest.raises(ValueError, match=f"{name} must be between"):
            check_setting(name, float("nan"))
    path = tmp_path / "daemon.toml"
    path.write_text(f"[daemon]\nmemory_budget_mb = {2**44}\n")
    with pytest.raises(daemon_config.ConfigError, match="memory_budget_mb must be between"):
        daemon_config.load(path)
