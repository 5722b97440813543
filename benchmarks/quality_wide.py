"""The wide quality harness: Impasto against the plain loop on 36 hard pairs, in two halves.

The pairs, their sources and the fixed tuning/check split are in quality_pictures.py. Tune
only on the tuning half; judge by the check half. Each pair runs as in quality.py (Impasto
first at its defaults, then the plain Gatys loop for the same wall or CPU seconds) and is
scored by quality_metrics.py, photo_kept included: the figure a takeover fails.

    python benchmarks/quality_wide.py --half check --json benchmarks/results/wide_check.json
    python benchmarks/quality_wide.py --half tuning --iterations 150 --clock cpu
    python benchmarks/quality_wide.py --pairs portrait:glowing_disc --sheet /tmp/p.png
    python benchmarks/strength_sheet.py --half check   # Impasto alone at strengths 25/50/75
    python benchmarks/quality_wide.py --list          # the pairs, their halves and sources
    python benchmarks/quality_wide.py --half check --json J --resume   # finish a cut run

A pair whose picture is not installed here is reported as missing (with the package to
install) in the output and the JSON, never silently dropped. The summary is per half.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402
import quality_pictures as qp  # noqa: E402

from impasto_daemon.engine import StyleEngine  # noqa: E402

KEPT = ("photo_kept", "content_edges")  # Impasto must keep at least the loop's, per pair
#: the plain loop's style and content weights: those of the README's quality table; the
#: tutorial's own 1e6 / 1 diverge to clipped noise on the anchor's Caffe-scale VGG16
REF_WEIGHTS = (0.09, 0.0003)


def pictures(photo: str, style: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The pair's photo fitted to ``size`` and its style covering the same frame."""
    content = quality.fit(qp.PHOTOS[photo].load(), size)
    return content, quality.cover(qp.STYLES[style].load(), *content.shape[:2])


def select(half: str, names: str) -> list[tuple[str, str]]:
    """The half's pairs, or only the ``photo:style`` ones named (which must be in PAIRS)."""
    pairs = qp.pairs_in(half)
    if not names:
        return pairs
    wanted = [tuple(n.split(":", 1)) for n in names.split(",")]
    unknown = [":".join(w) for w in wanted if w not in qp.PAIRS]
    if unknown:
        raise SystemExit(f"not a wide-harness pair: {', '.join(unknown)} (see --list)")
    return [p for p in wanted if p in pairs or half == "both"]


