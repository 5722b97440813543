"""Progress that tells the truth: the fraction follows time, and an estimate of the time left
appears once a few steps were timed (issue 11)."""

from __future__ import annotations

import time

from pictures import smooth_image

from impasto_daemon.engine import StyleSettings
from impasto_daemon.engine.execution.pace import Pace


def test_reported_fraction_follows_elapsed_time_on_a_multiscale_job(engine, rng):
    reports = []
    settings = StyleSettings(size=256, iterations=20, multiscale=True)  # 128 px, then 256 px
    start = time.monotonic()
    engine.stylize(smooth_image(rng, 192, 256), [smooth_image(rng, 48, 48)], settings,
                   lambda e: reports.append((time.monotonic(), e)))
    end = time.monotonic()
    assert {e.scale for _, e in reports} == {1, 2}
    later = [(t, e) for t, e in reports if e.scale == 2 and e.stage == "optimising"]
    assert later, "no report from the second scale"
    for t, e in later:
        elapsed_share = (t - start) / (end - start)
        assert abs(e.fraction - elapsed_share) <= 0.15, (e.fraction, elapsed_share, e.step)
    assert any(e.eta is not None for _, e in later)
    fractions = [e.fraction for _, e in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_the_fraction_is_the_share_of_time_once_steps_were_timed():
    pace = Pace(costs=[1.0, 4.0], caps=[10, 10])
    assert pace.work == 50 and pace.eta() is None and pace.fraction() == 0.0
    pace.begin_scale(0)
    for step in range(1, 4):
        time.sleep(0.01)
        pace.step(0, step)
    eta = pace.eta()
    assert eta is not None  # 3 steps timed: 3 units took ~0.03 s, 47 units are left
    assert 0.3 < eta < 2.0
    assert abs(pace.fraction() - (1 - eta / (eta + time.monotonic() - pace.started))) < 0.05


def test_a_scale_that_converged_early_shortens_the_estimate_for_the_next():
    pace = Pace(costs=[1.0, 4.0], caps=[100, 100])
    pace.begin_scale(0)
    for step in range(1, 21):
        pace.step(0, step)
    before = pace.remaining_work()
    pace.end_scale(0, converged=True)  # stopped after 20 of 100 steps
    assert pace.expected[1] == 20 and pace.remaining_work() == 4.0 * 20 < before
