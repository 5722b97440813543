"""Impasto's default pictures stay clear of the defects benchmarks/quality.py measures.

The reduced form of the quality harness: real ImageNet VGG16, a 64 px photo, three painted
styles, a few dozen iterations at the default look settings. Each figure (defined in
benchmarks/quality_metrics.py, whose own tests prove it rises on a defective picture) must
stay under a limit measured on the engine of the commit named in MEASURED_ON, with margin; and
the style must still be taken, so that an engine that returns the photo cannot pass.

When the engine gets better, re-measure and tighten the limits:

    python tests/slow/test_quality_defects.py     # prints each pair's figures
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]
import quality_metrics as qm  # noqa: E402
from quality import cover, curve_ahead, load_style, style_at_edges  # noqa: E402
from real_weights import real_vgg16_weights  # noqa: E402, F401  (pytest fixture)

from impasto_daemon.engine import StyleEngine, StyleSettings  # noqa: E402

SIZE = 64
ITERATIONS = 40
MEASURED_ON = "6a43a0a"  # the start in the style's colours; re-measured as the rule below says
# Measured then, one thread (speckle, border_frame, clipped, blotches; style_gain):
# mosaic 0.324, 1.291, 0.010, 0.000; 0.418. star_field 1.276, 1.119, 0.024, 0.000; 0.773.
# swirl 0.186, 0.798, 0.000, 0.000; 0.631.
# (At 9870912, started from the photo's own colours: mosaic 0.321, 0.771, 0.016, 0.000;
# 0.367. star_field 3.348, 1.259, 0.013, 0.192; 0.107. swirl 0.199, 1.202, 0.000, 0.000;
# 0.601. The star field left the cat's light fur grey. The mosaic's frame figure at this size
# moves with the picture: 1.147 on 6a43a0a's draft, which differed only in the order the
# style's colour moments were summed; benchmarks/quality.py at 256 px measures frames better,
# and there they fell, 1.22 -> 1.13 on the mean.)
# (At d6953b7, with the content at relu4_2 and default smoothing: mosaic 0.322, 1.081, 0.011;
# 0.376. star_field 3.357, 1.555, 0.020; 0.127. swirl 0.199, 1.360, 0.000; 0.597.)
# (At ea6687f, which added RangeLoss, before its headroom and the default smoothing: mosaic
# 0.595, 1.524, 0.032; 0.374. star_field 4.262, 1.833, 0.032; 0.125. swirl 0.316, 1.723,
# 0.000; 0.609.)
# (With the mirrored band and before RangeLoss: mosaic 0.417, 1.375, 0.086; 0.364. star_field
# 3.845, 1.782, 0.035; 0.124. swirl 0.271, 1.966, 0.013; 0.591. The range penalty trades some
# speckle for clipping, as benchmarks/quality.py measured at 256 px.)
# (Before the mirrored band, at 555b700: mosaic 0.352, 1.020, 0.075; 0.359. star_field 3.585,
# 2.843, 0.028; 0.150. swirl 0.225, 1.827, 0.007; 0.592. The band is a quarter of a 64 px
# picture's side; at 256 px benchmarks/quality.py measured frames lower on all six pairs.)
# Limits: the ratios x1.3, clipped and blotches +0.02 and x1.3, style_gain x0.7 (a floor:
# style must be taken)
LIMITS = {
    "mosaic": {"speckle": 0.43, "border_frame": 1.68, "clipped": 0.039, "blotches": 0.026,
               "style_gain": 0.29},
    "star_field": {"speckle": 1.66, "border_frame": 1.46, "clipped": 0.058, "blotches": 0.026,
                   "style_gain": 0.54},
    "swirl": {"speckle": 0.25, "border_frame": 1.04, "clipped": 0.026, "blotches": 0.026,
              "style_gain": 0.44},
}


def cat_face() -> np.ndarray:
    """The cat's face from tests/data/chelsea.png, 64 px square."""
    cat = Image.open(ROOT / "tests" / "data" / "chelsea.png").convert("RGB")
    side = min(cat.size)
    left = (cat.width - side) // 2
    face = cat.crop((left, 0, left + side, side))
    return np.asarray(face.resize((SIZE, SIZE), Image.LANCZOS))


def stylise(engine: StyleEngine, style_name: str) -> tuple[dict[str, float], np.ndarray]:
    content = cat_face()
    style = cover(load_style(style_name), SIZE, SIZE)
    settings = StyleSettings(model="vgg16", size=SIZE, iterations=ITERATIONS)
    out, _ = engine.stylize(content, [style], settings)
    return qm.measure(out[..., :3], content, style), out


