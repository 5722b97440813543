"""GIMP 3 profiles: where they are, whether the plug-in is installed in each, and whether that
GIMP's own Python can import what the plug-in needs (zmq, msgpack, impasto_wire).

The same discovery rules as install.sh: ``$GIMP3_DIRECTORY``; the distribution GIMP's
``$XDG_CONFIG_HOME/GIMP/3.*``; the Flatpak's ``~/.var/app/org.gimp.GIMP/config/GIMP/3.*``; plus
every profile the manifest says install.sh installed into (e.g. one given with --gimp-profile).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import result as R
from .install_state import (
    CONFIG_NAME,
    FLATPAK_APP,
    PLUGIN_NAME,
    VENDOR_DIR,
    WIRE_PACKAGE,
    Manifest,
    config_home,
    read_config_pointer,
)

FLATPAK_PYTHON = ("flatpak", "run", "--command=python3", FLATPAK_APP)
_PROFILE_GLOB = "3.*"  # GIMP 3.0 uses .../GIMP/3.0; later 3.x minor versions get their own folder


@dataclass(frozen=True)
class Profile:
    """A GIMP 3 profile folder and how to run the Python that this GIMP gives its plug-ins."""

    path: Path
    kind: str  # "distro", "flatpak" or "given"
    python: tuple[str, ...]
    root: Path = Path("/")  # GIMP sees paths relative to this root (a chroot in tests)

    @property
    def plugin_dir(self) -> Path:
        return self.path / "plug-ins" / PLUGIN_NAME

    def seen_by_gimp(self, path: Path) -> str:
        """The path GIMP (inside ``root``) uses for a host path. A path outside the root is
        visible to that GIMP only where it is mounted at the same place (as a HOME often is),
        so it is passed on unchanged: the import check then says whether GIMP sees it."""
        if self.root == Path("/"):
            return str(path)
        resolved, root = path.resolve(), self.root.resolve()
        if not resolved.is_relative_to(root):
            return str(path)
        return "/" + str(resolved.relative_to(root))

    def outside_root(self, path: Path) -> bool:
        return self.root != Path("/") and not path.resolve().is_relative_to(self.root.resolve())


def flatpak_profile_base() -> Path:
    return Path.home() / ".var" / "app" / FLATPAK_APP / "config" / "GIMP"


def system_python() -> tuple[str, ...]:
    """Distribution GIMPs run ``#!/usr/bin/env python3`` plug-ins with the system Python."""
    return ("/usr/bin/python3",) if Path("/usr/bin/python3").exists() else ("python3",)


def _is_flatpak_profile(path: Path) -> bool:
    return f"/.var/app/{FLATPAK_APP}/" in str(path.resolve()) + "/"


def python_for(path: Path) -> tuple[str, ...]:
    return FLATPAK_PYTHON if _is_flatpak_profile(path) else system_python()


def kind_of(path: Path) -> str:
    if _is_flatpak_profile(path):
        return "flatpak"
    if path.resolve().parent == (config_home() / "GIMP").resolve():
        return "distro"
    return "given"


def find_profiles(manifest: Manifest | None = None) -> list[Profile]:
    """Every GIMP 3 profile on this machine that exists, plus those install.sh recorded."""
    found: dict[Path, Profile] = {}

    def add(p: Profile) -> None:
        found.setdefault(p.path.resolve(), p)

    if manifest is not None:
        for rec in manifest.profiles:
            if rec.path.is_dir():
                add(Profile(rec.path, kind_of(rec.path), rec.python or python_for(rec.path),
                            rec.root))
    env = os.environ.get("GIMP3_DIRECTORY")
    if env and Path(env).is_dir():
        add(Profile(Path(env), kind_of(Path(env)), python_for(Path(env))))
    for base, kind in ((config_home() / "GIMP", "distro"), (flatpak_profile_base(), "flatpak")):
        if base.is_dir():
            for p in sorted(base.glob(_PROFILE_GLOB)):
                if p.is_dir():
                    add(Profile(p, kind, FLATPAK_PYTHON if kind == "flatpak" else system_python()))
    return list(found.values())


