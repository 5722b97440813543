"""What the daemon and its protocol cost, measured through a real ``impasto-daemon``.

    python benchmarks/bench_protocol.py                       # CPU, random weights
    python benchmarks/bench_protocol.py --device cuda --weights torchvision --size 512

1. Protocol overhead: a 4096x4096 RGBA layer (64 MiB) sent and returned with the diagnostic
   ``echo`` message, which goes through exactly the stylize path's encoding, ZeroMQ transfer,
   header and frame-length validation, and sends the frames back — without the optimisation.
   Target: <= 0.3 s per round trip.
   For comparison it also times a ``stylize`` with ``iterations=0`` on the same layer, which
   adds the engine's own pre/post-processing (conversion, resizing down and back up).
2. Warm versus cold: "cold" is starting the daemon (torch import, model load) plus the first
   stylize request; "warm" is the same request again on the running daemon (network loaded,
   style targets cached).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from impasto_wire import Client, DaemonUnavailable, Image, Style

DAEMON = str(Path(sys.executable).with_name("impasto-daemon"))


def start_daemon(endpoint: str, args: argparse.Namespace, log: Path) -> subprocess.Popen:
    argv = [DAEMON, "--endpoint", endpoint, "--device", args.device, "--weights", args.weights,
            "--no-announce", "--log-level", "warning"]
    with open(log, "ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(endpoint: str, proc: subprocess.Popen, timeout: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the daemon exited with status {proc.returncode}")
        try:
            with Client(endpoint, timeout=0.5) as c:
                return c.hello()
        except DaemonUnavailable:
            time.sleep(0.05)
    raise SystemExit("the daemon did not start in time")


def picture(h: int, w: int, c: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(7 * x + k) * np.cos(5 * y - k) for k in range(c)], 2)
    noisy = (base + 1) * 110 + rng.integers(0, 30, (h, w, c))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def stylize_seconds(c: Client, content: np.ndarray, style: np.ndarray, args) -> float:
    h, w, ch = content.shape
    t0 = time.perf_counter()
    styles = [Style.raw(style.shape[1], style.shape[0], 3, style)]
    job = c.submit([(Image(w, h, ch), content)], styles,
                   {"iterations": args.iterations, "size": args.size, "multiscale": False})
    c.wait(job)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--weights", default="random")
    p.add_argument("--side", type=int, default=4096, help="echo layer side (default 4096)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--size", type=int, default=128, help="stylize size for warm/cold")
    p.add_argument("--iterations", type=int, default=10)
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="impasto-bench-") as tmp:
        endpoint = f"ipc://{tmp}/d.sock"
        log = Path(tmp) / "daemon.log"
        content = picture(args.size, args.size, 4, 1)
        style = picture(args.size, args.size, 3, 2)

        t0 = time.perf_counter()
        proc = start_daemon(endpoint, args, log)
        try:
            welcome = wait_ready(endpoint, proc)
            started = time.perf_counter() - t0
            with Client(endpoint, timeout=30) as c:
                first = stylize_seconds(c, content, style, args)
                cold = time.perf_counter() - t0
                warm = [stylize_seconds(c, content, style, args) for _ in range(2)]

                layer = np.random.default_rng(0).integers(
                    0, 256, (args.side, args.side, 4), dtype=np.uint8)
                desc = Image(args.side, args.side, 4)
                c.echo([(desc, layer)])  # connection and page-cache warm-up
                trips = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    ev = c.echo([(desc, layer)])
                    trips.append(time.perf_counter() - t)
                zero = argparse.Namespace(iterations=0, size=args.size)
                t = time.perf_counter()
                stylize_seconds(c, layer, style, zero)
                whole = time.perf_counter() - t
                back = np.frombuffer(ev.frames[0], np.uint8)
                assert back.size == layer.size and back[:: 4096 * 97].tolist() == \
                    layer.reshape(-1)[:: 4096 * 97].tolist()
        finally:
            proc.terminate()
            proc.wait(30)

    model = welcome["models"][0]
    mib = args.side * args.side * 4 / 2**20
    print(f"impasto-daemon {welcome['daemon_version']} on {welcome['device']}, "
          f"{model['name']} ({model['label']}), {os.cpu_count()} CPUs")
    print(f"protocol round trip, {args.side}x{args.side} RGBA ({mib:.0f} MiB each way, echo): "
          f"median {statistics.median(trips):.3f} s, best {min(trips):.3f} s over "
          f"{args.repeat} (target <= 0.3 s)")
    print(f"stylize with iterations=0 on that layer (protocol + the engine's resizing and "
          f"conversions, no optimisation): {whole:.2f} s")
    print(f"cold: daemon start + model load {started:.2f} s, first request {first:.2f} s, "
          f"total {cold:.2f} s")
    print(f"warm: same request again {min(warm):.2f} s "
          f"({args.size} px, {args.iterations} iterations)")
    print(f"warm vs cold: {cold / min(warm):.1f}x faster than a cold start, "
          f"{first / min(warm):.2f}x faster than the first request on a running daemon")


if __name__ == "__main__":
    main()
