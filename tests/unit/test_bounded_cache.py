"""The one byte-bounded LRU the daemon's three caches share."""

from __future__ import annotations

import numpy as np

from impasto_daemon.bounded_cache import BoundedCache
from impasto_daemon.engine.target_cache import TargetCache
from impasto_daemon.server.job_table import JobTable
from impasto_daemon.server.style_decode import DecodedStyles
from impasto_wire import protocol as P


def test_least_recently_used_entries_go_first_when_bytes_or_count_run_out():
    evicted = []
    c = BoundedCache(10, len, max_items=3, on_evict=lambda k, v: evicted.append(k))
    for k in "abc":
        c.put(k, "xx")
    assert c.get("a") == "xx"  # a is now the most recent
    c.put("d", "xx")  # count: b goes
    assert evicted == ["b"] and "a" in c and len(c) == 3
    c.put("e", "xxxxxx")  # count again: c goes, leaving a, d, e = 10 bytes
    assert evicted == ["b", "c"] and c.nbytes == 10
    c.put("f", "x")  # bytes: 11 > 10, the oldest (a) goes
    assert evicted == ["b", "c", "a"] and c.nbytes == 9
    assert c.put("huge", "x" * 11) is False and "huge" not in c  # never flushes the rest
    assert (c.hits, c.misses) == (1, 0) and c.get("b") is None and c.misses == 1


def test_the_three_caches_are_that_one_type():
    assert isinstance(TargetCache(10), BoundedCache)
    assert isinstance(DecodedStyles().cache, BoundedCache)
    assert isinstance(JobTable(P.Limits())._outcomes, BoundedCache)
    styles = DecodedStyles(max_bytes=10)
    assert styles.cache.put("k", np.zeros(11, np.uint8)) is False
