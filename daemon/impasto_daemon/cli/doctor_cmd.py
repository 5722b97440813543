"""``impasto doctor``: check the installation end to end and say how to fix what is missing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import exit_codes


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "doctor", help="check daemon, device, weights and the GIMP plug-in; say how to fix",
        description="Check that Impasto works here: the daemon answers, the device and its "
                    "memory, the daemon configuration and the VGG weights it names (loaded, hash "
                    "verified), every GIMP 3 profile has the "
                    "plug-in, and that GIMP's own Python can import zmq, msgpack and "
                    "impasto_wire. Exit status 0 when every required check passes.",
    )
    p.add_argument("--profile", action="append", type=Path, default=[], metavar="DIR",
                   help="check this GIMP profile only (repeatable; default: every one found)")
    p.add_argument("--gimp-python", metavar="CMD",
                   help="how to run GIMP's Python, e.g. 'flatpak run --command=python3 "
                        "org.gimp.GIMP' or 'chroot ROOT python3' (default: per profile)")
    p.add_argument("--gimp-root", type=Path, metavar="DIR",
                   help="GIMP runs inside this root folder (chroot): profile paths are "
                        "translated for --gimp-python")
    p.add_argument("--endpoint", help="daemon endpoint (default: $IMPASTO_ENDPOINT, or found)")
    p.add_argument("--timeout", type=float, default=2.0,
                   help="seconds to wait for the daemon's answer (default %(default)s)")
    p.add_argument("--weights", metavar="SOURCE",
                   help="weights to check: torchvision, random or a .pth file (default: what "
                        "the daemon configuration names, else torchvision)")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="the daemon configuration (default: the one install.sh wrote, else "
                        "$XDG_CONFIG_HOME/impasto/daemon.toml)")
    p.add_argument("--manifest", type=Path, metavar="FILE",
                   help="install.sh's manifest (default ~/.local/share/impasto/"
                        "install-manifest.txt)")
    p.add_argument("--skip", action="append", default=[],
                   choices=("daemon", "device", "weights", "gimp"), help="leave a check out")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=doctor_cmd)


def doctor_cmd(args: argparse.Namespace) -> int:
    from ..doctor import DoctorOptions, run_checks
    from ..doctor.report import print_checks

    opts = DoctorOptions(
        endpoint=args.endpoint, timeout=args.timeout, manifest=args.manifest,
        profiles=args.profile, gimp_python=args.gimp_python, gimp_root=args.gimp_root,
        weights=args.weights, config=args.config, skip=args.skip,
    )
    try:
        checks = run_checks(opts)
    except Exception as exc:  # noqa: BLE001 - each check is guarded; this is the last resort
        print(f"impasto doctor: could not run the checks: {type(exc).__name__}: {exc} (a bug: "
              "please report this line)", file=sys.stderr)
        return exit_codes.FAILED
    print_checks(checks, sys.stdout, as_json=args.json)
    return exit_codes.OK if all(c.ok for c in checks) else exit_codes.FAILED
