"""Which clients are still there: when each was last heard from, and which proved unreachable.

Socket thread only. A client pings every second while it has jobs, so one silent for longer
than ``timeout`` (or one a send could not reach) will not hear its results: the router cancels
its jobs. Nothing here knows about jobs; the JobTable owns those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

#: beyond this many remembered clients, those idle for ten timeouts that own no job are forgotten
MAX_REMEMBERED = 1024


class ClientLiveness:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._last_seen: dict[bytes, float] = {}
        self._unreachable: set[bytes] = set()

    def heard(self, identity: bytes, now: float) -> None:
        self._last_seen[identity] = now

    def unreachable(self, identity: bytes) -> None:
        """A send to ``identity`` failed: its connection is gone."""
        self._unreachable.add(identity)

    def take_unreachable(self) -> list[bytes]:
        """The clients found unreachable since the last call."""
        gone, self._unreachable = list(self._unreachable), set()
        return gone

    def silence(self, identity: bytes, since: float, now: float) -> float | None:
        """Seconds ``identity`` has been silent when that is longer than ``timeout``, else None;
        a client never heard from counts from ``since`` (its job's submission)."""
        quiet = now - self._last_seen.get(identity, since)
        return quiet if quiet > self.timeout else None

    def forget(self, identity: bytes) -> None:
        self._last_seen.pop(identity, None)

    def alive(self, now: float) -> int:
        """How many clients were heard from within ``timeout``."""
        return sum(now - t < self.timeout for t in self._last_seen.values())

    def prune(self, owners: Callable[[], Iterable[bytes]], now: float) -> None:
        """Forget long-gone clients that own nothing (``owners()``: those that own a job), once
        many are remembered."""
        if len(self._last_seen) <= MAX_REMEMBERED:
            return
        keep = set(owners())
        for identity, t in list(self._last_seen.items()):
            if identity not in keep and now - t > 10 * self.timeout:
                del self._last_seen[identity]
