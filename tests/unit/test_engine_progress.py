"""Progress that tells the truth, on an injected clock (no wall time, so no load, matters):
the fraction follows time, never goes back and stays below 1 until the job is done; the time
left is offered only once it is within a factor of two and grows honestly when a scale runs
past what was expected of it (issues 11 and 22)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from fake_clock import FakeClock
from pictures import smooth_image

from impasto_daemon.engine import RunControls, StyleSettings
from impasto_daemon.engine.execution.pace import Pace
from impasto_daemon.engine.execution.reporter import BEFORE_DONE, Reporter
from impasto_daemon.engine.objective.whole import LossParts
from impasto_daemon.engine.optimisation.loop import _Track
from impasto_daemon.engine.planning.plan import plan_job

DEFAULT = StyleSettings(size=512)  # three scales: caps 450, 450, 300 steps


def power_curve(converge_at: int):
    """A loss whose relative fall over the convergence window drops below the default
    tolerance (0.01) near step ``converge_at``: L = (k + 10)^-p."""
    power = (converge_at + 10) / 1000
    return lambda k: (k + 10) ** -power


def second_descent(knee: int, converge_at: int):
    """A loss that levels off as if to stop near ``knee`` + 20, then falls again from ``knee``
    and stops near ``converge_at``: a scale that converges late."""
    first = power_curve(knee + 20)
    power = (converge_at - knee + 10) / 1000
    return lambda k: first(k) if k < knee else first(knee) * ((k - knee + 10) / 10) ** -power


@dataclass
class Event:
    time: float
    fraction: float
    eta: float | None
    scale: int
    step: int


def simulate(curves, seconds_per_work=lambda elapsed: 1e-6, settings=DEFAULT):
    """Drive a Reporter as a run of ``settings``' plan would, scale by scale, each scale's
    loss following its curve and stopped by the optimiser's own convergence rule; each step
    takes its cost (planning.plan.step_cost) times ``seconds_per_work(elapsed)``."""
    clock = FakeClock()
    events: list[tuple[float, object]] = []
    plan = plan_job([(512, 512)], settings, 2**36, torch.device("cpu"))
    reporter = Reporter(plan, 1, settings.tolerance, RunControls(
        lambda e: events.append((clock.now, e)), clock=clock))
    batch = plan.batches[0]
    reporter.begin_batch(0)
    costs = batch.step_costs()
    start = clock.now
    for index, (scale, curve) in enumerate(zip(batch.scales, curves), start=1):
        reporter.targets(index)
        clock.now += 0.5
        reporter.begin_scale(index)
        track = _Track(None, settings.tolerance)
        done = 0
        while done < scale.steps:
            clock.now += costs[index - 1] * seconds_per_work(clock.now - start)
            loss = torch.tensor(curve(done + 1))
            track.record(LossParts(loss, loss, loss, loss), torch.zeros(1), keep_best=True)
            done += 1
            reporter.step(index, done, LossParts(loss, loss, loss, loss), torch.zeros(1))
            if track.end_step(track.best_loss):
                break
        reporter.end_scale(index, done, track.converged, torch.zeros(1))
    reporter.finishing()
    end = clock.now
    return [Event(t, e.fraction, e.eta, e.scale, e.step) for t, e in events], start, end


def check_common(events, start, end, first_within=2.0):
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions), "the bar went back"
    assert all(f <= BEFORE_DONE for f in fractions[:-1]), "100 % before the job ended"
    assert fractions[-1] == 1.0
    shown = [e for e in events if e.eta is not None]
    assert shown, "no estimate of the time left at all"
    first = shown[0]
    remaining = end - first.time
    assert remaining / first_within <= first.eta <= first_within * remaining, (first, remaining)
    # once offered, never withdrawn
    assert all(e.eta is not None for e in events[events.index(first):])
    return shown


def test_a_job_whose_scales_converge_early():
    events, start, end = simulate([power_curve(60), power_curve(45), power_curve(35)])
    check_common(events, start, end)


def test_a_job_whose_last_scale_converges_late():
    """The last scale takes twice the steps of the one before: once its own curve can be
    read (a few windows in), the estimate is within a factor of two, never "a few seconds"."""
    events, start, end = simulate([power_curve(120), power_curve(110), power_curve(250)])
    shown = check_common(events, start, end)
    readable = [e for e in shown if e.scale == 3 and e.step >= 30 and e.time < end]
    assert readable
    for e in readable:
        assert (end - e.time) / 2 <= e.eta <= 2 * (end - e.time), (e, end - e.time)


def test_the_estimate_grows_when_a_scale_runs_past_what_was_expected():
    """The last scale levels off as if to stop near 100 steps, then falls again (and stops
    near 230): the estimate grows at once instead of promising one more step."""
    events, start, end = simulate([power_curve(100), power_curve(100), second_descent(80, 230)])
    shown = check_common(events, start, end, first_within=2.5)  # nothing foretold the second fall
    last = [e for e in shown if e.scale == 3]
    before = [e.eta for e in last if 70 <= e.step <= 80]
    after = [e.eta for e in last if 86 <= e.step <= 90]
    assert before and after and min(after) > 2 * max(before), (before, after)
    assert all(e.eta > 0.1 * (end - e.time) for e in last if e.step > 85 and e.time < end)


def test_a_flat_stretch_does_not_promise_the_whole_cap():
    """One scale with a cap of 4000 steps whose curve flattens near step 80 and then falls
    again (it stops near 230): while the curve cannot tell, the estimate grows with the steps
    taken instead of jumping to all 4000 (a GIMP preview showed 34 s, then 1568 s, then 20 s)."""
    settings = StyleSettings(size=128, iterations=4000, multiscale=False)
    events, start, end = simulate([second_descent(80, 230)], settings=settings)
    shown = check_common(events, start, end, first_within=2.5)
    flat = [(e, end - e.time) for e in shown if 86 <= e.step <= 150 and e.time < end]
    assert flat and all(left / 3 <= e.eta <= 3 * left for e, left in flat), flat[:3]


def test_a_machine_that_slows_down_half_way():
    curves = [power_curve(150), power_curve(150), power_curve(200)]
    _, start, end = simulate(curves)
    half = (end - start) / 2
    events, start, end = simulate(curves, lambda elapsed: 1e-6 if elapsed < half else 2e-6)
    shown = check_common(events, start, end)
    later = [e for e in shown if e.time - start > half + 0.2 * (end - start - half)]
    late = [(e, end - e.time) for e in later if e.time < end]
    assert late and all(left / 2 <= e.eta <= 2 * left for e, left in late), [
        (e, left) for e, left in late if not left / 2 <= e.eta <= 2 * left][:3]


def test_the_fraction_is_the_share_of_time_once_steps_were_timed():
    clock = FakeClock()
    pace = Pace(costs=[1.0, 4.0], caps=[10, 10], clock=clock)
    assert pace.work == 50 and pace.eta() is None and pace.fraction() == 0.0
    pace.begin_scale(0)
    for step in range(1, 6):
        clock.now += 0.01
        pace.step(0, step)
    # 5 units took 0.05 s; 45 are left at that rate, and 0.05 s of 0.5 s are behind us
    assert math.isclose(pace.remaining_work(), 45)
    assert math.isclose(pace.fraction(), 0.05 / 0.5)


def test_a_scale_that_converged_early_shortens_the_estimate_for_the_next():
    pace = Pace(costs=[1.0, 4.0], caps=[100, 100], clock=FakeClock())
    pace.begin_scale(0)
    for step in range(1, 21):
        pace.step(0, step)
    before = pace.remaining_work()
    pace.end_scale(0, converged=True)  # stopped after 20 of 100 steps
    assert pace.prior[1] == 20 and pace.remaining_work() == 4.0 * 20 < before


def test_a_real_multiscale_job_reports_every_scale_and_ends_at_one(engine, rng):
    """The engine's own events, timed by a clock that advances one second per reading: the
    fraction never goes back and reaches 1 only with the last event."""
    reports = []
    ticks = iter(range(10**6))
    settings = StyleSettings(size=256, iterations=20, multiscale=True)  # 128 px, then 256 px
    engine.stylize(smooth_image(rng, 192, 256), [smooth_image(rng, 48, 48)], settings,
                   RunControls(reports.append, clock=lambda: float(next(ticks))))
    assert {e.scale for e in reports} == {1, 2}
    fractions = [e.fraction for e in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(f <= BEFORE_DONE for f in fractions[:-1])
    assert reports[-1].stage == "finishing" and reports[-1].loss > 0
