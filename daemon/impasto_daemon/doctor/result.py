"""What one doctor check found: a status, what was seen, and how to fix it when it is not OK."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

OK = "ok"
WARN = "warn"  # works, but not the way it should (e.g. CPU only, random weights): exit 0
FAIL = "fail"  # a required piece is missing or broken: exit 1


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report.

    ``name`` is stable (tests and scripts match on it), ``what`` says what was seen, ``fix`` says
    what to do and is empty when the status is OK.
    """

    name: str
    status: str
    what: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status != FAIL

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ok(name: str, what: str) -> Check:
    return Check(name, OK, what)


def warn(name: str, what: str, fix: str) -> Check:
    return Check(name, WARN, what, fix)


def fail(name: str, what: str, fix: str) -> Check:
    return Check(name, FAIL, what, fix)