def plain_loop(engine: StyleEngine, clock: str = "cpu", style_weight: float = REF_WEIGHTS[0],
               content_weight: float = REF_WEIGHTS[1]) -> quality.Reference:
    """The plain loop on the engine's own VGG16, given equal ``clock`` ("wall" or "cpu")
    seconds."""
    features = quality.tutorial_features("vgg16", engine.features_state("vgg16"),
                                         torch.device("cpu"))
    return quality.Reference(features, "seconds" if clock == "wall" else "cpu_seconds",
                             style_weight, content_weight)


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means, and per pair how often Impasto keeps at least the loop's photo and edges and
    takes more style; the worst ratios; the spread of photo_kept across pairs."""
    done = [r for r in rows if "impasto" in r]
    if not done:
        return {"pairs": 0}
    out: dict[str, Any] = {"pairs": len(done), "means": quality.means(done)}
    for name in KEPT:
        ratios = [r["impasto"][name] / r["reference"][name] for r in done
                  if r["reference"][name] > 0]
        out[f"{name}_at_least_loop"] = sum(r["impasto"][name] >= r["reference"][name]
                                           for r in done)
        out[f"{name}_worst_ratio"] = min(ratios) if ratios else None
    out["style_above_loop"] = sum(r["impasto"]["style_gain"] > r["reference"]["style_gain"]
                                  for r in done)
    for side in ("reference", "impasto"):
        out[f"photo_kept_spread_{side}"] = float(np.std([r[side]["photo_kept"] for r in done]))
    return out


def print_summary(half: str, rows: list[dict[str, Any]]) -> None:
    missing = [r for r in rows if "missing" in r]
    s = summary(rows)
    print(f"\n== {half} half: {s['pairs']} pairs measured, {len(missing)} missing")
    for r in missing:
        print(f"  MISSING {r['photo']} x {r['style']}: {r['missing']}")
    if not s["pairs"]:
        return
    quality.print_table("  means", ["reference", "impasto"],
                        [s["means"]["reference"], s["means"]["impasto"]])
    for name in KEPT:
        worst = s[f"{name}_worst_ratio"]
        print(f"  Impasto's {name} at least the loop's: {s[f'{name}_at_least_loop']} of "
              f"{s['pairs']} (worst ratio {'-' if worst is None else f'{worst:.2f}'})")
    print(f"  Impasto's style_gain above the loop's: {s['style_above_loop']} of {s['pairs']}")
    print(f"  photo_kept spread across pairs (std): loop "
          f"{s['photo_kept_spread_reference']:.3f}, Impasto {s['photo_kept_spread_impasto']:.3f}")


def write_json(path: Path, about: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    halves = {h: summary([r for r in rows if r["half"] == h]) for h in qp.HALVES
              if any(r["half"] == h for r in rows)}
    quality.write_json(path, {**about, "load_average": os.getloadavg(), "halves": halves}, rows)


def resumed(path: Path, about: dict[str, Any]) -> list[dict[str, Any]]:
    """The measured pairs of an earlier run written to ``path`` with the same settings."""
    if not path.is_file():
        return []
    earlier = json.loads(path.read_text())
    for key in ("size", "settings", "clock", "threads", "reference_weights", "weights"):
        if earlier.get(key) != json.loads(json.dumps(about[key], default=quality._json_default)):
            raise SystemExit(f"--resume: {path} was run with another {key}: "
                             f"{earlier.get(key)!r}")
    return [r for r in earlier["pairs"] if "impasto" in r]


def list_pairs() -> None:
    for photo, style in qp.PAIRS:
        print(f"{qp.half_of(photo, style):<7} {photo} ({qp.PHOTOS[photo].kind}) x {style} "
              f"({qp.STYLES[style].kind})")
    for title, table in (("photos", qp.PHOTOS), ("styles", qp.STYLES)):
        print(f"\n{title}:")
        for p in table.values():
            print(f"  {p.name:<15} {p.kind:<36} {p.source}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=(*qp.HALVES, "both"), default="check")
    parser.add_argument("--pairs", default="", help="only these photo:style pairs")
    parser.add_argument("--size", type=int, default=256, help="long side of every photo")
    parser.add_argument("--iterations", type=int, default=None,
                        help="Impasto's iterations (default: its own default)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="any other StyleSettings field, e.g. style_weight=2")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, both sides")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="equal wall time, or equal process CPU time (a loaded machine)")
    parser.add_argument("--ref-style-weight", type=float, default=REF_WEIGHTS[0],
                        help="the plain loop's style weight")
    parser.add_argument("--ref-content-weight", type=float, default=REF_WEIGHTS[1],
                        help="the plain loop's content weight")
    parser.add_argument("--weights", help="impasto-vgg/1 VGG16 file (default: import anchor)")
    parser.add_argument("--json", type=Path, help="write every figure here (after each pair)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the pairs --json already has (same settings) and run the rest")
    parser.add_argument("--sheet", type=Path, help="write the contact sheet PNG here")
    parser.add_argument("--label", default="")
    parser.add_argument("--list", action="store_true", help="print the pairs and sources")
    args = parser.parse_args(argv)
    if args.list:
        list_pairs()
        return
    pairs = select(args.half, args.pairs)
    torch.set_num_threads(args.threads)
    base: dict[str, Any] = {"model": "vgg16", "size": args.size}
    if args.iterations is not None:
        base["iterations"] = args.iterations
    settings = quality.parse_settings(args.set, base)
    engine = StyleEngine(device="cpu", weights=args.weights or str(quality.anchor_weights()),
                         models=("vgg16",))
    info = engine.weights_info["vgg16"]
    if info.is_random:
        raise SystemExit("the quality harness needs real ImageNet weights, not random ones")
    reference = plain_loop(engine, args.clock, args.ref_style_weight, args.ref_content_weight)
    about = {"label": args.label, "half": args.half, "size": args.size,
             "threads": torch.get_num_threads(), "torch": torch.__version__,
             "engine": quality.engine_source(), "weights": info.label, "clock": args.clock,
             "settings": settings.to_dict(), "reference_weights": reference.weights}
    print(f"{len(pairs)} pairs ({args.half}), {args.size} px, {torch.get_num_threads()} "
          f"threads, clock {args.clock}, {info.label}\nImpasto from {about['engine']}: {settings}")
    rows = resumed(args.json, about) if args.resume and args.json else []
    warm = False
    for photo, style in [p for p in pairs if p not in {(r["photo"], r["style"]) for r in rows}]:
        row: dict[str, Any] = {"photo": photo, "style": style, "half": qp.half_of(photo, style)}
        try:
            content, style_pixels = pictures(photo, style, args.size)
        except qp.PictureMissing as exc:
            rows.append({**row, "missing": str(exc)})
            print(f"{photo} x {style}: MISSING {exc}", flush=True)
        else:
            if not warm:  # warm the engine once, untimed
                warm = True
                engine.stylize(content, [style_pixels],
                               dataclasses.replace(settings, size=64, iterations=2))
            row |= quality.run_pictures(engine, reference, settings, content, style_pixels)
            rows.append(row)
            quality.print_table(f"{photo} x {style} ({row['half']}) {row['size'][1]}x"
                                f"{row['size'][0]}", ["reference", "impasto"],
                                [row["reference"], row["impasto"]], flush=True)
        if args.json:
            write_json(args.json, about, rows)
        if args.sheet and any("_pictures" in r for r in rows):  # this run's pairs only
            quality.contact_sheet([r for r in rows if "_pictures" in r], args.sheet)
    for half in qp.HALVES:
        if any(r["half"] == half for r in rows):
            print_summary(half, [r for r in rows if r["half"] == half])
    if args.json:
        print(f"figures -> {args.json}")


if __name__ == "__main__":
    main()
