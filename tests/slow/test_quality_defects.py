"""Impasto's default pictures stay clear of the defects benchmarks/quality.py measures.

The reduced form of the quality harness: real ImageNet VGG16, a 64 px photo, five painted
styles, a few dozen iterations at the default look settings. Each figure (defined in
benchmarks/quality_metrics.py, whose own tests prove it rises on a defective picture) must
stay under a limit measured on the engine of the commit named in MEASURED_ON, with margin; the
style must still be taken, so that an engine that returns the photo cannot pass; and the photo
must still be there (photo_kept), so that an engine that returns the style cannot pass either.
Two of the styles invite exactly that takeover: a dark, mostly empty field and a bright disc on
black (issue 23).

When the engine gets better, re-measure the spread and tighten the limits:

    python tests/slow/test_quality_defects.py --spread   # prints each run and the limits
    python tests/slow/test_quality_defects.py --spread dark_void   # one style (a new one too)

The limits must hold on any x86 CPU: the arithmetic differs between machines (fp32, AVX512-BF16,
AMX bf16) and a few dozen L-BFGS steps amplify each rounding, so one machine's figures are not a
limit. The spread is measured across fp32 and bf16 and across inputs perturbed by one level (the
seed has no effect on a start from the photo), and each limit is set from its worst run.
"""

from __future__ import annotations

import itertools
import os
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
#: the commit whose spread (``--spread``, docs/MEASUREMENTS.md) set LIMITS
MEASURED_ON = "6334dc0"
DEFECTS = ("speckle", "border_frame", "clipped", "blotches")
FLOORS = ("style_gain", "photo_kept")  # the style taken and the photo kept: at least these
#: inputs perturbed by +-1 level with these seeds (0: the photo as it is)
PERTURBATIONS = (0, 1, 2, 3)


def limits_from(runs: list[dict[str, float]]) -> dict[str, float]:
    """The rule: the worst run's ratio figures x1.3, fractions (clipped, blotches) +0.02 then
    x1.3, the style floor at x0.7 of the least style taken (so a photo returned fails) and the
    photo floor at x0.7 of the least photo kept (so a style returned fails)."""
    worst = {k: max(r[k] for r in runs) for k in DEFECTS}
    limits = {k: round(worst[k] * 1.3, 2) for k in ("speckle", "border_frame")}
    limits |= {k: round((worst[k] + 0.02) * 1.3, 3) for k in ("clipped", "blotches")}
    for floor in FLOORS:
        limits[floor] = round(min(r[floor] for r in runs) * 0.7, 2)
    return limits


#: ``limits_from`` the runs of two machines, one thread each: fp32 and AMX bf16 on an Intel Xeon
#: (MEASURED_ON) and fp32 and AVX512-BF16 on an AMD EPYC (2401ddc), since the strength's
#: governor holds the photo (docs/QUALITY.md). On two styles the governor settles on one of two
#: pictures depending on the last bit of the arithmetic, so their limits take in both: on the
#: dark field a dark cat (photo_kept 0.30-0.35, style_gain 0.20-0.25; some of 6334dc0's runs)
#: or a darkened glaze (0.76-0.80, 0.04-0.05, with grey areas the blotch figure counts; every
#: run since 2401ddc), on the star field a starry cat (0.33-0.40, 0.47-0.57) or a light glaze
#: (0.74, 0.20, blotches 0.06; two of the AMD's four bf16 runs).
LIMITS = {
    "dark_void": {"speckle": 2.04, "border_frame": 2.23, "clipped": 0.05, "blotches": 0.557,
                  "style_gain": 0.03, "photo_kept": 0.21},
    "glowing_disc": {"speckle": 1.98, "border_frame": 1.44, "clipped": 0.026, "blotches": 0.031,
                     "style_gain": 0.39, "photo_kept": 0.36},
    "mosaic": {"speckle": 0.46, "border_frame": 1.36, "clipped": 0.054, "blotches": 0.026,
               "style_gain": 0.25, "photo_kept": 0.41},
    "star_field": {"speckle": 2.12, "border_frame": 2.1, "clipped": 0.07, "blotches": 0.104,
                   "style_gain": 0.14, "photo_kept": 0.23},
    "swirl": {"speckle": 0.26, "border_frame": 1.53, "clipped": 0.026, "blotches": 0.026,
              "style_gain": 0.42, "photo_kept": 0.42},
}


def cat_face() -> np.ndarray:
    """The cat's face from tests/data/chelsea.png, 64 px square."""
    cat = Image.open(ROOT / "tests" / "data" / "chelsea.png").convert("RGB")
    side = min(cat.size)
    left = (cat.width - side) // 2
    face = cat.crop((left, 0, left + side, side))
    return np.asarray(face.resize((SIZE, SIZE), Image.LANCZOS))


def perturbed(picture: np.ndarray, seed: int) -> np.ndarray:
    """``picture`` with each value moved by -1, 0 or +1 level (seed 0: unchanged)."""
    if not seed:
        return picture
    noise = np.random.default_rng(seed).integers(-1, 2, picture.shape)
    return np.clip(picture.astype(int) + noise, 0, 255).astype(np.uint8)


def stylise(engine: StyleEngine, style_name: str,
            perturbation: int = 0) -> tuple[dict[str, float], np.ndarray]:
    content = perturbed(cat_face(), perturbation)
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


_DEFAULT_FIGURES: dict[str, dict[str, float]] = {}


