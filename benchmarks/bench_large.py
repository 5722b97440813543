"""Large layers and throughput (issue 6), each figure beside the tutorial loop where it can run.

    python benchmarks/bench_large.py --preset gpu          # the README's GPU figures
    python benchmarks/bench_large.py --preset cpu          # the same shapes, scaled down
    python benchmarks/bench_large.py --only huge --huge 6000x4000 --iterations 2 \\
        --budget-gb 12                                     # a 24-Mpx layer completes on a CPU

Cases: one layer at the base size for N iterations; a 4x larger final size with multi-scale;
a huge layer under a memory budget (tiled); four layers in one request versus four requests;
a second request with the same style versus the first (warm style targets).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import test_images, to_tensor  # noqa: E402
from tutorial_baseline import tutorial_features, tutorial_run  # noqa: E402

from impasto_daemon.engine import RunControls, StyleEngine, StyleSettings  # noqa: E402

PRESETS = {  # base size, iterations, multi-scale final size, huge layer, batch layer size
    "gpu": (512, 500, 2048, (4000, 6000), 1024),
    "cpu": (96, 20, 256, (600, 900), 96),
}


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", choices=PRESETS, default="gpu" if torch.cuda.is_available()
                   else "cpu")
    p.add_argument("--only", choices=("base", "multiscale", "huge", "batch", "warm"),
                   nargs="*", default=None)
    p.add_argument("--iterations", type=int, default=None)
    p.add_argument("--huge", default=None, help="WxH of the huge layer, e.g. 6000x4000")
    p.add_argument("--budget-gb", type=float, default=24.0, help="memory budget of the huge case")
    p.add_argument("--device", default="auto")
    p.add_argument("--weights", default="random")
    p.add_argument("--optimizer", default="lbfgs", choices=("lbfgs", "adam"))
    args = p.parse_args()
    base, iters, final, huge, batch_side = PRESETS[args.preset]
    iters = args.iterations or iters
    if args.huge:
        w, h = (int(v) for v in args.huge.lower().split("x"))
        huge = (h, w)
    only = set(args.only or ("base", "multiscale", "huge", "batch", "warm"))
    engine = StyleEngine(device=args.device, weights=args.weights, models=("vgg19",))
    dev = engine.device
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(f"device {dev} ({name}, {torch.get_num_threads()} threads), torch {torch.__version__},"
          f" vgg19, {engine.weights_info['vgg19'].label}, optimizer {args.optimizer}")
    features = tutorial_features("vgg19", engine.features_state("vgg19"), dev)

    def tutorial_seconds(size: int, n: int) -> float:
        content, style = test_images(size)
        c, s = to_tensor(content, dev), to_tensor(style, dev)
        tutorial_run(features, c, s, 3)
        _, seconds, calls = tutorial_run(features, c, s, n)
        return seconds * n / calls

    def settings(**kw) -> StyleSettings:
        return StyleSettings(**{"iterations": iters, "optimizer": args.optimizer, **kw})

    warm_content, warm_style = test_images(base)
    engine.stylize(warm_content, [warm_style], settings(size=base, iterations=3,
                                                        multiscale=False))

    if "base" in only:
        content, style = test_images(base)
        (_, st), secs = timed(lambda: engine.stylize(content, [style],
                                                     settings(size=base, multiscale=False)))
        tut = tutorial_seconds(base, iters)
        print(f"{base}² {iters} it, one scale: {secs:.2f} s; tutorial loop {tut:.2f} s; "
              f"ratio {tut / secs:.2f}x; peak {st.peak_memory_bytes / 2**30:.2f} GiB")
    if "multiscale" in only:
        content, style = test_images(final)
        (_, st), secs = timed(lambda: engine.stylize(content, [style], settings(size=final)))
        try:
            tut = tutorial_seconds(final, iters)
            ratio = f"tutorial loop (one scale) {tut:.2f} s; ratio {tut / secs:.2f}x"
        except torch.cuda.OutOfMemoryError:
            ratio = "tutorial loop: out of memory"
        print(f"{final}² multi-scale {st.sizes}: {secs:.2f} s ({st.iterations} it); {ratio}")
    if "huge" in only:
        h, w = huge
        rng = np.random.default_rng(0)
        content = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        _, style = test_images(512)
        budget = int(args.budget_gb * 2**30)
        events = []
        (_, st), secs = timed(lambda: engine.stylize(
            content, [style], settings(size=None),
            RunControls(events.append, progress_interval=5.0), memory_budget=budget))
        strategy = sorted({e.strategy for e in events if e.tiles > 1})
        print(f"{w}x{h} within {args.budget_gb:g} GiB: {secs:.1f} s, {st.iterations} it, "
              f"tiles per scale {st.tiles}, peak {st.peak_memory_bytes / 2**30:.2f} GiB "
              f"({st.peak_bytes_per_megapixel / 2**20:.0f} MiB/Mpx); {strategy[-1:]}")
    if "batch" in only:
        layers = [test_images(batch_side)[0] for _ in range(4)]
        _, style = test_images(batch_side)
        s = settings(size=batch_side, multiscale=False)
        (_, together) = timed(lambda: engine.stylize_many(layers, [style], s))
        (_, alone) = timed(lambda: [engine.stylize(c, [style], s) for c in layers])
        print(f"4 x {batch_side}² in one request {together:.2f} s vs four requests "
              f"{alone:.2f} s: {alone / together:.2f}x")
    if "warm" in only:
        content, style = test_images(base)
        style = np.ascontiguousarray(style[::-1])  # a style this engine has not seen yet
        s = settings(size=base, multiscale=False, iterations=10)
        (_, first), t1 = timed(lambda: engine.stylize(content, [style], s))
        (_, second), t2 = timed(lambda: engine.stylize(content, [style], s))
        print(f"same style again: first {t1:.2f} s (cache hits {first.target_cache_hits}), "
              f"second {t2:.2f} s (cache hits {second.target_cache_hits}): {t1 / t2:.2f}x")


if __name__ == "__main__":
    main()
