"""The payloads of accepted, unfinished jobs are bounded in total (issue 10, item 8): the
limit is announced in hello, a request beyond it is answered busy at once, and once a job
ends its bytes are free again."""

from __future__ import annotations

import pytest
from daemon_support import SHARED_ARGS, picture, raw, wait_until_optimising

from impasto_wire import Client, DaemonError, JobCancelled, Style
from impasto_wire import protocol as P
from impasto_wire.protocol import MessageType as M

MB = 2**20


def big_job(client: Client, iterations: int = 4000, seed: int = 0) -> str:
    """A 512x512 RGBA layer (1 MiB on the wire) processed at 64 px, so it stays cheap."""
    return client.submit([raw(picture(512, 512, 4, seed))], [Style(*raw(picture(32, 32, 3)))],
                         {"iterations": iterations, "size": 64, "multiscale": False})


def test_queued_payloads_beyond_the_announced_limit_are_answered_busy(own_daemon):
    d = own_daemon(args=SHARED_ARGS + ["--max-queued-mb", "3"])
    with Client(d.endpoint) as c:
        assert c.hello()["limits"]["max_queued_bytes"] == 3 * MB
        running = big_job(c)
        wait_until_optimising(c, running)
        queued = big_job(c, seed=1)  # 2.1 MiB held in all
        with pytest.raises(DaemonError) as info:
            big_job(c, seed=2)  # would be 3.2 MiB
        assert info.value.code == P.BUSY
        assert "3.0 MiB" in info.value.message and "queued" in info.value.message
        assert c.status()["queued_bytes"] == 2 * (512 * 512 * 4 + 32 * 32 * 3)
        for job in (queued, running):
            assert c.cancel(job) is True
            with pytest.raises(JobCancelled):
                c.wait(job, timeout=15)
        assert c.status()["queued_bytes"] == 0
        assert c.wait(big_job(c, iterations=1, seed=2), timeout=60).type == M.RESULT
