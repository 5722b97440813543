"""The strength: the governor's rule on its own, then a run that it steers (tiny images, random
weights; the quality on real pictures is measured by benchmarks/quality_wide.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pictures import smooth_image

from impasto_daemon.engine import StyleSettings
from impasto_daemon.engine.execution import run as run_module
from impasto_daemon.engine.optimisation.loop import optimise
from impasto_daemon.engine.strength import governor as g
from impasto_daemon.engine.strength.photo_kept import photo_kept


def test_a_strength_asks_a_share_of_the_photo_from_a_glaze_to_a_takeover():
    targets = [g.kept_target(s) for s in (0, 25, 50, 75, 100)]
    assert targets == sorted(targets, reverse=True)
    assert targets[0] == pytest.approx(g.KEEP_AT_0) and targets[-1] == pytest.approx(
        g.KEEP_AT_100)
    assert g.first_weight(0) < g.first_weight(50) == g.FIRST_WEIGHT < g.first_weight(100)


def test_a_picture_that_lost_too_much_of_the_photo_gets_a_lighter_weight():
    gov = g.Governor(50)
    start = gov.weight
    assert gov.retune(gov.target - 0.3, settled=False) == "lighter"
    assert gov.weight < start / 2  # 0.3 below: more than two typical falls
    assert gov.history == [(gov.target - 0.3, gov.weight)]


def test_keeping_too_much_raises_the_weight_only_once_the_scale_has_settled():
    gov = g.Governor(50)
    start = gov.weight
    assert not gov.retune(gov.target + 0.3, settled=False)  # still on its way: leave it
    assert gov.weight == start
    assert gov.retune(gov.target + 0.3, settled=True) == "heavier"
    assert gov.weight > start * 2


def test_turning_back_goes_at_most_half_as_far():
    gov = g.Governor(50)
    gov.retune(0.0, settled=False)  # far below: the largest move
    down = gov.weight
    assert down == pytest.approx(g.FIRST_WEIGHT * 2 ** -g.MAX_DOUBLINGS)
    gov.retune(1.0, settled=True)  # far above: back up, but only half way
    assert gov.weight == pytest.approx(down * 2 ** (g.MAX_DOUBLINGS / 2))


def test_inside_the_band_nothing_moves():
    gov = g.Governor(50)
    for kept in (gov.target - g.BAND * 0.9, gov.target + g.BAND * 0.9):
        assert not gov.retune(kept, settled=True)
    assert gov.history == []


def test_a_scale_makes_at_most_max_changes_and_the_weight_stays_in_range():
    gov = g.Governor(50)
    for _ in range(g.MAX_CHANGES + 2):
        gov.retune(gov.target - 0.1, settled=False)  # a little too much taken, every time
    assert len(gov.history) == g.MAX_CHANGES
    for _ in range(20):
        gov.begin_scale()
        gov.retune(0.0, settled=False)
    assert gov.weight == g.WEIGHT_RANGE[0]
    assert not gov.retune(0.0, settled=False)  # at the bottom of the range: no further


def test_the_weight_rises_at_most_a_decade_above_where_it_started():
    """Past it the style takes no more and only erases the photo (camera x autumn: weight 200
    kept photo_kept 0.53 with the cameraman gone by eye)."""
    gov = g.Governor(50)
    for _ in range(20):
        gov.begin_scale()
        gov.retune(1.0, settled=True)  # keeps everything: ever heavier
    assert gov.weight == pytest.approx(g.FIRST_WEIGHT * g.MAX_RISE) == gov.ceiling
    assert not gov.retune(1.0, settled=True)


def test_a_finer_scale_only_guards_against_losing_more_than_its_start_kept():
    gov = g.Governor(50)
    gov.begin_scale(start_kept=gov.target - 0.2)  # the coarser scale already lost that much
    assert not gov.took_too_much(gov.target - 0.2)  # a lighter weight would not bring it back
    assert gov.retune(gov.target - 0.2, settled=False) is None
    assert gov.took_too_much(gov.target - 0.25)  # but the photo must not be lost further
    gov.begin_scale()  # the coarsest: held to the band itself
    assert gov.took_too_much(gov.target - 0.2)


def test_a_stretch_ends_as_soon_as_the_style_took_more_than_the_strength_allows():
    gov = g.Governor(50)
    assert gov.took_too_much(gov.target - 2 * g.BAND)
    assert not gov.took_too_much(gov.target - g.BAND / 2)
    for _ in range(g.MAX_CHANGES):
        gov.retune(0.0, settled=False)
    assert not gov.took_too_much(0.0)  # no change left at this scale: it runs to its end


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_a_stop_rule_ends_the_optimisation_after_the_step_it_names(optimizer):
    target = torch.rand(1, 3, 8, 8)

    class Objective:
        def backward(self, image, autocast=False):
            loss = (image - target).pow(2).sum()
            loss.backward()
            from impasto_daemon.engine.objective.whole import LossParts
            zero = loss.new_zeros(())
            return LossParts(loss, loss, zero, zero)

    asked = []

    def until(steps, image):
        asked.append(steps)
        return steps == 3

    _, outcome = optimise(torch.zeros(1, 3, 8, 8), Objective(), 20, optimizer,
                          learning_rate=0.05, until=until)
    assert outcome.steps == 3 and not outcome.converged
    assert asked[-1] == 3 and asked == sorted(asked)


def test_a_given_style_weight_is_used_as_it_is(engine, rng):
    content, style = smooth_image(rng, 40, 40), smooth_image(rng, 40, 40)
    _, stats = engine.stylize(content, [style], StyleSettings(size=40, iterations=8,
                                                              multiscale=False, style_weight=3.0))
    assert stats.style_weight == 3.0 and stats.weight_changes == []
    assert stats.kept_asked is None and stats.photo_kept is None  # no strength, nothing asked


def test_the_run_follows_the_governor_and_reports_steps_in_order(engine, rng, monkeypatch):
    """A scripted reading of the photo: the first stretch takes too much, the weight is
    lowered, and the scale goes on from where it was within its own step cap."""
    readings = iter([0.9, 0.1, 0.1] + [0.5] * 100)  # step 10, step 20, its result, ...
    monkeypatch.setattr(run_module.Photo, "kept_by", lambda photo, picture: next(readings))
    events = []
    settings = StyleSettings(size=40, iterations=40, multiscale=False, tolerance=0)
    _, stats = engine.stylize(smooth_image(rng, 40, 40), [smooth_image(rng, 40, 40)], settings,
                              events.append)
    assert [kept for kept, _ in stats.weight_changes] == [0.1]
    assert stats.style_weight < g.FIRST_WEIGHT
    assert (stats.photo_kept, stats.kept_asked) == (0.5, g.kept_target(50))  # the last reading
    assert stats.iterations <= 40
    steps = [e.step for e in events if e.stage == "optimising"]
    assert steps == sorted(steps) and steps[-1] == stats.iterations


def test_strength_moves_the_picture_from_the_photo_toward_the_style(engine, rng):
    content, style = smooth_image(rng, 48, 48), smooth_image(rng, 48, 48)
    kept = {}
    for strength in (0, 100):
        out, stats = engine.stylize(content, [style], StyleSettings(
            size=48, iterations=30, multiscale=False, strength=strength))
        kept[strength] = photo_kept(out[..., :3].astype(np.float64), content[..., :3])
        assert stats.style_weight > 0
        # what the run reports is what the finished picture keeps (read before its rounding)
        assert stats.photo_kept == pytest.approx(kept[strength], abs=0.03)
    assert kept[0] > kept[100]
