"""``impasto stylize``: repaint an image file in the style of one or more others."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading

import numpy as np

from impasto_wire.limits import MAX_ITERATIONS, MIN_ITERATIONS
from impasto_wire.protocol import Limits

from ..settings import StyleSettings
from . import exit_codes
from .image_io import ImageFileError, check_writable, image_size, read_inputs, write_image
from .progress_bar import ProgressBar, done_line

DEFAULTS = StyleSettings()


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "stylize",
        help="repaint an image in the style of one or more style images",
        description=(
            "Repaint CONTENT in the style of STYLE (several styles are blended). The result keeps "
            "CONTENT's size and transparency. Runs on the Impasto daemon (started if needed) "
            "unless --local is given."
        ),
        epilog=(
            "examples:\n"
            "  impasto stylize photo.jpg starry.jpg -o out.png\n"
            "  impasto stylize photo.jpg a.jpg b.jpg --style-blend 0.7,0.3 --preserve-colors \\\n"
            "          -o out.png\n"
            "  impasto stylize photo.jpg starry.jpg --size 1024 --iterations 500 -o big.png"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("content", help="the image to repaint")
    p.add_argument("styles", nargs="+", metavar="STYLE", help="style image(s)")
    p.add_argument("-o", "--output", required=True,
                   help="where to write the result (PNG keeps transparency)")
    p.add_argument("--force", action="store_true",
                   help="replace a symbolic link at OUTPUT that another user made (or that "
                        "leads to another user's file) with the result; without it such a "
                        "link is refused, and it is never written through")
    q = p.add_argument_group("look")
    q.add_argument("--strength", type=float, default=DEFAULTS.strength,
                   help="how much of the picture the style may take, 0 (a light glaze) to "
                        "100 (a takeover); the same strength keeps about the same share of "
                        "the picture whatever the style (default %(default)g)")
    q.add_argument("--style-weight", type=float, default=None,
                   help="a fixed style weight instead of --strength (the same weight keeps "
                        "much of one picture and erases another)")
    q.add_argument("--content-weight", type=float, default=DEFAULTS.content_weight,
                   help="how much of the content's structure is kept (default %(default)g)")
    q.add_argument("--tv-weight", type=float, default=DEFAULTS.tv_weight,
                   help="smoothing against speckle, per unit of style weight; 0 = none "
                        "(default %(default)g)")
    q.add_argument("--style-blend", type=_floats, default=None, metavar="W1,W2,…",
                   help="weights of the style images, e.g. 0.7,0.3 (default: equal)")
    q.add_argument("--style-scale", type=float, default=DEFAULTS.style_scale,
                   help="size of style features relative to the content; <1 gives finer strokes "
                        "(default %(default)g)")
    q.add_argument("--preserve-colors", action="store_true",
                   help="keep the content's original colours, take only the style's texture")
    r = p.add_argument_group("quality and speed")
    r.add_argument("--size", type=int, default=DEFAULTS.size,
                   help="long side to paint at, in pixels; 0 = the content's full size "
                        "(default %(default)s); the result is returned at the content's own size")
    r.add_argument("--iterations", type=_iterations, default=DEFAULTS.iterations,
                   help="optimisation steps at the finest scale (default %(default)s)")
    r.add_argument("--no-multiscale", dest="multiscale", action="store_false",
                   help="optimise at the final size only instead of coarse-to-fine")
    r.add_argument("--optimizer", choices=("lbfgs", "adam"), default=DEFAULTS.optimizer,
                   help="lbfgs converges in fewer steps; adam uses less memory "
                        "(default %(default)s)")
    r.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate,
                   help="Adam's step size (default %(default)g)")
    r.add_argument("--init", choices=("content", "noise", "style"), default=DEFAULTS.init,
                   help="starting image: content is the photo with its colours moved toward "
                        "the style's in the style's share of the weights (default %(default)s)")
    r.add_argument("--seed", type=int, default=DEFAULTS.seed,
                   help="random seed; the same seed gives the same picture (default %(default)s)")
    m = p.add_argument_group("model and device")
    m.add_argument("--model", choices=("vgg19", "vgg16"), default=None,
                   help="network (default: the daemon configuration's first model, else "
                        f"{DEFAULTS.model})")
    m.add_argument("--pooling", choices=("avg", "max"), default=DEFAULTS.pooling,
                   help="pooling layers (default %(default)s, smoother results)")
    m.add_argument("--device", default="auto",
                   help="auto, cpu, cuda or cuda:N; with --local only (default %(default)s)")
    m.add_argument("--weights", default=None,
                   help="torchvision, random (a demo, not a real model) or a .pth file; "
                        "with --local only: the daemon loads what its configuration says "
                        "(default: the configuration's weights, else torchvision)")
    m.add_argument("--local", action="store_true",
                   help="run in this process instead of through the daemon")
    m.add_argument("--endpoint", default=None,
                   help="the daemon's address (default: $IMPASTO_ENDPOINT, else the local one)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _iterations(text: str) -> int:
    """The range the GIMP plug-in allows too: 0 steps would return the starting picture (the
    photo in the style's colours), not a painting, and report it done."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not MIN_ITERATIONS <= n <= MAX_ITERATIONS:
        raise argparse.ArgumentTypeError(
            f"must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}, not {n} (the optimisation "
            f"steps at the finest scale; {DEFAULTS.iterations} is the default)")
    return n


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        ) from exc


