"""``impasto doctor``'s checks one by one, without GIMP or install.sh: each failure names what is
wrong and how to fix it, and the report reads well on a terminal, in a log and as JSON."""

from __future__ import annotations

import io
import json
import re
import shutil
import stat
import sys
from pathlib import Path

import pytest

from impasto_daemon.cli.main import main
from impasto_daemon.doctor import gimp
from impasto_daemon.doctor.install_state import read_manifest
from impasto_daemon.doctor.report import format_checks, print_checks
from impasto_daemon.doctor.result import fail, ok, warn
from impasto_daemon.doctor.weights_check import check_weights
from impasto_daemon.weights import weights_url
from impasto_wire import daemon_config

REPO = Path(__file__).resolve().parents[2]


def installed_copy(profile: Path) -> Path:
    """What install.sh puts in a profile, made by hand."""
    d = profile / "plug-ins" / "impasto-stylize"
    shutil.copytree(REPO / "gimp_plugin" / "impasto-stylize", d,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "shared" / "impasto_wire", d / "impasto_wire",
                    ignore=shutil.ignore_patterns("__pycache__", ".*", "*.md", "*.toml"))
    (d / "impasto-stylize.py").chmod(0o755)
    write_config(profile / "daemon.toml", "/bin/true")
    (d / "daemon-config").write_text(f"{profile / 'daemon.toml'}\n")
    return d


def write_config(path: Path, program: str) -> None:
    path.write_text(daemon_config.render(daemon_config.ConfigFile(
        program=program, models=["vgg16"], weights={"vgg16": "random"})))


