"""Opt-in trace lines on stderr (``IMPASTO_DEBUG=1``): what the plug-in did, for bug reports and
for tests that must see inside a run (e.g. how many undo groups it opened)."""

from __future__ import annotations

import os
import sys


def trace(message: str) -> None:
    if os.environ.get("IMPASTO_DEBUG"):
        sys.stderr.write(f"impasto-stylize: {message}\n")
        sys.stderr.flush()  # GIMP passes plug-in output through block-buffered otherwise
