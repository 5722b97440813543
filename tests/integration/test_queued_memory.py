"""A burst of large requests cannot swell the daemon past its queued-bytes limit (issue 19,
item 10): requests used to wait in ZeroMQ's unbounded receive queue and were hashed before the
busy check (60 x 46 MiB raised the RSS by 1.6 GiB with a 100 MiB cap). Now each connection's
receive queue holds a few messages (RCVHWM, so ZeroMQ stops reading from a sender that is ahead)
and a new request is refused busy from its announced size before anything else is done with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from daemon_support import SHARED_ARGS, long_job, wait_until_optimising

from impasto_wire import Client

MB = 2**20
W, H = 3584, 3392  # one 46 MiB RGBA layer per request (as in the issue)
BURST = 60

# a second process: BURST large stylize requests as fast as ZeroMQ takes them, then the answers
BURSTER = r"""
import json, sys, zmq, msgpack
n, w, h = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.connect(sys.argv[1])
content, style = bytes(w * h * 4), bytes(32 * 32 * 3)
for i in range(n):
    header = {"v": 2, "type": "stylize", "id": f"burst-{i}",
              "contents": [{"width": w, "height": h, "channels": 4}],
              "styles": [{"width": 32, "height": 32, "channels": 3}],
              "settings": {"iterations": 1, "size": 64, "multiscale": False}}
    s.send_multipart([msgpack.packb(header), content, style], copy=False)
answers = {}
while len(answers) < n and s.poll(120_000):
    h = msgpack.unpackb(s.recv_multipart()[0], raw=False)
    if h["id"].startswith("burst-"):
        answers[h["id"]] = h.get("code") or h["type"]
print(json.dumps(answers), flush=True)
"""


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc")


def reset_peak_rss(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # peak RSS := current RSS


def test_a_burst_of_large_requests_is_refused_without_queueing_their_bytes(own_daemon):
    args = SHARED_ARGS + ["--max-message-mb", "48", "--max-pixels", str(W * H),
                          "--max-queued-mb", "4", "--client-timeout", "300"]
    d = own_daemon(args=args)
    pid = d.proc.pid
    with Client(d.endpoint, timeout=10.0) as c:
        running = long_job(c)  # holds the worker: every large request must wait or be refused
        wait_until_optimising(c, running)
        held = c.status()["queued_bytes"]
        before = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        reset_peak_rss(pid)
        done = subprocess.run([sys.executable, "-c", BURSTER, d.endpoint, str(BURST), str(W),
                               str(H)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        answers = json.loads(done.stdout)
        growth = peak_rss(pid) - before
        assert c.status()["queued_bytes"] == held  # nothing of the burst was kept
        assert c.cancel(running) is True
    assert len(answers) == BURST, answers
    assert set(answers.values()) == {"busy"}, answers
    print(f"peak RSS growth {growth / MB:.0f} MiB for {BURST} x {W * H * 4 / MB:.0f} MiB")
    # RCVHWM requests waiting in ZeroMQ, the one it is reading and the one being answered, with
    # room for allocator slack: the burst is 2.7 GiB, and without the bound 444 MiB was measured
    assert growth < 5 * W * H * 4, f"RSS grew by {growth / MB:.0f} MiB"
