"""The parts of install.sh that need what this machine lacks, driven through stand-ins:

* a user systemd (a stub ``systemctl`` that records its calls): the unit install.sh writes, the
  calls it makes, and that --uninstall disables and removes it;
* a Flatpak GIMP (a stub ``flatpak`` whose ``run --command=python3 org.gimp.GIMP`` is the GIMP
  root's Python 3.13 without zmq/msgpack, as a Flatpak's bundled Python is): the profile is found
  under ~/.var/app, wheels are vendored for that Python, no daemon configuration is named beside
  the plug-in (a sandbox cannot start host programs), the sandbox is given the daemon's socket
  folder, and doctor checks it all; --uninstall withdraws the permission.

What the stand-ins cannot show (a real systemd starting the daemon, a real Flatpak sandbox) is
listed in docs/INSTALL.md.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from install_helpers import (
    VENV,
    make_home,
    run_doctor,
    run_install,
    snapshot,
    stub_command,
)

from impasto_wire import daemon_config

UNIT = "impasto-daemon.service"


def show(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}"


def test_systemd_user_unit_is_installed_enabled_and_removed(tmp_path):
    home = make_home(tmp_path)
    stubs = tmp_path / "stubs"
    log = stub_command(stubs, "systemctl", "exit 0")
    home.env["PATH"] = f"{stubs}:{home.env['PATH']}"
    before = snapshot(home.home)
    proc = run_install(home, ["--venv", str(VENV), "--no-weights", "--no-detect", "--no-doctor",
                              "--weights", "random", "--models", "vgg19,vgg16"])
    assert proc.returncode == 0, show(proc)
    unit = home.home / ".config" / "systemd" / "user" / UNIT
    text = unit.read_text()
    exec_start = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    config = home.home / ".config" / "impasto" / "daemon.toml"
    assert exec_start == [f"ExecStart={VENV}/bin/impasto-daemon --config {config}"], text
    cfg = daemon_config.load(config)
    assert cfg.models == ["vgg19", "vgg16"]
    assert cfg.weights == {"vgg19": "random", "vgg16": "random"}
    for line in ("Restart=on-failure", "RestartPreventExitStatus=2 3 4",
                 "WantedBy=default.target"):
        assert line in text.splitlines(), text
    calls = log.read_text().splitlines()
    assert "--user daemon-reload" in calls and f"--user enable {UNIT}" in calls, calls
    assert f"--user restart {UNIT}" in calls, calls  # weights=random: nothing to wait for
    if shutil.which("systemd-analyze"):
        check = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                               text=True, timeout=60)
        bad = [ln for ln in check.stderr.splitlines() if UNIT in ln and "Unknown" in ln]
        assert not bad, check.stderr

    log.write_text("")
    out = run_install(home, ["--uninstall"])
    assert out.returncode == 0, show(out)
    assert f"--user disable --now {UNIT}" in log.read_text().splitlines()
    assert not unit.exists()
    assert snapshot(home.home).keys() == before.keys(), "uninstall left something behind"


def test_flatpak_gimp_gets_wheels_for_its_own_python(gimp_runner, gimp_python):
    root = str(gimp_runner.root) if gimp_runner.chroot else ""
    # HOME inside the GIMP root, so that the stand-in Flatpak Python sees the profile
    home = make_home(gimp_runner.xchg / "flatpak-user")
    profile = home.home / ".var" / "app" / "org.gimp.GIMP" / "config" / "GIMP" / "3.0"
    (profile / "plug-ins").mkdir(parents=True)  # a Flatpak GIMP 3 that was started once
    stubs = home.home.parent / "stubs"
    # paths under the root are seen inside it without the root's prefix
    body = f"""case "$1" in
  info) [ "$2" = org.gimp.GIMP ] || exit 1; echo "Version: 3.0.4" ;;
  override) exit 0 ;;
  run) [ "$2" = --command=python3 ] && [ "$3" = org.gimp.GIMP ] || exit 1
       shift 3
       for a in "$@"; do shift; set -- "$@" "${{a#{shlex.quote(root)}}}"; done
       exec {shlex.quote(str(gimp_python))} "$@" ;;
  *) exit 1 ;;
esac"""
    log = stub_command(stubs, "flatpak", body)
    home.env["PATH"] = f"{stubs}:{home.env['PATH']}"
    proc = run_install(home, ["--venv", str(VENV), "--no-weights", "--no-doctor"])
    assert proc.returncode == 0, show(proc)
    plugin = profile / "plug-ins" / "impasto-stylize"
    assert (plugin / "impasto-stylize.py").is_file() and (plugin / "impasto_wire").is_dir()
    assert f"GIMP profile {profile} (flatpak)" in proc.stdout, show(proc)
    assert "lacks: zmq msgpack" in proc.stdout and "vendored for Python 3.13" in proc.stdout
    assert not (plugin / "daemon-config").exists(), "a sandboxed GIMP cannot start the daemon"
    assert "Flatpak GIMP cannot start the daemon itself" in proc.stdout  # no systemd here
    calls = log.read_text().splitlines()
    assert "override --user --filesystem=xdg-run/impasto:create org.gimp.GIMP" in calls, calls
    assert "flatpak-override\txdg-run/impasto" in home.manifest.read_text()

    # doctor finds the Flatpak profile on its own and checks it with the Flatpak's Python
    doc = run_doctor(home, ["--skip", "daemon", "--skip", "device", "--skip", "weights"])
    assert doc.returncode == 0, doc.stdout + doc.stderr
    assert f"OK   plug-in in {profile}" in doc.stdout and "started outside GIMP" in doc.stdout
    assert f"OK   gimp python for {profile}: Python 3.13" in doc.stdout, doc.stdout
    assert "(vendored)" in doc.stdout

    log.write_text("")
    out = run_install(home, ["--uninstall"])
    assert out.returncode == 0, show(out)
    assert "override --user --nofilesystem=xdg-run/impasto org.gimp.GIMP" in log.read_text()
    assert not plugin.exists() and (profile / "plug-ins").is_dir()
    shutil.rmtree(home.home.parent)


def test_uninstall_without_a_manifest_touches_nothing(tmp_path):
    home = make_home(tmp_path)
    (home.home / "keep.txt").write_text("mine")
    before = snapshot(home.home)
    proc = run_install(home, ["--uninstall"])
    assert proc.returncode == 0 and "nothing was installed" in proc.stdout
    assert snapshot(home.home) == before
    assert Path(home.home / "keep.txt").read_text() == "mine"
