"""install.sh for real, into a temporary HOME, on a machine without GPU or internet (package
registries only), with the real GIMP 3's profile and a GIMP Python that lacks zmq/msgpack.

The tests share one installation and run in file order: install -> check what it did -> run it
again (nothing may change) -> GIMP stylises a layer through it -> doctor finds missing pieces ->
uninstall (only what it added goes).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from install_helpers import (
    HIDDEN,
    PLUGIN,
    REPO,
    VENV,
    Home,
    install_args,
    make_home,
    run_doctor,
    run_install,
    snapshot,
)
from PIL import Image

from impasto_wire import Client, daemon_config, launcher

W, H = 32, 24


@dataclass
class Installed:
    home: Home
    runner: object  # harness.GimpRunner
    python: Path  # GIMP's Python without zmq/msgpack
    args: list[str]
    proc: subprocess.CompletedProcess
    before: dict  # snapshot of HOME and the profile before install.sh ran
    user_files: list[Path]  # in the profile's plug-ins folder before install.sh ran

    @property
    def plugin(self) -> Path:
        return self.runner.profile / "plug-ins" / PLUGIN

    @property
    def config(self) -> Path:
        return self.home.home / ".config" / "impasto" / "daemon.toml"

    def manifest(self) -> str:
        return self.home.manifest.read_text()


@pytest.fixture(scope="module")
def installed(install_home: Home, gimp_runner, gimp_python) -> Installed:
    plugins = gimp_runner.profile / "plug-ins"
    user_files = [plugins / "someone-else" / "someone-else.py", plugins / "notes.txt"]
    user_files[0].parent.mkdir(parents=True)
    user_files[0].write_text("#!/usr/bin/env python3\n# another plug-in: not ours\n")
    user_files[1].write_text("the user's own file\n")
    # GIMP writes its own files all over the profile when it runs: compare plug-ins/ only
    before = snapshot(install_home.home, plugins)
    args = install_args(gimp_runner, gimp_python)
    proc = run_install(install_home, args)
    yield Installed(install_home, gimp_runner, gimp_python, args, proc, before, user_files)
    if install_home.manifest.exists():  # a test failed before the uninstall test ran
        run_install(install_home, ["--uninstall"])


def show(proc: subprocess.CompletedProcess) -> str:
    return (f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}\n"
            f"--- stderr\n{proc.stderr[-3000:]}")


# ------------------------------------------------------------------------------------------------
def test_install_completes_and_configures_the_weights_it_was_given(installed):
    proc = installed.proc
    assert proc.returncode == 0, show(proc)
    # --weights random: configured for the daemon, labelled, and nothing downloaded
    assert "VGG weights: random (--weights random)" in proc.stdout, show(proc)
    assert "could not download" not in proc.stdout + proc.stderr, show(proc)
    cfg = daemon_config.load(installed.config)
    assert cfg.program == str(VENV / "bin" / "impasto-daemon")
    assert cfg.models == ["vgg19"] and cfg.weights == {"vgg19": "random"}
    assert f"every launcher starts the daemon as: {VENV}/bin/impasto-daemon --config " \
           f"{installed.config}" in proc.stdout
    # no user systemd in this container: no unit, and the on-demand start is explained
    assert "no systemd user instance" in proc.stdout and "on demand" in proc.stdout
    assert f"To start it yourself: {VENV}/bin/impasto-daemon --config {installed.config} &" \
        in proc.stdout, show(proc)
    assert not (installed.home.home / ".config" / "systemd").exists()
    assert "Self-check: impasto doctor" in proc.stdout


def test_plugin_is_installed_with_the_protocol_beside_it(installed):
    d = installed.plugin
    src = REPO / "gimp_plugin" / PLUGIN
    for f in src.rglob("*.py"):
        assert (d / f.relative_to(src)).read_bytes() == f.read_bytes(), f
    script = d / f"{PLUGIN}.py"
    assert script.stat().st_mode & 0o111, "GIMP silently ignores a script that is not executable"
    for f in (REPO / "shared" / "impasto_wire").glob("*.py"):
        assert (d / "impasto_wire" / f.name).read_bytes() == f.read_bytes(), f
    # how the plug-in starts the daemon: from the configuration named beside it
    assert (d / "daemon-config").read_text() == f"{installed.config}\n"
    assert launcher.daemon_command(installed.config) == [
        str(VENV / "bin" / "impasto-daemon"), "--config", str(installed.config)]
    manifest = installed.manifest()
    assert f"tree\t{d}\n" in manifest
    assert f"profile\t{installed.runner.profile}\t{installed.python}\t" in manifest
    assert f"tree\t{VENV}" not in manifest, "a venv install.sh did not create is not its to remove"
    # the doctor at the end of install.sh saw the plug-in and GIMP's Python importing its deps
    out = installed.proc.stdout
    assert f"OK   plug-in in {installed.runner.profile}" in out, show(installed.proc)
    assert f"OK   gimp python for {installed.runner.profile}: Python 3." in out
    assert "(vendored)" in out


def test_wheels_are_vendored_for_a_gimp_python_without_zmq(installed):
    vendor = installed.plugin / "vendor"
    # the wrapper really is a GIMP Python without the Debian packages
    bare = subprocess.run([str(installed.python), "-c", "import zmq"], capture_output=True,
                          text=True, timeout=60)
    assert bare.returncode != 0 and "No module named 'zmq'" in bare.stderr, bare.stderr
    # the wheels match that Python (trixie: CPython 3.13)
    version = subprocess.run([str(installed.python), "-c",
                              "import sys; print('%d%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    exts = [p.name for p in (vendor / "zmq").rglob("*.so")]
    assert exts and all(f"cpython-{version}" in n or ".abi3." in n for n in exts), exts
    assert list(vendor.glob("pyzmq-*.dist-info")) and list(vendor.glob("msgpack-*.dist-info"))
    # and GIMP's Python imports them from there, with the plug-in's impasto_wire
    seen = installed.runner.root_path(vendor)
    code = ("import sys; sys.path[:0] = sys.argv[1:]; import zmq, msgpack, impasto_wire; "
            "print(zmq.__file__); print(msgpack.__file__); print(zmq.zmq_version())")
    res = subprocess.run([str(installed.python), "-c", code, seen,
                          installed.runner.root_path(installed.plugin)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    zmq_file, msgpack_file, _ = res.stdout.split()
    assert zmq_file.startswith(seen + "/") and msgpack_file.startswith(seen + "/"), res.stdout
    # the wheel cache makes reruns (and CI) fast and offline
    cache = Path(installed.home.env["IMPASTO_WHEEL_CACHE"])
    assert any(p.suffix == ".whl" for p in cache.rglob("*"))


def test_second_run_changes_nothing(installed):
    roots = (installed.home.home, installed.runner.profile / "plug-ins")
    manifest = installed.manifest()
    before = snapshot(*roots)
    again = run_install(installed.home, installed.args)
    assert again.returncode == 0, show(again)
    assert installed.manifest() == manifest
    after = snapshot(*roots)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"a second run changed: {changed[:20]}"
    assert "reusing it" in again.stdout
    # plug-in and vendor/
    assert len(re.findall(r"[(; ]0 file\(s\) changed\)", again.stdout)) == 2, show(again)
    assert "Daemon configuration" in again.stdout and "    unchanged" in again.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gimp_finds_the_menu_entry_and_stylises_through_the_installed_daemon(installed):
    runner = installed.runner
    style = runner.xchg / "style.png"
    Image.effect_noise((48, 48), 60).convert("RGB").save(style)
    runtime = runner.xchg / "runtime"
    runtime.mkdir(mode=0o700)
    endpoint = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens: the plug-in must start it
    code = f"""
    proc = Gimp.get_pdb().lookup_procedure("plug-in-impasto-stylize")
    emit({{"menu": list(proc.get_menu_paths()), "label": proc.get_menu_label()}})
    data = bytes(v for y in range({H}) for x in range({W})
                 for v in (x * 7 % 256, y * 11 % 256, (x ^ y) * 5 % 256, 255))
    img, layer = new_image({W}, {H}, data, name="Photo")
    run_procedure("plug-in-impasto-stylize", image=img, drawables=[layer],
                  style_file=Gio.File.new_for_path({runner.root_path(style)!r}),
                  size=0, iterations=3)
    layers = img.get_layers()
    emit({{"layers": [l.get_name() for l in layers],
           "changed": read_pixels(layers[0]) != read_pixels(layers[1])}})
    """
    env = {"IMPASTO_ENDPOINT": endpoint, "XDG_RUNTIME_DIR": runner.root_path(runtime),
           "OMP_NUM_THREADS": "1", "IMPASTO_DEBUG": "1"}
    try:
        # GIMP's system zmq/msgpack hidden: the plug-in runs on the vendored wheels
        res = runner.run_batch(code, env=env, timeout=240, hide_python_modules=HIDDEN)
        menu, result = res.data
        assert "<Image>/Filters/Artistic" in menu["menu"], menu
        assert "Neural Style Transfer" in menu["label"]
        assert len(result["layers"]) == 2 and result["layers"][1] == "Photo", res.log
        assert result["changed"], res.log
        # the daemon the plug-in started is the configured one: the configured command line
        with Client(endpoint, timeout=5) as c:
            welcome = c.hello()
        argv = [a.decode() for a in
                Path(f"/proc/{welcome['pid']}/cmdline").read_bytes().split(b"\0") if a]
        command = launcher.daemon_command(installed.config)
        assert argv[-len(command) - 2:] == [*command, "--endpoint", endpoint], argv
        assert [(m["name"], m["random"]) for m in welcome["models"]] == [("vgg19", True)]
    finally:
        _stop(endpoint, runtime)


def _stop(endpoint: str, runtime: Path) -> None:
    """Stop the daemon the plug-in started, as its user: on TCP, stop takes the token the daemon
    wrote in its runtime folder (the one GIMP gave it)."""
    code = ("import sys, time\n"
            "from impasto_wire import Client, DaemonUnavailable\n"
            "from impasto_wire.launcher import answers\n"
            "with Client(sys.argv[1], timeout=3) as c: c.stop()\n"
            "for _ in range(60):\n"
            "    if not answers(sys.argv[1], 0.5): break\n"
            "    time.sleep(0.3)\n")
    res = subprocess.run([str(VENV / "bin" / "python"), "-c", code, endpoint],
                         env={"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(runtime),
                              "HOME": str(runtime)}, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 or "DaemonUnavailable" in res.stderr, res.stderr


def test_doctor_reports_a_profile_without_the_plugin_with_its_fix(installed, tmp_path):
    bare = tmp_path / "GIMP" / "3.0"
    (bare / "plug-ins").mkdir(parents=True)
    proc = run_doctor(installed.home, ["--profile", str(bare), "--skip", "daemon",
                                       "--skip", "device", "--skip", "weights"])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"FAIL plug-in in {bare}: not installed" in proc.stdout, proc.stdout
    assert f"fix: run ./install.sh --gimp-profile {bare}" in proc.stdout, proc.stdout


def test_doctor_reports_gimp_python_lacking_zmq_with_its_fix(installed, tmp_path):
    profile = tmp_path / "profile"
    shutil.copytree(installed.plugin, profile / "plug-ins" / PLUGIN,
                    ignore=shutil.ignore_patterns("vendor"))
    args = ["--profile", str(profile), "--gimp-python", str(installed.python),
            "--skip", "daemon", "--skip", "device", "--skip", "weights", "--json"]
    # tmp_path is outside the GIMP root: a chroot'ed Python cannot see it, so copy it inside
    if installed.runner.chroot:
        inside = installed.runner.xchg / "profile-without-vendor"
        shutil.copytree(profile, inside)
        args[1] = str(inside)
        args += ["--gimp-root", str(installed.runner.root)]
    proc = run_doctor(installed.home, args)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and not report["ok"], proc.stdout
    (check,) = [c for c in report["checks"] if c["name"].startswith("gimp python")]
    assert check["status"] == "fail" and "cannot import zmq" in check["what"], check
    assert "./install.sh" in check["fix"], check


def test_doctor_reports_an_unreachable_daemon_with_its_fix(installed):
    endpoint = f"tcp://127.0.0.1:{_free_port()}"
    proc = run_doctor(installed.home, ["--endpoint", endpoint, "--skip", "device",
                                       "--skip", "weights", "--skip", "gimp"])
    assert proc.returncode == 0, proc.stdout  # not running is fine: GIMP starts it on demand
    assert f"WARN daemon: not running (nothing answers at {endpoint})" in proc.stdout
    assert f"fix: GIMP starts it on demand when you run the filter; to start it yourself: " \
           f"{VENV / 'bin' / 'impasto-daemon'} --config {installed.config}" in proc.stdout, \
        proc.stdout


def test_uninstall_removes_what_it_added_and_nothing_else(installed):
    proc = run_install(installed.home, ["--uninstall"])
    assert proc.returncode == 0, show(proc)
    assert not installed.plugin.exists()
    for f in installed.user_files:
        assert f.is_file(), f"{f} belonged to the user and was removed"
    assert not installed.home.manifest.exists()
    assert (VENV / "bin" / "impasto-daemon").exists(), "the reused venv was not ours to remove"
    after = snapshot(installed.home.home, installed.runner.profile / "plug-ins")
    before = installed.before
    assert sorted(after.keys() - before.keys()) == [], "left behind"
    assert sorted(before.keys() - after.keys()) == [], "removed although not ours"
    changed = [k for k in before if before[k] != after[k]]
    assert changed == [], changed
    again = run_install(installed.home, ["--uninstall"])
    assert again.returncode == 0 and "nothing was installed" in again.stdout


def test_dry_run_finds_distribution_and_flatpak_profiles_and_changes_nothing(tmp_path):
    home = make_home(tmp_path)
    distro = home.home / ".config" / "GIMP" / "3.0"
    flatpak = home.home / ".var" / "app" / "org.gimp.GIMP" / "config" / "GIMP" / "3.0"
    for p in (distro, flatpak):
        p.mkdir(parents=True)
    before = snapshot(home.home)
    proc = run_install(home, ["--venv", str(VENV), "--dry-run"])
    assert proc.returncode == 0, show(proc)
    assert f"GIMP profile {distro} (distro)" in proc.stdout, proc.stdout
    assert f"GIMP profile {flatpak} (flatpak)" in proc.stdout
    assert "flatpak run --command=python3 org.gimp.GIMP" in proc.stdout
    assert snapshot(home.home) == before


def test_help_lists_the_options():
    proc = subprocess.run(["bash", str(REPO / "install.sh"), "--help"], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0
    for option in ("--uninstall", "--prefix", "--venv", "--no-service", "--no-weights",
                   "--gimp-profile", "--gimp-python", "--dry-run", "--weights"):
        assert option in proc.stdout
    bad = subprocess.run(["bash", str(REPO / "install.sh"), "--bogus"], capture_output=True,
                         text=True, timeout=30)
    assert bad.returncode != 0 and "unknown option '--bogus'" in bad.stderr