@pytest.fixture(scope="module")
def real_engine(real_vgg16_weights):  # noqa: F811
    """One thread while these run: at 64 px it is as fast, its figures do not depend on the
    machine's core count, and a loaded machine does not stall it (threads waiting on each
    other made a 2-thread run 3x slower here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield StyleEngine(device="cpu", weights=str(real_vgg16_weights), models=("vgg16",))
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.parametrize("style_name", sorted(LIMITS))
def test_default_pictures_keep_speckle_frames_clipping_and_blotches_down(
    real_engine, style_name: str
) -> None:
    figures, _ = stylise(real_engine, style_name)
    limits = LIMITS[style_name]
    shown = ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
    for name in ("speckle", "border_frame", "clipped", "blotches"):
        assert figures[name] <= limits[name], (
            f"{name} {figures[name]:.3f} above its limit {limits[name]} ({shown})")
    assert figures["style_gain"] >= limits["style_gain"], (
        f"style_gain {figures['style_gain']:.3f} below {limits['style_gain']}: "
        f"the style was not taken ({shown})")


@pytest.mark.slow
def test_the_strength_control_has_a_middle_even_on_a_flat_grey_photo(real_engine):
    """The plug-in's strengths 25 / 50 / 75 (style weights 1 / 10 / 100) on the clock, a flat
    grey photo, under the swirl: with the photo held at relu4_2 the style either left it
    alone or took it over (96 px: style_gain 0.04 at weight 1, 0.59 at 2). Now weight 1 is a
    middle and the curve is monotonic."""
    from quality import load_photo

    content = np.asarray(Image.fromarray(load_photo("clock")).resize((96, 72), Image.LANCZOS))
    style = cover(load_style("swirl"), 72, 96)
    points = []
    for weight in (1.0, 10.0, 100.0):
        settings = StyleSettings(model="vgg16", size=96, iterations=ITERATIONS,
                                 style_weight=weight)
        out, _ = real_engine.stylize(content, [style], settings)
        figures = qm.measure(out[..., :3], content, style)
        points.append((figures["style_gain"], figures["content_edges"]))
    (light_style, light_edges), (mid_style, mid_edges), (strong_style, strong_edges) = points
    assert light_style > 0.15 and light_edges > 0.5, f"strength 25 is no middle: {points}"
    assert light_style < mid_style < strong_style, f"style not rising: {points}"
    assert light_edges > mid_edges > strong_edges, f"edges not falling: {points}"


if __name__ == "__main__":
    from impasto_daemon.weights import anchor

    weights = anchor.anchor_cache_dir() / anchor.OUT_NAME
    if not weights.is_file():
        anchor.import_anchor(weights)
    torch.set_num_threads(1)
    engine = StyleEngine(device="cpu", weights=str(weights), models=("vgg16",))
    for name in sorted(LIMITS):
        figures, out = stylise(engine, name)
        print(name, " ".join(f"{k}={v:.4f}" for k, v in figures.items()))
        if len(sys.argv) > 1:
            Image.fromarray(out[..., :3]).save(Path(sys.argv[1]) / f"defects_{name}.png")


# -- the harness's own plumbing (random weights, fast) ---------------------------------------


def test_default_pairs_cover_every_photo_and_style():
    import quality

    pairs = quality.parse_pairs("default")
    assert {p for p, _ in pairs} == set(quality.PHOTOS)
    assert {s for _, s in pairs} == set(quality.STYLES)
    assert len(quality.parse_pairs("all")) == len(quality.PHOTOS) * len(quality.STYLES)
    with pytest.raises(SystemExit, match="unknown pair 'chelsea:nope'"):
        quality.parse_pairs("chelsea:nope")


def test_set_options_become_typed_style_settings():
    import quality

    s = quality.parse_settings(["tv_weight=0.001", "multiscale=false", "iterations=7"],
                               {"model": "vgg16", "size": 64})
    assert (s.tv_weight, s.multiscale, s.iterations, s.size) == (0.001, False, 7, 64)
    with pytest.raises(SystemExit, match="--set 'colour=red'"):
        quality.parse_settings(["colour=red"], {})


def test_reference_loop_stops_when_its_time_is_spent():
    import quality

    torch.manual_seed(0)
    engine = StyleEngine(device="cpu", weights="random", models=("vgg16",), seed=0)
    features = quality.tutorial_features("vgg16", engine.features_state("vgg16"),
                                         torch.device("cpu"))
    reference = quality.Reference(features)
    content = cat_face()
    style = cover(load_style("swirl"), SIZE, SIZE)
    _, first, calls = reference.run(content, style, budget=0.0)
    assert calls == 1  # the budget is checked from the second evaluation on
    one = first["seconds"]  # setting up plus one evaluation: an upper bound for one more
    image, times, calls = reference.run(content, style, budget=4 * one)
    assert calls >= 3
    assert 4 * one <= times["seconds"] <= 6 * one, (times, one)
    assert image.shape == content.shape and image.dtype == np.uint8


def _curve(*points: tuple[float, float]) -> list[dict[str, float]]:
    """(content_edges, style_gain) points, sorted by edges as run_pair sorts them."""
    return [{"content_edges": e, "style_gain": s} for e, s in sorted(points)]


def test_the_curve_is_read_between_the_two_points_around_the_loops_edges():
    curve = _curve((0.2, 0.7), (0.4, 0.5), (0.8, 0.1))
    assert style_at_edges(curve, 0.3) == pytest.approx(0.6)
    assert style_at_edges(curve, 0.6) == pytest.approx(0.3)
    assert style_at_edges(curve, 0.4) == pytest.approx(0.5)


def test_a_curve_that_never_keeps_that_many_edges_claims_nothing():
    curve = _curve((0.2, 0.7), (0.4, 0.5))
    assert style_at_edges(curve, 0.45) is None  # no extrapolation above the curve ...
    assert style_at_edges(curve, 0.1) is None  # ... nor below it
    assert style_at_edges(_curve((0.3, 0.5)), 0.3) is None  # one point is not a curve


def test_the_curve_is_ahead_when_it_dominates_or_passes_above_the_loops_point():
    curve = _curve((0.2, 0.7), (0.4, 0.5), (0.8, 0.1))

    def loop(edges: float, style: float) -> dict[str, float]:
        return {"content_edges": edges, "style_gain": style}

    assert curve_ahead(curve, loop(0.1, 0.6))  # below the curve's edges, but dominated
    assert curve_ahead(curve, loop(0.3, 0.55))  # read at 0.3 the curve has 0.6
    assert not curve_ahead(curve, loop(0.3, 0.65))  # above the curve
    assert not curve_ahead(curve, loop(0.1, 0.75))  # more style than any point
    assert not curve_ahead(curve, loop(0.9, 0.05))  # more edges than any point
