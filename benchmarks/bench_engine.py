"""Impasto's engine against the tutorial-style loop, same sizes, iterations and weights.

    python benchmarks/bench_engine.py                 # CPU: 128 px, 20 iterations
    python benchmarks/bench_engine.py --sizes 512 1024 2048 --iterations 500   # a GPU
    python benchmarks/bench_engine.py --default-run   # the default 512 px job, three ways

Prints ms per iteration for both and the ratio (tutorial / Impasto; above 1 means faster).
``--default-run`` times what a user waits for: the default job (512 px, default settings) by
this engine, by the engine before issue 9 (``previous_engine.py``, same machine, same run) and
the tutorial loop's default (300 L-BFGS closure calls at 512 px), with the ratios.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from previous_engine import PREVIOUS_ENGINE, run_previous  # noqa: E402
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
    parser.add_argument("--default-run", action="store_true",
                        help="time the default 512 px job: this engine, the previous one, the "
                             "tutorial loop")
    parser.add_argument("--previous", default=PREVIOUS_ENGINE,
                        help="git revision to compare, or none")
    parser.add_argument("--out", type=Path, default=Path("bench_default"),
                        help="folder for the three pictures of --default-run")
    args = parser.parse_args()
    if args.default_run:
        default_run(args)
        return

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
                                 multiscale=False, tolerance=0)  # every step, as the loop
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
        settings = StyleSettings(model=args.model, size=512, iterations=500, multiscale=False,
                                 tolerance=0)
        start = time.perf_counter()
        _, stats = engine.stylize(content, [style], settings)
        print(f"512² {args.model} 500 iterations end to end: {time.perf_counter() - start:.2f} s")


def default_run(args: argparse.Namespace) -> None:
    """The job a user runs without options, timed three ways on the same pictures."""
    from PIL import Image

    data = Path(__file__).resolve().parents[1] / "tests" / "data"
    content_path, style_path = data / "chelsea.png", data / "swirl_strokes.png"
    args.out.mkdir(parents=True, exist_ok=True)
    engine = StyleEngine(device="cpu", weights=args.weights, models=(args.model,))
    content = np.asarray(Image.open(content_path).convert("RGB"))
    style = np.asarray(Image.open(style_path).convert("RGB"))
    # The default job asks for 512 px; these pictures are smaller, so they are upscaled first.
    content = np.asarray(Image.fromarray(content).resize((512, round(512 * content.shape[0]
                                                                  / content.shape[1]))))
    big_content = args.out / "content_512.png"
    Image.fromarray(content).save(big_content)
    settings = StyleSettings(model=args.model)
    print(f"default job: {content.shape[1]}x{content.shape[0]}, {args.model} "
          f"({engine.weights_info[args.model].label}), {torch.get_num_threads()} threads")
    start = time.perf_counter()
    out, stats = engine.stylize(content, [style], settings)
    ours = time.perf_counter() - start
    Image.fromarray(out[:, :, :3]).save(args.out / "impasto.png")
    print(f"  impasto now      {ours:7.1f} s  ({stats.iterations} steps over {stats.sizes}, "
          f"style weight {stats.style_weight:.3g})")
    prev = None
    if args.previous != "none":
        prev = run_previous(args.previous, big_content, style_path, 512, args.weights,
                            args.model, args.out / "previous.png")
        print(f"  impasto {args.previous:<8} {prev['seconds']:7.1f} s  ({prev['iterations']} "
              f"evaluations over {prev['sizes']})")
    features = tutorial_features(args.model, engine.features_state(args.model), engine.device)
    c = to_tensor(content, engine.device)
    s = to_tensor(np.asarray(Image.fromarray(style).resize(content.shape[1::-1])), engine.device)
    image, seconds, calls = tutorial_run(features, c, s, 300)
    Image.fromarray((image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(
        args.out / "tutorial.png")
    print(f"  tutorial loop    {seconds:7.1f} s  ({calls} closure calls at 512 px)")
    if prev is not None:
        print(f"ratio: {prev['seconds'] / ours:.2f}x faster than the previous engine")
    print(f"ratio: {seconds / ours:.2f}x faster than the tutorial loop")


if __name__ == "__main__":
    main()
