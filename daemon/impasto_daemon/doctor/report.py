"""Print checks one per line: ✔/!/✘ on a terminal, OK/WARN/FAIL otherwise (logs, pipes)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from .result import FAIL, OK, Check

_SYMBOLS = {OK: "✔", "warn": "!", FAIL: "✘"}
_WORDS = {OK: "OK  ", "warn": "WARN", FAIL: "FAIL"}


def _fancy(stream: TextIO) -> bool:
    if not stream.isatty():
        return False
    try:
        "✔✘".encode(stream.encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def format_checks(checks: Sequence[Check], fancy: bool) -> str:
    marks = _SYMBOLS if fancy else _WORDS
    lines = []
    for c in checks:
        lines.append(f"{marks[c.status]} {c.name}: {c.what}")
        if c.fix:
            fix = "\n         ".join(line.strip() for line in c.fix.strip().splitlines())
            lines.append(f"    fix: {fix}")
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    if failed:
        lines.append(f"{failed} problem(s) to fix" + (f", {warned} warning(s)" if warned else ""))
    elif warned:
        lines.append(f"everything required works ({warned} warning(s))")
    else:
        lines.append("everything works")
    return "\n".join(lines)


def print_checks(checks: Sequence[Check], stream: TextIO, as_json: bool = False) -> None:
    if as_json:
        json.dump({"ok": all(c.ok for c in checks), "checks": [c.to_dict() for c in checks]},
                  stream, indent=2)
        stream.write("\n")
    else:
        stream.write(format_checks(checks, _fancy(stream)) + "\n")
