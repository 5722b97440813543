"""A clock that stands still until a test moves it, for the code that takes an injected clock
(the client, the router, the engine's pace): its promises about time are proven by moving this,
never by measuring real seconds."""

from __future__ import annotations


class FakeClock:
    """Call it for the time; set or add to ``now`` to move it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
