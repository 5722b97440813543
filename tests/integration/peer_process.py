"""A second client in its own process, for the tests where another client (or another local
user) must be a real separate program: ``python peer_process.py ACTION ENDPOINT [ARGS...]``.
Prints one JSON line per finding; never imports the test helpers, only impasto_wire.

hijack ENDPOINT ID...   resubmit each id with a 1x1 dummy request, then listen for 2 s
other-user ENDPOINT ID  status, cancel ID and stop, as a client without the daemon's token
paused ENDPOINT         submit a long job, say "optimising", then wait for its end
"""

from __future__ import annotations

import json
import sys
import time

from impasto_wire import Client, DaemonError, Image, JobCancelled, Style


def say(**fields) -> None:
    print(json.dumps(fields), flush=True)


def hijack(endpoint: str, ids: list[str]) -> None:
    with Client(endpoint, timeout=5.0, name="hijacker") as c:
        for job_id in ids:
            try:
                c.submit([(Image(1, 1, 4), bytes(4))], [Style.raw(1, 1, 3, bytes(3))],
                         {"iterations": 1, "size": None, "multiscale": False}, job_id=job_id)
                say(id=job_id, answer="accepted")
            except DaemonError as exc:
                say(id=job_id, answer=exc.code, message=exc.message)
        got = []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                ev = c.poll(timeout=0.2)
            except Exception as exc:  # noqa: BLE001 - report whatever happens
                say(poll_error=str(exc))
                break
            if ev is not None:
                got.append([ev.type, ev.job_id, len(ev.frames)])
        say(events=got)
        c._active.clear()  # say no bye: nothing of ours to cancel


def other_user(endpoint: str, job_id: str) -> None:
    with Client(endpoint, timeout=5.0, name="other-user") as c:
        st = c.status()
        say(status={"running": [r["id"] for r in st["running"]], "queued": st["queued"],
                    "admin": st.get("admin"), "hidden_jobs": st.get("hidden_jobs")})
        for what, call in (("cancel", lambda: c.cancel(job_id)), ("stop", c.stop)):
            try:
                say(action=what, answer=str(call()))
            except DaemonError as exc:
                say(action=what, answer=exc.code, message=exc.message)


def paused(endpoint: str) -> None:
    import numpy as np

    content = np.zeros((64, 64, 4), np.uint8)
    content[..., 0] = np.arange(64, dtype=np.uint8)
    style = np.full((32, 32, 3), 90, np.uint8)
    style[::2, :, 1] = 200
    with Client(endpoint, timeout=5.0, name="paused") as c:
        job = c.submit([(Image(64, 64, 4), content)], [Style.raw(32, 32, 3, style)],
                       {"iterations": 4000, "size": None, "multiscale": False})
        told = []

        def progress(ev) -> None:
            if not told and ev.get("stage") == "optimising":
                told.append(True)
                say(state="optimising", job=job)

        try:
            ev = c.wait(job, on_progress=progress)
            say(state="ended", type=ev.type)
        except JobCancelled as exc:
            say(state="cancelled", message=str(exc), reason=exc.reason)
        except Exception as exc:  # noqa: BLE001 - the test reads what happened
            say(state="failed", error=f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    action, endpoint, *rest = sys.argv[1:]
    {"hijack": lambda: hijack(endpoint, rest), "other-user": lambda: other_user(endpoint, rest[0]),
     "paused": lambda: paused(endpoint)}[action]()
