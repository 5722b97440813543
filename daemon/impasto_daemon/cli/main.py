"""``impasto``: the command line. Each sub-command lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import exit_codes, stylize_cmd, weights_cmd


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="impasto",
        description="Impasto: neural style transfer for GIMP 3 and the command line.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    stylize_cmd.add_parser(sub)
    weights_cmd.add_parsers(sub)
    # --- daemon client commands (status, cancel, stop, keys) ---
    try:
        from . import remote_cmds
    except ImportError:  # pragma: no cover - only while the daemon client is being built
        remote_cmds = None
    if remote_cmds is not None and hasattr(remote_cmds, "add_parsers"):
        remote_cmds.add_parsers(sub)
    # --- end daemon client commands ---
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return exit_codes.USAGE
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("impasto: interrupted", file=sys.stderr)
        return exit_codes.CANCELLED


if __name__ == "__main__":
    sys.exit(main())