def gimp3_installations() -> list[str]:
    """GIMP 3 programs installed here (whether or not they were ever started)."""
    seen = []
    for exe in ("gimp-3.0", "gimp-console-3.0", "gimp-3"):
        path = shutil.which(exe)
        if path:
            seen.append(f"distribution GIMP ({path})")
            break
    if shutil.which("flatpak"):
        try:
            out = subprocess.run(["flatpak", "info", FLATPAK_APP], capture_output=True,
                                 text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            out = None
        if out is not None and out.returncode == 0:
            m = re.search(r"Version:\s*(\S+)", out.stdout)
            if m is None or m.group(1).startswith("3"):
                seen.append(f"Flatpak {FLATPAK_APP} {m.group(1) if m else ''}".strip())
    return seen


def check_profiles_found(profiles: Sequence[Profile], installs: Sequence[str]) -> R.Check:
    if profiles:
        return R.ok("gimp profiles", ", ".join(f"{p.path} ({p.kind})" for p in profiles))
    if installs:
        return R.fail(
            "gimp profiles",
            f"{' and '.join(installs)} found, but no GIMP 3 profile: GIMP was never started",
            "start GIMP 3 once and quit it (it creates its profile and migrates older settings),"
            " then run ./install.sh again; or ./install.sh --gimp-profile DIR to create one",
        )
    return R.warn(
        "gimp profiles", "no GIMP 3 found (the command line works without it)",
        "install GIMP 3 (distribution package or Flatpak org.gimp.GIMP), start it once, then "
        "run ./install.sh again",
    )


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _protocol_version(wire_dir: Path) -> int | None:
    """PROTOCOL_VERSION of a copy of impasto_wire, read without importing it (GIMP's copy may
    need a zmq this Python lacks, and importing two copies would clash)."""
    try:
        text = (wire_dir / "protocol.py").read_text(encoding="utf-8")
    except OSError:
        return None
    m = re.search(r"^PROTOCOL_VERSION\s*=\s*(\d+)", text, re.M)
    return int(m.group(1)) if m else None


def installed_version() -> str:
    try:
        from importlib.metadata import version

        return version("impasto")
    except Exception:
        return "0+unknown"


def check_plugin(profile: Profile) -> R.Check:
    """Script present, executable, with a shebang; impasto_wire beside it matching this
    installation's; the daemon config present and pointing at an existing program."""
    import impasto_wire
    from impasto_wire.protocol import PROTOCOL_VERSION

    name = f"plug-in in {profile.path}"
    reinstall = "run ./install.sh again" if profile.kind != "given" else (
        f"run ./install.sh --gimp-profile {profile.path}")
    d = profile.plugin_dir
    script = d / f"{PLUGIN_NAME}.py"
    if not script.is_file():
        return R.fail(name, f"not installed ({script} missing)", reinstall)
    problems = []
    if not os.access(script, os.X_OK):
        problems.append(f"{script.name} is not executable (GIMP ignores it silently)")
    try:
        with script.open("rb") as f:
            first = f.readline()
    except OSError:
        first = b""
    if not first.startswith(b"#!") or b"python3" not in first:
        problems.append(f"{script.name} lacks '#!/usr/bin/env python3' as its first line")
    wire = d / WIRE_PACKAGE
    ours = Path(impasto_wire.__file__).parent
    if not (wire / "__init__.py").is_file():
        problems.append(f"{WIRE_PACKAGE} is missing beside the script")
    else:
        theirs = _protocol_version(wire)
        if theirs != PROTOCOL_VERSION:
            problems.append(f"its {WIRE_PACKAGE} speaks protocol {theirs}, the daemon "
                            f"{PROTOCOL_VERSION}")
        elif _digest(wire) != _digest(ours):
            problems.append(f"its {WIRE_PACKAGE} differs from the daemon's ({ours})")
    cmd: list[str] | None = None
    pointer = read_config_pointer(d)
    if pointer is None and profile.kind != "flatpak":
        problems.append(f"{CONFIG_NAME} is missing beside the script (the plug-in cannot start "
                        "the daemon unless impasto-daemon is on GIMP's PATH)")
    elif pointer is not None:
        from impasto_wire import DaemonUnavailable, launcher

        try:
            cmd = launcher.daemon_command(pointer)
        except DaemonUnavailable as exc:
            problems.append(f"{CONFIG_NAME} names {pointer}: {exc}")
        else:
            if not pointer.is_file():
                problems.append(f"{CONFIG_NAME} names {pointer}, which does not exist")
            elif not (Path(cmd[0]).is_file() and os.access(cmd[0], os.X_OK)):
                problems.append(f"the daemon configuration {pointer} names {cmd[0]}, which is "
                                "not an executable program")
    if problems:
        return R.fail(name, "; ".join(problems), reinstall)
    starts = f"starts {shlex.join(cmd)}" if cmd else "the daemon is started outside GIMP"
    return R.ok(name, f"{PLUGIN_NAME} (impasto {installed_version()}), protocol "
                      f"{PROTOCOL_VERSION}, {WIRE_PACKAGE} matches the daemon's; {starts}")


_DEPS_CODE = r"""
import json, sys
sys.path[:0] = [p for p in sys.argv[1:] if p]
out = {"python": sys.version.split()[0], "executable": sys.executable}
for name in ("zmq", "msgpack", "impasto_wire"):
    try:
        mod = __import__(name)
        version = getattr(mod, "__version__", "") or ".".join(
            str(x) for x in getattr(mod, "version", ()))  # msgpack has only a version tuple
        out[name] = {"ok": True, "version": str(version or "?"),
                     "file": str(getattr(mod, "__file__", ""))}
    except Exception as exc:
        out[name] = {"ok": False, "error": type(exc).__name__ + ": " + str(exc)}
print(json.dumps(out))
"""


def check_gimp_python(profile: Profile, timeout: float = 60.0) -> R.Check:
    """Run this GIMP's Python with the plug-in folder (and its vendor/) first on sys.path, as
    the plug-in itself arranges, and import zmq, msgpack and impasto_wire."""
    d = profile.plugin_dir
    paths = [profile.seen_by_gimp(d)]
    if (d / VENDOR_DIR).is_dir():
        paths.insert(0, profile.seen_by_gimp(d / VENDOR_DIR))
    cmd = [*profile.python, "-c", _DEPS_CODE, *paths]
    shown = " ".join(profile.python)
    result = _gimp_python_imports(profile, cmd, shown, timeout)
    if result.status != R.OK and profile.outside_root(d):
        return R.fail(result.name, f"{result.what} (the plug-in folder {d} is outside GIMP's "
                      f"root {profile.root}: GIMP sees it only if it is mounted there at the "
                      "same path)", result.fix)
    return result


def _gimp_python_imports(profile: Profile, cmd: list[str], shown: str,
                         timeout: float) -> R.Check:
    name = f"gimp python for {profile.path}"
    d = profile.plugin_dir
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return R.fail(name, f"cannot run GIMP's Python ({shown}): {exc}",
                      "check how GIMP runs Python plug-ins; pass --gimp-python CMD")
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return R.fail(name, f"{shown} failed (exit {proc.returncode}): {' | '.join(tail)}",
                      "check how GIMP runs Python plug-ins; pass --gimp-python CMD")
    missing = [m for m in ("zmq", "msgpack") if not data[m]["ok"]]
    if missing:
        fix = ("run ./install.sh again (it puts matching wheels in "
               f"{d / VENDOR_DIR})")
        if profile.kind == "distro":
            fix += f", or: sudo apt-get install {' '.join('python3-' + m for m in missing)}"
        errors = "; ".join(f"{m}: {data[m]['error']}" for m in missing)
        return R.fail(name, f"Python {data['python']} cannot import {errors}", fix)
    if not data["impasto_wire"]["ok"]:
        return R.fail(name, f"Python {data['python']} cannot import impasto_wire: "
                      f"{data['impasto_wire']['error']}", "run ./install.sh again")
    where = "vendored" if f"/{VENDOR_DIR}/" in data["zmq"]["file"] else "system"
    return R.ok(name, f"Python {data['python']}: zmq {data['zmq']['version']} ({where}), "
                      f"msgpack {data['msgpack']['version']}, impasto_wire")
