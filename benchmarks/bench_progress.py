"""The bar against the clock on a real job: at each tenth of the job's real duration, the
percent and time left the engine reported, and the time that was really left.

    .venv/bin/python benchmarks/bench_progress.py --size 512          # the default job
    .venv/bin/python benchmarks/bench_progress.py --size 128          # a quick smoke run

Random VGG19 weights unless --weights says otherwise (the time a job takes depends on its
loss curve, so real weights give the table users will see). The engine's rules are tested on
an injected clock in tests/unit/test_engine_progress.py; this is the real-run check.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import test_images  # noqa: E402

from impasto_daemon.engine import RunControls, StyleEngine, StyleSettings  # noqa: E402
from impasto_wire.progress import format_eta  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--iterations", type=int, default=StyleSettings().iterations)
    parser.add_argument("--weights", default="random")
    parser.add_argument("--model", default="vgg19")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    engine = StyleEngine(device=args.device, weights=args.weights, models=(args.model,))
    content, style = test_images(args.size)
    settings = StyleSettings(size=args.size, iterations=args.iterations, model=args.model)
    events = []
    started = time.monotonic()
    _, stats = engine.stylize(content, [style], settings, RunControls(
        lambda e: events.append((time.monotonic() - started, e)), progress_interval=0.0))
    total = time.monotonic() - started
    steps = {e.scale: e.step for _, e in events if e.stage == "optimising"}
    print(f"{args.size} px, {args.iterations} iterations, {stats.device}, {stats.weights}: "
          f"{total:.1f} s, steps per scale {list(steps.values())}")
    print(f"{'time':>6} {'of job':>6} {'bar':>4} {'eta shown':>10} {'really left':>11}  where")
    for tenth in range(11):
        at = total * tenth / 10
        seen = [(t, e) for t, e in events if t <= at]
        if not seen:
            continue
        t, e = seen[-1]
        eta = format_eta(e.eta).removeprefix("eta ") or "estimating"
        print(f"{at:6.1f} {tenth * 10:5d}% {e.percent:3d}% {eta:>10} {total - t:10.1f}s  "
              f"scale {e.scale}/{e.scales} step {e.step} ({e.stage})")


if __name__ == "__main__":
    main()
