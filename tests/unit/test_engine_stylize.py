"""End-to-end behaviour of StyleEngine.stylize on tiny images with random weights."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from pictures import smooth_image

from impasto_daemon.engine import RunControls, StyleCancelled, StyleDiverged, StyleSettings
from impasto_daemon.engine.execution.color import rgb_to_yiq
from impasto_daemon.engine.planning.plan import plan_scales, process_size, steps_per_scale

FAST = dict(size=48, iterations=6, multiscale=False)


def test_output_is_rgba_at_content_size_with_alpha_untouched(engine, rng):
    content = smooth_image(rng, 37, 53, 4)
    content[..., 3] = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    out, stats = engine.stylize(content, [smooth_image(rng, 40, 40)], StyleSettings(**FAST))
    assert out.shape == (37, 53, 4) and out.dtype == np.uint8
    assert np.array_equal(out[..., 3], content[..., 3])
    assert not np.array_equal(out[..., :3], content[..., :3])
    # the evaluation cap (optimize.EVALS_PER_STEP) may cut the last of the 6 steps short
    assert 5 <= stats.iterations <= 6 and stats.device == "cpu" and "RANDOM" in stats.weights


def test_same_seed_same_picture_other_seed_differs(engine, rng):
    content, style = smooth_image(rng, 32, 32), smooth_image(rng, 32, 32)
    settings = StyleSettings(**FAST, init="noise", seed=7)
    a, _ = engine.stylize(content, [style], settings)
    b, _ = engine.stylize(content, [style], settings)
    c, _ = engine.stylize(content, [style], StyleSettings(**FAST, init="noise", seed=8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_loss_falls_and_progress_reports_every_iteration(engine, rng):
    events = []
    settings = StyleSettings(**FAST)
    engine.stylize(smooth_image(rng, 32, 32), [smooth_image(rng, 32, 32)], settings, events.append)
    steps = [e for e in events if e.stage == "optimising"]
    counts = [e.step for e in steps]  # steps done; a line search may evaluate a step twice
    done = counts[-1]  # 6, or 5 where the evaluation cap cut the last step short
    assert counts == sorted(counts) and set(range(1, done + 1)) <= set(counts) and done >= 5
    assert steps[-1].loss < steps[0].loss
    assert events[0].stage == "targets" and events[-1].stage == "finishing"
    assert all(e.steps == 6 for e in events)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_cancel_stops_within_one_iteration(engine, rng, optimizer):
    cancel = threading.Event()
    seen = []

    def on_progress(p):
        seen.append(p.step)
        if p.step == 2:
            cancel.set()

    settings = StyleSettings(size=48, iterations=50, optimizer=optimizer, multiscale=False)
    with pytest.raises(StyleCancelled):
        engine.stylize(smooth_image(rng, 32, 32), [smooth_image(rng, 32, 32)], settings,
                       RunControls(on_progress, cancel))
    assert max(seen) == 2


def test_blend_weights_move_the_result_between_styles(engine, rng):
    content = smooth_image(rng, 32, 32)
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 230
    blue = np.zeros((32, 32, 3), np.uint8)
    blue[..., 2] = 230
    base = dict(FAST, iterations=15, style_weight=1e6)

    def mean_rgb(blend):
        out, _ = engine.stylize(content, [red, blue], StyleSettings(**base, style_blend=blend))
        return out[..., :3].reshape(-1, 3).mean(0)

    mostly_red, mostly_blue = mean_rgb((0.9, 0.1)), mean_rgb((0.1, 0.9))
    assert mostly_red[0] - mostly_red[2] > mostly_blue[0] - mostly_blue[2]
    with pytest.raises(ValueError, match="2 style images"):
        engine.stylize(content, [red, blue], StyleSettings(**FAST, style_blend=(1.0,)))


def test_preserve_colors_keeps_content_chroma(engine, rng):
    content = smooth_image(rng, 32, 32)
    style = np.zeros((32, 32, 3), np.uint8)
    style[..., 1] = rng.integers(0, 255, (32, 32))  # green noise
    settings = StyleSettings(**dict(FAST, style_weight=1e6), preserve_colors=True)
    out, _ = engine.stylize(content, [style], settings)
    plain, _ = engine.stylize(content, [style], StyleSettings(**dict(FAST, style_weight=1e6)))

    def chroma(a):
        return rgb_to_yiq(torch.from_numpy(a[..., :3]).permute(2, 0, 1)[None].float() / 255)[:, 1:]

    kept = (chroma(out) - chroma(content)).abs().mean().item()
    lost = (chroma(plain) - chroma(content)).abs().mean().item()
    assert kept < 0.01  # rounding to uint8 and clipping only
    assert lost > 3 * kept
    luma = rgb_to_yiq(torch.from_numpy(out[..., :3]).permute(2, 0, 1)[None].float() / 255)[:, 0]
    luma_c = rgb_to_yiq(torch.from_numpy(content).permute(2, 0, 1)[None].float() / 255)[:, 0]
    assert (luma - luma_c).abs().mean() > 0.005  # the style still changed the luminance


@pytest.mark.parametrize("shape", [(1, 1, 4), (3, 5, 2), (7, 61, 1), (33, 17, 3)])
def test_odd_tiny_and_grey_inputs(engine, rng, shape):
    content = rng.integers(0, 256, shape, dtype=np.uint8)
    out, _ = engine.stylize(content, [smooth_image(rng, 20, 20)], StyleSettings(**FAST))
    assert out.shape == shape[:2] + (4,)
    if shape[2] in (2, 4):
        assert np.array_equal(out[..., 3], content[..., -1])
    else:
        assert (out[..., 3] == 255).all()


def test_greyscale_style_image(engine, rng):
    out, _ = engine.stylize(smooth_image(rng, 24, 24), [smooth_image(rng, 24, 24, 1)],
                            StyleSettings(**FAST))
    assert out.shape == (24, 24, 4)


def test_divergence_is_an_error_not_a_black_image(engine, rng):
    huge = 3.4e38  # near float32's maximum: any loss above 1 overflows to infinity
    settings = StyleSettings(**FAST, init="noise", style_weight=huge, content_weight=huge,
                             tv_weight=huge)
    with pytest.raises(StyleDiverged, match="NaN|infinite"):
        engine.stylize(smooth_image(rng, 32, 32), [smooth_image(rng, 32, 32)], settings)


def test_smoothing_is_measured_against_the_style_so_a_glaze_keeps_the_photo_sharp(engine, rng):
    content, style = smooth_image(rng, 32, 32), smooth_image(rng, 32, 32, 1)

    def run(**look: float) -> np.ndarray:
        out, _ = engine.stylize(content, [style], StyleSettings(**FAST, **look))
        return out[..., :3].astype(np.float64)

    def variation(pixels: np.ndarray) -> float:
        return float(sum(np.abs(np.diff(pixels, axis=a)).mean() for a in (0, 1)))

    # no style, no smoothing: tv_weight is per unit of style weight
    unstyled = run(style_weight=0.0, tv_weight=0.0)
    assert np.array_equal(run(style_weight=0.0, tv_weight=5.0), unstyled)
    rough, smooth = variation(run(tv_weight=0.0)), variation(run(tv_weight=500.0))
    assert smooth < 0.8 * rough


def test_multiscale_plan_and_progress(engine, rng):
    assert plan_scales(512, 384, True) == [(128, 96), (256, 192), (512, 384)]
    assert plan_scales(200, 100, True) == [(200, 100)]
    assert steps_per_scale(100, 3) == [150, 150, 100]
    assert process_size(4000, 3000, 512) == (512, 384)
    assert process_size(100, 50, 512) == (100, 50)  # never upscaled beyond the layer
    assert process_size(2, 200, None) == (16, 200)  # a thin side is stretched, alone
    assert process_size(1, 4000, None) == (16, 4000)  # not 16 x 64000 (was "out of memory")
    events = []
    settings = StyleSettings(size=256, iterations=2, multiscale=True)
    out, stats = engine.stylize(smooth_image(rng, 64, 256), [smooth_image(rng, 32, 32)], settings,
                                events.append)
    assert stats.sizes == [(32, 128), (64, 256)]
    # Step caps: 3 at the coarse scale (1.5x), 2 at the finest; a line search may spend the
    # evaluation cap (1.25 per step) before the last step, never more.
    assert {e.scale for e in events} == {1, 2} and 2 <= stats.iterations <= 5
    assert out.shape == (64, 256, 4)


def test_a_finer_scale_starts_with_the_contents_detail_as_the_weights_ask(engine, rng):
    """Coarse to fine from the content: a finer scale starts from the coarser result enlarged
    plus the content's finer detail, in the content's share of the weights. With no steps at
    all, then, no style keeps the photo itself (the engine used to return the coarsest
    scale's blurred enlargement), and a stronger style keeps less of its detail."""
    content = (rng.random((64, 256, 3)) * 255).astype(np.uint8)  # detail at every pixel
    style = smooth_image(rng, 32, 32)
    lost = {}
    for weight in (0.0, 2.0, 20.0):
        settings = StyleSettings(size=256, iterations=0, multiscale=True, style_weight=weight)
        out, stats = engine.stylize(content, [style], settings)
        assert stats.sizes == [(32, 128), (64, 256)]
        lost[weight] = np.abs(out[..., :3].astype(float) - content).mean()
    assert lost[0.0] < 0.5
    assert 5 < lost[2.0] < lost[20.0]


def test_the_start_takes_the_styles_colours_in_the_styles_share_of_the_weights(engine, rng):
    """With no steps the picture is its start: the photo with each channel's mean and spread
    moved toward the style's by style / (content + style), its shapes where they were. Started
    from the photo's own colours, a light photo under a dark style met it half way in large
    grey patches (benchmarks/quality.py's blotches)."""
    content = smooth_image(rng, 48, 48) / 255
    dark = smooth_image(rng, 40, 40) / 255 * 0.3 + 0.1
    photo = (content * 255).round().astype(np.uint8)
    for weight, share in ((0.0, 0.0), (1.0, 0.5), (1e6, 1.0)):
        settings = StyleSettings(size=48, iterations=0, multiscale=False, style_weight=weight)
        out = engine.stylize(photo, [(dark * 255).round().astype(np.uint8)], settings)[0]
        out = out[..., :3] / 255
        for name, stat in (("mean", np.mean), ("spread", np.std)):
            wanted = (1 - share) * stat(content, (0, 1)) + share * stat(dark, (0, 1))
            assert np.abs(stat(out, (0, 1)) - wanted).max() < 0.01, (weight, name)
        for ch in range(3):
            assert np.corrcoef(out[..., ch].ravel(), content[..., ch].ravel())[0, 1] > 0.99


def test_blended_styles_give_the_start_their_mixtures_colours(engine, rng):
    """Two styles blended equally: the start's colours are those of both styles' pixels
    pooled (their moments averaged, as their Grams are), not of either one."""
    photo = smooth_image(rng, 48, 48)
    dark = np.full((32, 32, 3), 60, np.uint8)
    light = np.full((32, 32, 3), 180, np.uint8)
    settings = StyleSettings(size=48, iterations=0, multiscale=False, style_weight=1e6)
    out = engine.stylize(photo, [dark, light], settings)[0][..., :3].astype(float)
    # pooled: mean 120, spread 60 (half the pixels at 60, half at 180)
    assert np.abs(out.mean((0, 1)) - 120).max() < 3
    assert np.abs(out.std((0, 1)) - 60).max() < 3


def test_style_targets_are_cached_across_jobs(engine, rng):
    content, style = smooth_image(rng, 32, 32), smooth_image(rng, 30, 30)
    settings = StyleSettings(**dict(FAST, iterations=1))
    _, first = engine.stylize(content, [style], settings)
    _, second = engine.stylize(content, [style], settings)
    assert first.target_cache_hits == 0 and second.target_cache_hits == 1


def test_init_from_style_and_noise_differ_from_content_init(engine, rng):
    content, style = smooth_image(rng, 32, 32), smooth_image(rng, 32, 32)
    one_step = dict(FAST, iterations=1)
    outs = {
        init: engine.stylize(content, [style], StyleSettings(**one_step, init=init))[0]
        for init in ("content", "noise", "style")
    }
    assert not np.array_equal(outs["content"], outs["noise"])
    assert not np.array_equal(outs["content"], outs["style"])


def test_preview_is_small_and_only_when_asked(engine, rng):
    events = []
    engine.stylize(smooth_image(rng, 40, 60), [smooth_image(rng, 32, 32)],
                   StyleSettings(**FAST), RunControls(events.append, preview_interval=0.0))
    previews = [e.preview for e in events if e.preview is not None]
    assert previews and previews[-1].shape == (32, 48, 3)


def test_settings_validation_messages():
    with pytest.raises(ValueError, match="model must be one of"):
        StyleSettings(model="resnet")
    with pytest.raises(ValueError, match="unknown setting"):
        StyleSettings.from_dict({"colour": 1})
    with pytest.raises(ValueError, match="iterations"):
        StyleSettings.from_dict({"iterations": "many"})
    round_trip = StyleSettings.from_dict(StyleSettings(style_blend=(1, 2)).to_dict())
    assert round_trip.style_blend == (1, 2)
    assert StyleSettings(size=0).size is None


def test_preview_frames_have_the_size_the_request_asked_for(engine, rng):
    """The plug-in asks for 256 px previews; they used to arrive at 128 px whatever was asked."""
    frames = []
    engine.stylize(smooth_image(rng, 48, 64), [smooth_image(rng, 32, 32)], StyleSettings(**FAST),
                   RunControls(lambda e: e.preview is not None and frames.append(e.preview.shape),
                               preview_interval=0.0, preview_size=40))
    assert frames and all(max(h, w) == 40 for h, w, _ in frames)
