"""Every launcher starts the daemon the same way, from the one configuration install.sh wrote:
the command line of the daemon `impasto stylize` auto-starts, the one the installed GIMP
plug-in would run, and the systemd unit's ExecStart are the same. And what the launcher leaves
behind reads well: missing weights exit 4 with the daemon's reason, the log ends with a newline
and holds this start's messages only, and --uninstall removes the log and the socket lock.

Real processes: install.sh, the `impasto` command, a real daemon (seeded random weights, 32 px),
the installed plug-in's own daemon_link; systemctl is a stand-in (no user systemd here).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from install_helpers import (
    PLUGIN,
    VENV,
    Home,
    make_home,
    run_install,
    stub_command,
    venv_is_editable_checkout,
)
from PIL import Image

from impasto_wire import daemon_config

pytestmark = pytest.mark.skipif(not venv_is_editable_checkout(),
                                reason=f"{VENV} is not an editable install of this checkout")

DAEMON = str(VENV / "bin" / "impasto-daemon")


def show(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}"


def _py(home: Home, code: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV / "bin" / "python"), "-c", code],
                          env={**home.env, **(extra_env or {})}, capture_output=True, text=True,
                          timeout=120)


def _hello(home: Home) -> dict:
    res = _py(home, "import json\nfrom impasto_wire import Client\n"
                    "from impasto_wire.launcher import configured_endpoint\n"
                    "with Client(configured_endpoint(), timeout=5) as c:\n"
                    "    print(json.dumps(c.hello()))")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _stop(home: Home) -> None:
    _py(home, "from impasto_wire import Client\n"
              "from impasto_wire.launcher import answers, configured_endpoint\n"
              "import time\n"
              "e = configured_endpoint()\n"
              "try:\n"
              "    with Client(e, timeout=3) as c: c.stop()\n"
              "except Exception: pass\n"
              "for _ in range(100):\n"
              "    if not answers(e, 0.3): break\n"
              "    time.sleep(0.2)\n")


def _picture(path: Path) -> None:
    y, x = np.mgrid[0:24, 0:32]
    Image.fromarray(np.stack([x * 8, y * 10, (x ^ y) * 4], -1).astype(np.uint8)).save(path)


def _stylize(home: Home, folder: Path, *extra: str) -> subprocess.CompletedProcess:
    _picture(folder / "a.png")
    return subprocess.run([str(VENV / "bin" / "impasto"), "stylize", "a.png", "a.png", "-o",
                           "out.png", "--size", "32", "--iterations", "2", "-q", *extra],
                          env=home.env, cwd=str(folder), capture_output=True, text=True,
                          timeout=300)


def _argv(pid: int) -> list[str]:
    """The daemon's command line without the interpreter the script's #! line adds."""
    argv = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    return argv[argv.index(DAEMON):]


def test_cli_plugin_and_systemd_unit_start_the_daemon_with_the_same_command_line(tmp_path):
    home = make_home(tmp_path / "user")
    stubs = tmp_path / "stubs"
    stub_command(stubs, "systemctl", "exit 0")
    home.env["PATH"] = f"{stubs}:{home.env['PATH']}"
    profile = tmp_path / "gimp-profile"
    proc = run_install(home, ["--venv", str(VENV), "--weights", "random", "--models", "vgg16",
                              "--no-detect", "--gimp-profile", str(profile),
                              "--gimp-python", str(VENV / "bin" / "python"), "--no-doctor"])
    assert proc.returncode == 0, show(proc)
    config = home.home / ".config" / "impasto" / "daemon.toml"
    expected = [DAEMON, "--config", str(config)]

    unit = (home.home / ".config" / "systemd" / "user" / "impasto-daemon.service").read_text()
    (line,) = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")]
    systemd = shlex.split(line[len("ExecStart="):].replace("%%", "%"))

    # the installed plug-in, in a GIMP whose own XDG_CONFIG_HOME is elsewhere
    plugin_dir = profile / "plug-ins" / PLUGIN
    res = _py(home, "import json, sys\n"
                    f"sys.path.insert(0, {str(plugin_dir)!r})\n"
                    "from impasto_gimp import daemon_link\n"
                    "print(json.dumps(daemon_link.daemon_command()))",
              {"XDG_CONFIG_HOME": str(tmp_path / "gimps-own-config")})
    assert res.returncode == 0, res.stderr
    plugin = json.loads(res.stdout)

    work = tmp_path / "work"
    work.mkdir()
    try:
        run = _stylize(home, work)
        assert run.returncode == 0, show(run)
        welcome = _hello(home)
        cli = _argv(welcome["pid"])
        # a daemon that loads other networks than the configuration now names is pointed out
        cfg = daemon_config.load(config)
        cfg.models, cfg.weights = ["vgg19"], {"vgg19": "random"}
        config.write_text(daemon_config.render(cfg))
        doctor = subprocess.run([str(VENV / "bin" / "impasto"), "doctor", "--skip", "device",
                                 "--skip", "weights", "--skip", "gimp"], env=home.env,
                                capture_output=True, text=True, timeout=120)
        assert "WARN daemon: reachable at" in doctor.stdout, show(doctor)
        assert "the configuration names vgg19" in doctor.stdout and "impasto stop" in \
            doctor.stdout, show(doctor)
    finally:
        _stop(home)
    assert systemd == plugin == cli == expected, (systemd, plugin, cli)
    assert [m["name"] for m in welcome["models"]] == ["vgg16"], "the configured model"

    # --uninstall removes what the daemon left in its runtime folder
    runtime = home.runtime / "impasto"
    assert (runtime / "daemon.log").exists()
    out = run_install(home, ["--uninstall"])
    assert out.returncode == 0, show(out)
    left = sorted(p.name for p in runtime.iterdir()) if runtime.exists() else []
    assert left == [], left


def test_missing_weights_exit_4_with_the_daemons_reason_and_a_clean_log(tmp_path):
    home = make_home(tmp_path / "user")
    config = home.home / ".config" / "impasto" / "daemon.toml"
    config.parent.mkdir(parents=True)
    gone = tmp_path / "gone-vgg16.pth"
    config.write_text(daemon_config.render(daemon_config.ConfigFile(
        program=DAEMON, models=["vgg16"], weights={"vgg16": str(gone)}, device="cpu")))
    work = tmp_path / "work"
    work.mkdir()
    first = _stylize(home, work)
    assert first.returncode == 4, show(first)
    assert f"weights file not found: {gone}" in first.stderr, show(first)
    log = home.runtime / "impasto" / "daemon.log"
    text = log.read_text()
    assert text.endswith("\n") and "exited with status 4" in text, repr(text[-300:])
    time.sleep(0.1)
    second = _stylize(home, work)
    assert second.returncode == 4, show(second)
    assert log.read_text().count("weights file not found") == 1, "old errors are not kept"
    assert (log.parent / "daemon.log.1").read_text() == text, "the previous log is kept aside"
    # --weights without --local is refused, not silently ignored
    refused = _stylize(home, work, "--weights", "random")
    assert refused.returncode == 2 and "--weights applies to --local runs" in refused.stderr