def test_plugin_check_passes_on_a_good_copy_and_names_each_problem(tmp_path):
    p = gimp.Profile(tmp_path, "given", ("python3",))
    missing = gimp.check_plugin(p)
    assert missing.status == "fail" and "not installed" in missing.what
    assert missing.fix == f"run ./install.sh --gimp-profile {tmp_path}"

    d = installed_copy(tmp_path)
    good = gimp.check_plugin(p)
    assert good.status == "ok", good
    assert f"starts /bin/true --config {tmp_path / 'daemon.toml'}" in good.what

    script = d / "impasto-stylize.py"
    script.chmod(script.stat().st_mode & ~(stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    proto = d / "impasto_wire" / "protocol.py"
    proto.write_text(proto.read_text().replace("PROTOCOL_VERSION = ", "PROTOCOL_VERSION = 9", 1))
    write_config(tmp_path / "daemon.toml", "/nonexistent/impasto-daemon")
    bad = gimp.check_plugin(p)
    assert bad.status == "fail"
    assert "not executable" in bad.what and "speaks protocol 9" in bad.what
    assert "/nonexistent/impasto-daemon" in bad.what


def test_profiles_are_found_where_gimp_keeps_them(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("GIMP3_DIRECTORY", raising=False)
    distro = tmp_path / ".config" / "GIMP" / "3.0"
    flatpak = tmp_path / ".var" / "app" / "org.gimp.GIMP" / "config" / "GIMP" / "3.0"
    old = tmp_path / ".config" / "GIMP" / "2.10"
    for d in (distro, flatpak, old):
        d.mkdir(parents=True)
    found = {p.path: p for p in gimp.find_profiles()}
    assert set(found) == {distro, flatpak}
    assert found[distro].kind == "distro" and found[flatpak].kind == "flatpak"
    assert found[flatpak].python == gimp.FLATPAK_PYTHON
    none = gimp.check_profiles_found([], ["distribution GIMP (/usr/bin/gimp-3.0)"])
    assert none.status == "fail" and "never started" in none.what
    assert "start GIMP 3 once" in none.fix


def test_manifest_profile_lines_carry_gimp_python_and_root(tmp_path):
    m = tmp_path / "install-manifest.txt"
    m.write_text("# header\n"
                 "profile\t/p/GIMP/3.0\tchroot /root 'python3' -S\t/root\n"
                 "setting\tweights\trandom\n"
                 "tree\t/p/GIMP/3.0/plug-ins/impasto-stylize\n")
    man = read_manifest(m)
    (rec,) = man.profiles
    assert rec.python == ("chroot", "/root", "python3", "-S") and rec.root == Path("/root")
    assert man.settings == {"weights": "random"}
    assert man.paths("tree") == ["/p/GIMP/3.0/plug-ins/impasto-stylize"]
    assert not read_manifest(tmp_path / "absent").exists


def test_missing_weights_fail_with_the_url_and_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    c = check_weights("vgg19", "torchvision")
    assert c.status == "fail"
    assert weights_url("vgg19") in c.fix and str(tmp_path / "hub" / "checkpoints") in c.fix
    assert check_weights("vgg16", "torchvision", required=False).status == "warn"
    r = check_weights("vgg19", "random")
    assert r.status == "warn" and "RANDOM" in r.what


def test_report_plain_and_json():
    checks = [ok("daemon", "reachable"), warn("device", "cpu", "get a GPU"),
              fail("weights vgg19", "missing", "Download X\n  and save it as Y")]
    text = format_checks(checks, fancy=False)
    assert text.splitlines() == [
        "OK   daemon: reachable",
        "WARN device: cpu",
        "    fix: get a GPU",
        "FAIL weights vgg19: missing",
        "    fix: Download X",
        "         and save it as Y",
        "1 problem(s) to fix, 1 warning(s)",
    ]
    assert format_checks(checks, fancy=True).startswith("✔ daemon: reachable\n! device")
    out = io.StringIO()
    print_checks(checks, out, as_json=True)
    data = json.loads(out.getvalue())
    assert data["ok"] is False and [c["status"] for c in data["checks"]] == ["ok", "warn", "fail"]


@pytest.mark.parametrize("python, code", [(sys.executable, 0), ("true", 1)])
def test_exit_status_follows_the_required_checks(tmp_path, capsys, python, code):
    """A Python with zmq and msgpack passes; one that prints nothing is reported, with how to
    tell doctor the right one."""
    installed_copy(tmp_path)
    rc = main(["doctor", "--profile", str(tmp_path), "--gimp-python", python,
               "--skip", "daemon", "--skip", "device", "--skip", "weights"])
    out = capsys.readouterr().out
    assert rc == code, out
    if code:
        assert "FAIL gimp python" in out and "--gimp-python" in out
    else:
        assert f"OK   gimp python for {tmp_path}: Python 3." in out, out
        assert re.search(r"msgpack \d+\.\d+", out), out  # msgpack has no __version__


def test_doctor_loads_what_the_configuration_names(tmp_path, capsys, monkeypatch):
    """The weights checks follow the configuration: a model it names whose file is missing
    fails (the daemon would exit 4), and the configuration line shows the command line."""
    monkeypatch.delenv("IMPASTO_DAEMON", raising=False)
    cfg = tmp_path / "daemon.toml"
    cfg.write_text(daemon_config.render(daemon_config.ConfigFile(
        program=sys.executable, models=["vgg16", "vgg19"],
        weights={"vgg16": "random", "vgg19": str(tmp_path / "gone.pth")})))
    rc = main(["doctor", "--config", str(cfg), "--skip", "daemon", "--skip", "device",
               "--skip", "gimp"])
    out = capsys.readouterr().out
    assert rc == 1, out
    assert f"OK   configuration: {cfg}: models vgg16 (random), vgg19 ({tmp_path}" in out, out
    assert f"--config {cfg}" in out
    assert "WARN weights vgg16" in out, out  # random: a demo, said so
    assert f"FAIL weights vgg19: weights file not found: {tmp_path / 'gone.pth'}" in out, out
    cfg.write_text('[daemon]\nmodels = ["vgg11"]\n')
    assert main(["doctor", "--config", str(cfg), "--skip", "daemon", "--skip", "device",
                 "--skip", "gimp", "--skip", "weights"]) == 1
    assert "FAIL configuration" in capsys.readouterr().out


def test_a_profile_outside_gimps_root_is_checked_not_crashed(tmp_path, capsys):
    """`./install.sh --gimp-profile P --gimp-root R` with P not under R: the doctor used to die
    with a ValueError from seen_by_gimp. The path is passed on as it is (GIMP sees it where it
    is mounted at the same place, as a HOME often is) and the import check decides."""
    profile, root = tmp_path / "home" / "profile", tmp_path / "gimp-root"
    root.mkdir()
    installed_copy(profile)
    manifest = tmp_path / "install-manifest.txt"
    manifest.write_text(f"profile\t{profile}\t{sys.executable}\t{root}\n")
    skip = ["--skip", "daemon", "--skip", "device", "--skip", "weights"]
    rc = main(["doctor", "--manifest", str(manifest), "--config", str(profile / "daemon.toml"),
               *skip])
    out = capsys.readouterr().out
    assert f"OK   gimp python for {profile}: Python 3." in out, out
    assert rc == 0, out
    assert gimp.Profile(profile, "given", ("true",), root).seen_by_gimp(profile) == str(profile)
    assert gimp.Profile(root / "p", "given", ("true",), root).seen_by_gimp(root / "p") == "/p"

    manifest.write_text(f"profile\t{profile}\ttrue\t{root}\n")  # a GIMP that cannot see it
    assert main(["doctor", "--manifest", str(manifest), *skip]) == 1
    out = capsys.readouterr().out
    assert f"FAIL gimp python for {profile}: true failed" in out, out
    assert f"is outside GIMP's root {root}" in out, out


def test_a_check_that_raises_becomes_one_line_naming_it(tmp_path, capsys, monkeypatch):
    """A doctor never crashes: a check's unexpected error is one FAIL line with the check's
    name, and the other checks still run and report."""
    from impasto_daemon.doctor import device_check

    installed_copy(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(gimp, "check_plugin", broken)
    monkeypatch.setattr(device_check, "check_device", broken)
    rc = main(["doctor", "--profile", str(tmp_path), "--gimp-python", sys.executable,
               "--config", str(tmp_path / "daemon.toml"), "--skip", "daemon",
               "--skip", "weights"])
    out = capsys.readouterr().out
    assert rc == 1, out
    lines = out.splitlines()
    assert f"FAIL plug-in in {tmp_path}: the check itself failed: RuntimeError: injected " \
           "failure" in lines, out
    assert "FAIL device: the check itself failed: RuntimeError: injected failure" in lines, out
    assert f"OK   gimp python for {tmp_path}: Python 3." in out, "the next check still ran"
    assert "OK   configuration" in out and "Traceback" not in out