def settings_from_args(args: argparse.Namespace) -> StyleSettings:
    return StyleSettings(
        model=args.model, pooling=args.pooling, size=args.size, iterations=args.iterations,
        optimizer=args.optimizer, init=args.init, content_weight=args.content_weight,
        strength=args.strength, style_weight=args.style_weight, tv_weight=args.tv_weight,
        learning_rate=args.learning_rate, style_blend=args.style_blend,
        style_scale=args.style_scale, preserve_colors=args.preserve_colors, seed=args.seed,
        multiscale=args.multiscale,
    )


def run(args: argparse.Namespace) -> int:
    from impasto_wire import DaemonUnavailable
    from impasto_wire.launcher import configured_defaults

    if args.weights is not None and not args.local:
        print("impasto: --weights applies to --local runs only; the daemon loads the weights "
              "its configuration names (docs/CONFIG.md): add --local, or change the "
              "configuration and restart the daemon (impasto stop)", file=sys.stderr)
        return exit_codes.USAGE
    try:
        default_model, configured_weights = configured_defaults()
    except DaemonUnavailable as exc:  # an unreadable configuration file
        print(f"impasto: {exc}", file=sys.stderr)
        return exit_codes.USAGE
    args.model = args.model or default_model
    args.weights = args.weights or configured_weights
    try:
        settings = settings_from_args(args)
        settings.blend_for(len(args.styles))
    except ValueError as exc:
        print(f"impasto: {exc}", file=sys.stderr)
        return exit_codes.USAGE
    try:
        # before any work: a job whose result cannot be written, or whose inputs are not
        # images, is refused now rather than after minutes of optimisation
        check_writable(args.output, args.force)
        for path in [args.content, *args.styles]:
            image_size(path)
    except ImageFileError as exc:
        print(f"impasto: {exc}", file=sys.stderr)
        return exc.exit_code
    bar = ProgressBar(enabled=not args.quiet)
    if args.local:
        try:
            content, styles = read_inputs(args.content, args.styles, Limits().max_pixels)
        except ImageFileError as exc:
            bar.fail(f"impasto: {exc}")
            return exc.exit_code
        code, result = _run_local(args, content, styles, settings, bar)
    else:
        from .remote_cmds import stylize_via_daemon

        code, result = stylize_via_daemon(args, settings, bar)
    if result is None:
        return code
    try:
        write_image(args.output, result, args.force)
    except ImageFileError as exc:
        bar.fail(f"impasto: {exc}")
        return exc.exit_code
    return code


def _run_local(
    args: argparse.Namespace,
    content: np.ndarray,
    styles: list[np.ndarray],
    settings: StyleSettings,
    bar: ProgressBar,
) -> tuple[int, np.ndarray | None]:
    # Imported here: torch takes seconds to load, and only the local path needs it.
    from ..engine import OutOfMemory, RunControls, StyleCancelled, StyleDiverged, StyleEngine
    from ..weights import WeightsError

    cancel = threading.Event()
    try:
        engine = StyleEngine(device=args.device, weights=args.weights, models=(settings.model,))
    except (WeightsError, ValueError) as exc:
        bar.fail(f"impasto: {exc}")
        return (exit_codes.WEIGHTS if isinstance(exc, WeightsError) else exit_codes.USAGE), None
    info = engine.weights_info[settings.model]
    if info.is_random:
        print(f"impasto: warning: {info.label}; the result shows no real style", file=sys.stderr)

    try:
        rgba, stats = engine.stylize(content, styles, settings,
                                     RunControls(bar.update, cancel, progress_interval=0.1))
    except (KeyboardInterrupt, StyleCancelled):
        bar.fail("impasto: cancelled")
        return exit_codes.CANCELLED, None
    except OutOfMemory as exc:
        bar.fail(f"impasto: {exc}")
        return exit_codes.OUT_OF_MEMORY, None
    except StyleDiverged as exc:
        bar.fail(f"impasto: {exc}")
        return exit_codes.DIVERGED, None
    bar.close(done_line(dataclasses.asdict(stats)))
    return exit_codes.OK, rgba
