"""The daemon configuration file and the one resolver that starts the daemon from it.

Fast: no torch, no daemon process (test_one_daemon_command.py starts real ones).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

from impasto_daemon.cli import daemon_main
from impasto_wire import DaemonUnavailable, daemon_config, launcher
from impasto_wire.daemon_config import ConfigError, ConfigFile

ODD_PATH = '/home/a b/we"ird\\dir/vgg16 #1.pth#sha256=' + "ab" * 32


def _file(tmp_path, **kw) -> tuple:
    cfg = ConfigFile(**kw)
    path = tmp_path / "daemon.toml"
    path.write_text(daemon_config.render(cfg))
    return cfg, path


def test_rendered_file_reads_back_the_same_with_tomllib_and_the_subset_reader():
    cfg = ConfigFile(program="/opt/x y/bin/impasto-daemon", models=["vgg16", "vgg19"],
                     weights={"vgg16": ODD_PATH, "vgg19": "random"}, device="cuda:0,cuda:1",
                     endpoint="tcp://127.0.0.1:47999", memory_budget_mb=1200)
    text = daemon_config.render(cfg)
    subset = daemon_config._from_tables(daemon_config._parse_subset(text, "t"), "t", None)
    assert subset == cfg
    if sys.version_info >= (3, 11):
        import tomllib

        assert daemon_config._from_tables(tomllib.loads(text), "t", None) == cfg
    assert daemon_config.parse(text) == cfg


def test_subset_reader_names_the_line_it_cannot_read():
    with pytest.raises(ConfigError, match="line 3"):
        daemon_config._parse_subset('[daemon]\ndevice = "cpu"\nmodels = [vgg16]\n', "f")
    with pytest.raises(ConfigError, match="line 2: not a 'key = value' line"):
        daemon_config._parse_subset("[daemon]\njust words\n", "f")


@pytest.mark.parametrize("text, message", [
    ('[daemon]\nmodels = ["vgg11"]\n', "models are vgg19 and/or vgg16"),
    ('[daemon]\ndevice = "gpu"\n', "daemon.device is auto, cpu"),
    ('[daemon]\nthreads = 4\n', "unknown key daemon.threads"),
    ('[server]\n', "unknown table"),
    ('[daemon]\nmemory_budget_mb = "1G"\n', "memory_budget_mb must be a int"),
    ('[weights]\nvgg16 = ""\n', "weights.vgg16 must be"),
    ('[daemon]\nendpoint = "http://x"\n', "endpoint is ipc://PATH or tcp://"),
])
def test_impossible_settings_are_refused_with_what_is_wrong(text, message):
    with pytest.raises(ConfigError, match=message):
        daemon_config.parse(text)


def test_command_comes_from_env_then_configuration_then_path(tmp_path, monkeypatch):
    monkeypatch.delenv(launcher.ENV_DAEMON, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv(daemon_config.ENV_CONFIG, raising=False)
    monkeypatch.setattr(launcher, "find_program", lambda: None)
    with pytest.raises(DaemonUnavailable, match="cannot find the impasto-daemon program"):
        launcher.daemon_command()
    monkeypatch.setattr(launcher, "find_program", lambda: "/usr/bin/impasto-daemon")
    assert launcher.daemon_command() == ["/usr/bin/impasto-daemon"]  # no file: defaults
    path = daemon_config.default_path()
    path.parent.mkdir(parents=True)
    path.write_text(daemon_config.render(ConfigFile(program="/v/bin/impasto-daemon")))
    assert launcher.daemon_command() == ["/v/bin/impasto-daemon", "--config", str(path)]
    monkeypatch.setenv(launcher.ENV_DAEMON, "/x/impasto-daemon --weights random")
    assert launcher.daemon_command() == ["/x/impasto-daemon", "--weights", "random"]


def test_a_start_adds_the_endpoint_only_when_the_daemon_would_not_choose_it(tmp_path,
                                                                           monkeypatch):
    monkeypatch.delenv(launcher.ENV_DAEMON, raising=False)
    _, path = _file(tmp_path, program="/v/bin/impasto-daemon")
    own = launcher.default_endpoint()
    assert launcher.launch_argv(own, config_path=path) == launcher.daemon_command(path)
    assert launcher.launch_argv("tcp://127.0.0.1:47998", config_path=path)[-2:] == [
        "--endpoint", "tcp://127.0.0.1:47998"]
    _, path = _file(tmp_path, program="/v/bin/impasto-daemon", endpoint="tcp://127.0.0.1:47997")
    assert launcher.launch_argv("tcp://127.0.0.1:47997", config_path=path) == [
        "/v/bin/impasto-daemon", "--config", str(path)]


def _resolved(argv: list[str]) -> argparse.Namespace:
    return daemon_main.resolve(daemon_main.build_parser().parse_args(argv))


def test_daemon_reads_the_configuration_and_flags_override_it(tmp_path):
    _, path = _file(tmp_path, program="/v", models=["vgg16", "vgg19"],
                    weights={"vgg16": "/w/vgg16.pth", "vgg19": "random"}, device="cpu",
                    endpoint="tcp://127.0.0.1:47996", memory_budget_mb=800)
    a = _resolved(["--config", str(path)])
    assert a.models == ("vgg16", "vgg19") and a.device == "cpu"
    assert a.weights_source == {"vgg16": "/w/vgg16.pth", "vgg19": "random"}
    assert a.endpoint == "tcp://127.0.0.1:47996" and a.memory_budget_mb == 800
    b = _resolved(["--config", str(path), "--model", "vgg16", "--weights", "random",
                   "--device", "auto", "--memory-budget-mb", "100"])
    assert b.models == ("vgg16",) and b.weights_source == "random"
    assert b.device == "auto" and b.memory_budget_mb == 100
    c = _resolved(["--config", str(path), "--weights", "vgg19=torchvision"])
    assert c.weights_source == {"vgg16": "/w/vgg16.pth", "vgg19": "torchvision"}
    with pytest.raises(ValueError, match="no configuration file"):
        _resolved(["--config", str(tmp_path / "missing.toml")])


def test_daemon_without_a_configuration_keeps_its_old_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nothing"))
    monkeypatch.delenv(daemon_config.ENV_CONFIG, raising=False)
    a = _resolved([])
    assert a.models == ("vgg19",) and a.weights_source == "torchvision"
    assert a.device == "auto" and a.endpoint is None and a.memory_budget_mb is None


def test_the_suite_never_reads_the_developers_own_configuration():
    # after ./install.sh, ~/.config/impasto/daemon.toml names the installed models (vgg16
    # only, offline), and the daemons the GIMP tests start refused their VGG19 jobs
    assert daemon_config.ENV_CONFIG not in os.environ
    assert not daemon_config.default_path().is_relative_to(Path.home())


def test_a_broken_configuration_stops_the_daemon_with_status_2(tmp_path, capsys):
    bad = tmp_path / "daemon.toml"
    bad.write_text('[daemon]\ndevice = "gpu"\n')
    assert daemon_main.main(["--config", str(bad)]) == 2
    assert f"{bad}: daemon.device is auto" in capsys.readouterr().err


def test_per_model_weights_reach_the_loader():
    from impasto_daemon.weights import load_vgg_features

    _, info = load_vgg_features("vgg16", {"vgg16": "random", "vgg19": "/nonexistent.pth"})
    assert info.is_random and info.model == "vgg16"
