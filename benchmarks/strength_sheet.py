"""What the strength does on the wide harness's pairs: Impasto at several strengths, the
figures of each (quality_metrics.py) and a contact sheet (photo, style, a column a strength).

quality_wide.py judges the default against the plain loop; this shows the control itself, and
how much each strength's photo_kept varies across pairs (what the governor holds). With
``--loop-at 50`` the plain loop runs too, for the process CPU time strength 50 took, in a
column beside the style: the whole range of the control against the picture a user would
otherwise get.

    python benchmarks/strength_sheet.py --half check --strengths 25,50,75 --loop-at 50 \
        --json benchmarks/results/strengths_check_256.json --sheet docs/images/strengths.png
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402
import quality_metrics as qm  # noqa: E402
import quality_pictures as qp  # noqa: E402
import quality_wide  # noqa: E402

from impasto_daemon.engine import StyleEngine  # noqa: E402

LOOP = "plain loop"  # the column and the figures' key of the plain loop (--loop-at)


def column(strength: float) -> str:
    """A strength's column and the key of its figures."""
    return f"strength {strength:g}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=(*qp.HALVES, "both"), default="check")
    parser.add_argument("--pairs", default="", help="only these photo:style pairs")
    parser.add_argument("--strengths", type=lambda t: [float(v) for v in t.split(",")],
                        default=[25.0, 50.0, 75.0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--loop-at", type=float, default=None, metavar="STRENGTH",
                        help="also run the plain loop for the CPU time this strength took")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sheet", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = quality.parse_settings([], {"model": "vgg16", "size": args.size,
                                           "iterations": args.iterations})
    engine = StyleEngine(device="cpu", weights=str(quality.anchor_weights()), models=("vgg16",))
    names = [column(s) for s in args.strengths]
    if args.loop_at is not None and args.loop_at not in args.strengths:
        parser.error("--loop-at must be one of the --strengths")
    loop = None if args.loop_at is None else quality_wide.plain_loop(engine, "cpu")
    judged = (*(() if loop is None else (LOOP,)), *names)  # the columns with figures
    columns = ("content", "style", *judged)
    rows: list[dict[str, Any]] = []
    for photo, style in quality_wide.select(args.half, args.pairs):
        content, style_pixels = quality_wide.pictures(photo, style, args.size)
        row: dict[str, Any] = {"photo": photo, "style": style, "_names": columns}
        pictures = {"content": content, "style": style_pixels}
        for name, strength in zip(names, args.strengths):
            varied = dataclasses.replace(settings, strength=strength)
            (out, stats), times = quality.timed(
                lambda v=varied, c=content, s=style_pixels: engine.stylize(c, [s], v))
            pixels = np.ascontiguousarray(out[..., :3])
            row[name] = {**qm.measure(pixels, content, style_pixels), **times,
                         "iterations": stats.iterations, "style_weight": stats.style_weight}
            pictures[name] = pixels
            print(f"{photo} x {style} {name}: photo_kept {row[name]['photo_kept']:.3f} "
                  f"style_gain {row[name]['style_gain']:.3f} weight {stats.style_weight:.3g}",
                  flush=True)
        if loop is not None:
            budget = row[column(args.loop_at)]["cpu_seconds"]
            pixels, times, calls = loop.run(content, style_pixels, budget)
            row[LOOP] = {**qm.measure(pixels, content, style_pixels), **times,
                         "iterations": calls}
            pictures[LOOP] = pixels
            print(f"{photo} x {style} {LOOP}: photo_kept {row[LOOP]['photo_kept']:.3f} "
                  f"style_gain {row[LOOP]['style_gain']:.3f}", flush=True)
        row["_pictures"] = tuple(pictures[c] for c in columns)
        rows.append(row)
        if args.json:
            quality.write_json(args.json, {"size": args.size, "iterations": args.iterations,
                                           "engine": quality.engine_source(),
                                           "loop_at": args.loop_at,
                                           "summary": summary(rows, judged)}, rows)
        if args.sheet:
            quality.contact_sheet(rows, args.sheet)
    for name, figures in summary(rows, judged).items():
        print(f"{name}: photo_kept {figures['photo_kept']:.3f} (spread "
              f"{figures['photo_kept_spread']:.3f}), style_gain {figures['style_gain']:.3f}")


def summary(rows: list[dict[str, Any]], names: list[str]) -> dict[str, dict[str, float]]:
    """Each strength's mean figures and the spread of its photo_kept across pairs."""
    out = {}
    for name in names:
        kept = [r[name]["photo_kept"] for r in rows]
        out[name] = {"photo_kept": float(np.mean(kept)), "photo_kept_spread": float(np.std(kept)),
                     "style_gain": float(np.mean([r[name]["style_gain"] for r in rows])),
                     "content_edges": float(np.mean([r[name]["content_edges"] for r in rows]))}
    return out


if __name__ == "__main__":
    main()
