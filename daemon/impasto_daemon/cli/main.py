"""``impasto``: the command line. Each sub-command lives in its own module."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from impasto_wire.curve import CurveKeyError
from impasto_wire.endpoints import EndpointError

from . import doctor_cmd, exit_codes, remote_cmds, stylize_cmd, weights_cmd


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="impasto",
        description="Impasto: neural style transfer for GIMP 3 and the command line.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    stylize_cmd.add_parser(sub)
    remote_cmds.add_parsers(sub)  # status, cancel, stop, keys: talk to the daemon
    weights_cmd.add_parsers(sub)  # import-onnx, fetch-weights, check-weights
    doctor_cmd.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return exit_codes.USAGE
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # here, not at exit, so a closed pipe is caught below
        return code
    except KeyboardInterrupt:
        print("impasto: interrupted", file=sys.stderr)
        return exit_codes.CANCELLED
    except (EndpointError, CurveKeyError) as exc:
        # the setup is unsafe or incomplete (a planted runtime folder, a key file others can
        # read): one line that says what to do, before anything was sent anywhere
        print(f"impasto: {exc}", file=sys.stderr)
        return exit_codes.USAGE
    except BrokenPipeError:
        # `impasto status | head`: the reader has gone; leave quietly, as `cat` would
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exit_codes.BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
