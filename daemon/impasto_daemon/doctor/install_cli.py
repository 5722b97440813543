"""What install.sh asks Python, so that each rule lives once, on the Python side.

    python -m impasto_daemon.doctor.install_cli profiles [--given DIR]… [--gimp-python CMD]
                                                [--gimp-root DIR] [--no-detect]
        one "profile<TAB>DIR<TAB>PYCMD<TAB>ROOT<TAB>KIND" line per GIMP 3 profile (the
        doctor's discovery, ``gimp.find_profiles``), and "todo<TAB>TEXT" for a GIMP 3 that
        was never started
    python -m impasto_daemon.doctor.install_cli config --program P --models M [--weights M=S]…
                                                [--base FILE]
        the daemon configuration file (``impasto_wire.daemon_config.render``) on stdout
    python -m impasto_daemon.doctor.install_cli command [--config FILE]
        the daemon's command line, shell-quoted (``impasto_wire.launcher.daemon_command``):
        the systemd unit's ExecStart and every hint
    python -m impasto_daemon.doctor.install_cli clean-runtime
        once no daemon answers, remove what daemons leave in the runtime folder (log, socket
        lock, a stale announce file) and the folder itself when empty (for --uninstall)

Nothing here imports torch: install.sh may run it with the sources of the checkout.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path


def _profiles(args: argparse.Namespace) -> int:
    from . import gimp

    python = tuple(shlex.split(args.gimp_python)) if args.gimp_python else None
    root = Path(args.gimp_root) if args.gimp_root else Path("/")
    rows: dict[Path, gimp.Profile] = {}
    for given in args.given:
        p = Path(given).absolute()
        rows.setdefault(p, gimp.Profile(p, "given", python or gimp.python_for(p), root))
    detected = gimp.find_profiles(None) if args.detect else []
    for p in detected:
        rows.setdefault(p.path.absolute(), p)
    for p in rows.values():
        print("\t".join(("profile", str(p.path), shlex.join(p.python), str(p.root), p.kind)))
    if args.detect:
        kinds = {p.kind for p in detected}
        for install in gimp.gimp3_installations():
            flatpak = install.startswith("Flatpak")
            if flatpak and "flatpak" not in kinds:
                print("todo\tthe Flatpak GIMP was never started: start it once, quit, and run "
                      "./install.sh again")
            elif not flatpak and "distro" not in kinds:
                print(f"todo\tGIMP 3 is installed but was never started: start it once, quit, "
                      f"and run ./install.sh again (or pass --gimp-profile "
                      f"{gimp.config_home() / 'GIMP' / '3.0'})")
    return 0


def _config(args: argparse.Namespace) -> int:
    from impasto_wire import daemon_config as D

    try:
        base = D.load(args.base) if args.base is not None else None
        cfg = D.ConfigFile(program=args.program, models=args.models.split(","))
        if base is not None:  # what a person edits by hand survives a re-install
            cfg.device, cfg.endpoint = base.device, base.endpoint
            cfg.memory_budget_mb = base.memory_budget_mb
        for spec in args.weights:
            model, _, source = spec.partition("=")
            cfg.weights[model] = source
        text = D.render(cfg)
        D.parse(text)  # what is written must read back
    except D.ConfigError as exc:
        print(f"impasto: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def _command(args: argparse.Namespace) -> int:
    from impasto_wire import DaemonUnavailable, launcher

    try:
        print(shlex.join(launcher.daemon_command(args.config)))
    except DaemonUnavailable as exc:
        print(f"impasto: {exc}", file=sys.stderr)
        return 1
    return 0


def _clean_runtime(args: argparse.Namespace) -> int:
    import time

    from impasto_wire.endpoints import (
        ANNOUNCE_FILE,
        LOG_FILE,
        SOCKET_NAME,
        EndpointError,
        discover_endpoint,
        runtime_dir,
    )
    from impasto_wire.launcher import answers

    try:
        folder = runtime_dir(create=False)
        endpoint = discover_endpoint()
    except (EndpointError, OSError):
        return 0
    if not folder.is_dir():
        return 0
    deadline = time.monotonic() + args.wait
    while answers(endpoint, timeout=0.5):
        if time.monotonic() > deadline:
            print(f"    kept {folder}: a daemon still answers at {endpoint}")
            return 0
        time.sleep(0.3)
    for name in (LOG_FILE, LOG_FILE + ".1", SOCKET_NAME + ".lock", SOCKET_NAME, ANNOUNCE_FILE):
        f = folder / name
        if f.is_file() or f.is_socket():
            f.unlink()
            print(f"    removed {f}")
    try:
        folder.rmdir()
        print(f"    removed {folder}")
    except OSError:
        pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m impasto_daemon.doctor.install_cli")
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("profiles")
    s.add_argument("--given", action="append", default=[])
    s.add_argument("--gimp-python")
    s.add_argument("--gimp-root")
    s.add_argument("--no-detect", dest="detect", action="store_false")
    s.set_defaults(func=_profiles)
    s = sub.add_parser("config")
    s.add_argument("--base", type=Path)
    s.add_argument("--program", required=True)
    s.add_argument("--models", required=True)
    s.add_argument("--weights", action="append", default=[], metavar="MODEL=SOURCE")
    s.set_defaults(func=_config)
    s = sub.add_parser("command")
    s.add_argument("--config", type=Path)
    s.set_defaults(func=_command)
    s = sub.add_parser("clean-runtime")
    s.add_argument("--wait", type=float, default=15.0)
    s.set_defaults(func=_clean_runtime)
    args = p.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
