"""Impasto's engine against the tutorial-style loop, same sizes, iterations and weights.

    python benchmarks/bench_engine.py                 # CPU: 128 px, 20 iterations
    python benchmarks/bench_engine.py --sizes 512 1024 2048 --iterations 500   # a GPU

Prints ms per iteration for both and the ratio (tutorial / Impasto; above 1 means faster).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from tutorial_baseline import tutorial_features, tutorial_run  # noqa: E402

from impasto_daemon.engine import StyleEngine, StyleSettings  # noqa: E402


def test_images(size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] / size
    content = np.stack([np.sin(7 * x + k) * np.cos(5 * y - k) for k in range(3)], 2)
    content = ((content + 1) * 127).astype(np.uint8)
    style = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return content, style


def to_tensor(pixels: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].float().div(255).contiguous().to(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--model", default="vgg19", choices=("vgg19", "vgg16"))
    parser.add_argument("--weights", default="random")
    parser.add_argument("--skip-baseline-above", type=int, default=4096,
                        help="sizes above this run Impasto only (the tutorial loop would OOM)")
    args = parser.parse_args()

    engine = StyleEngine(device=args.device, weights=args.weights, models=(args.model,))
    device = engine.device
    info = engine.weights_info[args.model]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device {device} ({name}, {torch.get_num_threads()} threads), "
          f"torch {torch.__version__}, {args.model}, weights: {info.label}")
    features = tutorial_features(args.model, engine.features_state(args.model), device)
    print(f"{'size':>6} {'iters':>6} {'tutorial ms/it':>15} {'impasto ms/it':>14} {'ratio':>6}")
    for size in args.sizes:
        content, style = test_images(size)
        settings = StyleSettings(model=args.model, size=size, iterations=args.iterations,
                                 multiscale=False)
        engine.stylize(content, [style], StyleSettings(**{**settings.to_dict(), "iterations": 5}))
        _, stats = engine.stylize(content, [style], settings)
        ours = stats.seconds * 1000 / stats.iterations
        base_ms = float("nan")
        if size <= args.skip_baseline_above:
            c, s = to_tensor(content, device), to_tensor(style, device)
            tutorial_run(features, c, s, 5)
            _, seconds, calls = tutorial_run(features, c, s, args.iterations)
            base_ms = seconds * 1000 / calls
        print(f"{size:>6} {args.iterations:>6} {base_ms:>15.1f} {ours:>14.1f} "
              f"{base_ms / ours:>6.2f}")
        if device.type == "cuda":
            print(f"       peak GPU memory {stats.peak_memory_bytes / 2**30:.2f} GiB")
    if device.type == "cuda":
        content, style = test_images(512)
        settings = StyleSettings(model=args.model, size=512, iterations=500, multiscale=False)
        start = time.perf_counter()
        _, stats = engine.stylize(content, [style], settings)
        print(f"512² {args.model} 500 iterations end to end: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
