"""Helpers for the install.sh tests (see conftest.py for the fixtures built on them)."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "gimp"))
import harness  # noqa: E402

INSTALL_SH = REPO / "install.sh"
VENV = Path(sys.prefix)
PLUGIN = "impasto-stylize"
HIDDEN = ("zmq", "msgpack")
WHEEL_CACHE = Path(os.environ.get("IMPASTO_WHEEL_CACHE")
                   or Path.home() / ".cache" / "impasto" / "wheels")


def venv_is_editable_checkout() -> bool:
    """install.sh reuses the venv running these tests only when it is this checkout's editable
    install (then it changes nothing in it); into any other venv it would pip-install.
    (Read from site-packages itself: the checkout's own impasto.egg-info may shadow it.)"""
    for f in VENV.glob("lib/python3*/site-packages/impasto-*.dist-info/direct_url.json"):
        try:
            direct = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if direct.get("dir_info", {}).get("editable") and direct.get("url") == REPO.as_uri():
            return True
    return False


@dataclass
class Home:
    home: Path
    runtime: Path
    env: dict[str, str]

    @property
    def manifest(self) -> Path:
        return self.home / ".local" / "share" / "impasto" / "install-manifest.txt"


def make_home(base: Path) -> Home:
    home, runtime = base / "home", base / "run"
    home.mkdir(parents=True)
    runtime.mkdir(mode=0o700)
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),  # this HOME's, not the suite's (conftest.py)
        "XDG_RUNTIME_DIR": str(runtime),
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "IMPASTO_WHEEL_CACHE": str(WHEEL_CACHE),
        "OMP_NUM_THREADS": "1",
    }
    # how this machine reaches the package registries (pip settings, proxies, certificates)
    for key, value in os.environ.items():
        if key.startswith("PIP_") or key.lower() in ("http_proxy", "https_proxy", "no_proxy") \
                or key in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
            env[key] = value
    return Home(home, runtime, env)


def install_args(runner: harness.GimpRunner, python: Path) -> list[str]:
    args = ["--venv", str(VENV), "--weights", "random", "--gimp-profile", str(runner.profile),
            "--gimp-python", str(python)]
    if runner.chroot:
        args += ["--gimp-root", str(runner.root)]
    return args


def run_install(home: Home, args: Sequence[str], timeout: float = 600,
                script: Path = INSTALL_SH) -> subprocess.CompletedProcess:
    """./install.sh for real, in ``home``'s environment (its wall time goes to stderr)."""
    t0 = time.monotonic()
    proc = subprocess.run(["bash", str(script), *args], env=home.env, capture_output=True,
                          text=True, timeout=timeout, cwd=str(home.home))
    proc.seconds = time.monotonic() - t0  # type: ignore[attr-defined]
    sys.stderr.write(f"install.sh {' '.join(args[:1])}… took {proc.seconds:.1f} s\n")
    return proc


def run_doctor(home: Home, args: Sequence[str], timeout: float = 180
               ) -> subprocess.CompletedProcess:
    """``impasto doctor`` of the venv under test, in ``home``'s environment."""
    return subprocess.run([str(VENV / "bin" / "impasto"), "doctor", *args], env=home.env,
                          capture_output=True, text=True, timeout=timeout, cwd=str(home.home))


def snapshot(*roots: Path, skip: Sequence[Path] = ()) -> dict[str, tuple]:
    """Every path under ``roots``: type, mode, size, mtime and content hash (not __pycache__,
    which GIMP's Python writes whenever it imports the plug-in, and not ``skip``)."""
    out: dict[str, tuple] = {}
    skipped = [s.resolve() for s in skip]
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            d = Path(dirpath)
            dirnames[:] = sorted(n for n in dirnames
                                 if n != "__pycache__" and (d / n).resolve() not in skipped)
            for name in [*dirnames, *sorted(filenames)]:
                p = d / name
                st = p.lstat()
                digest = ""
                if stat.S_ISREG(st.st_mode):
                    digest = hashlib.sha256(p.read_bytes()).hexdigest()
                mtime = st.st_mtime_ns if not stat.S_ISDIR(st.st_mode) else 0
                out[str(p)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_size,
                               mtime, digest)
    return out


def stub_command(folder: Path, name: str, body: str) -> Path:
    """A stand-in for a system command (systemctl, flatpak) that logs its arguments to
    ``folder/NAME.log`` and then runs ``body`` (sh)."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "$*" >>{shlex.quote(str(log))}\n{body}\n')
    path.chmod(0o755)
    return log