def default_figures(engine: StyleEngine, style_name: str) -> dict[str, float]:
    """``stylise``'s figures on the unperturbed photo, once per style for the whole file."""
    if style_name not in _DEFAULT_FIGURES:
        _DEFAULT_FIGURES[style_name] = stylise(engine, style_name)[0]
    return _DEFAULT_FIGURES[style_name]


@pytest.mark.slow
@pytest.mark.parametrize("style_name", sorted(LIMITS))
def test_default_pictures_keep_speckle_frames_clipping_and_blotches_down(
    real_engine, style_name: str
) -> None:
    figures = default_figures(real_engine, style_name)
    limits = LIMITS[style_name]
    shown = ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
    for name in DEFECTS:
        assert figures[name] <= limits[name], (
            f"{name} {figures[name]:.3f} above its limit {limits[name]} ({shown})")
    assert figures["style_gain"] >= limits["style_gain"], (
        f"style_gain {figures['style_gain']:.3f} below {limits['style_gain']}: "
        f"the style was not taken ({shown})")
    assert figures["photo_kept"] >= limits["photo_kept"], (
        f"photo_kept {figures['photo_kept']:.3f} below {limits['photo_kept']}: "
        f"the style took the photo over ({shown})")


#: photo_kept at which the cat's face is still recognisable at 64 px by eye (the swirl's 0.58
#: is; the mosaic's 0.53 barely; before the governor the disc's 0.32, the star field's 0.17 and
#: the dark field's 0.03 were not), and what a style that took over scores (quality_metrics'
#: tests: < 0.15)
RECOGNISABLE = 0.45
#: below RECOGNISABLE at strength 50 on some machines even with the governor (issue 23): each
#: style lands on one of two pictures (LIMITS), one of them under it, so neither mark is strict
STILL_TAKEN = ("star_field", "dark_void")


@pytest.mark.slow
@pytest.mark.parametrize("style_name", [
    pytest.param(name, marks=pytest.mark.xfail(
        strict=False, reason="issue 23: on some machines strength 50 still keeps less "
                             "than a recognisable cat under this style"))
    if name in STILL_TAKEN else name for name in sorted(LIMITS)])
def test_the_photo_stays_recognisable_under_every_style(real_engine, style_name: str) -> None:
    figures = default_figures(real_engine, style_name)
    assert figures["photo_kept"] >= RECOGNISABLE, (
        f"photo_kept {figures['photo_kept']:.3f}: the {style_name} took the cat over")


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


def measure_spread(weights: Path, names: list[str]) -> None:
    """Each style's figures in fp32 and bf16 on perturbed inputs, and the limits they give.
    Each job reads the arithmetic afresh and gets a network laid out for it (engine.py), as a
    daemon started under either would."""
    from impasto_daemon.engine.planning.numerics import ENV_CPU_BF16

    engine = StyleEngine(device="cpu", weights=str(weights), models=("vgg16",))
    for name in names:
        runs = []
        for arithmetic in ("0", "1"):
            os.environ[ENV_CPU_BF16] = arithmetic
            for seed in PERTURBATIONS:
                figures, _ = stylise(engine, name, seed)
                runs.append(figures)
                shown = " ".join(f"{k}={v:.4f}" for k, v in figures.items())
                print(f"{name} bf16={arithmetic} perturbation={seed} {shown}", flush=True)
        print(f"{name} limits {limits_from(runs)}", flush=True)


if __name__ == "__main__":
    from impasto_daemon.weights import anchor

    weights = anchor.anchor_cache_dir() / anchor.OUT_NAME
    if not weights.is_file():
        anchor.import_anchor(weights)
    torch.set_num_threads(1)
    if "--spread" in sys.argv:  # --spread [STYLE ...]: those styles only
        measure_spread(weights, sys.argv[sys.argv.index("--spread") + 1:] or sorted(LIMITS))
    else:
        engine = StyleEngine(device="cpu", weights=str(weights), models=("vgg16",))
        for name in sorted(LIMITS):
            figures, out = stylise(engine, name)
            print(name, " ".join(f"{k}={v:.4f}" for k, v in figures.items()))
            if len(sys.argv) > 1:
                Image.fromarray(out[..., :3]).save(Path(sys.argv[1]) / f"defects_{name}.png")


# -- the harness's own plumbing (random weights, fast) ---------------------------------------


@pytest.mark.parametrize("style_name", sorted(LIMITS))
def test_an_engine_that_returns_the_style_fails_the_photo_kept_limit(style_name: str) -> None:
    content = cat_face()
    style = cover(load_style(style_name), SIZE, SIZE)
    returned = qm.measure(style, content, style)
    assert returned["photo_kept"] < LIMITS[style_name]["photo_kept"], returned
    assert qm.measure(content, content, style)["photo_kept"] >= LIMITS[style_name]["photo_kept"]


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
    ticks = itertools.count()  # a fake clock: each reading is one second after the last
    reference = quality.Reference(features, timer=lambda: float(next(ticks)))
    content = cat_face()
    style = cover(load_style("swirl"), SIZE, SIZE)
    _, _, calls = reference.run(content, style, budget=0.0)
    assert calls == 1  # the budget is checked from the second evaluation on
    # read at the start (0) and at evaluations 2, 3, 4 (1, 2, 3 s): the fifth, at 4 s, ends it
    image, _, calls = reference.run(content, style, budget=4.0)
    assert calls == 4
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
