"""Several layers in one request: same-size layers are optimised together as one batch."""

from __future__ import annotations

import numpy as np
import torch
from pictures import smooth_image

from impasto_daemon.engine import RunControls, StyleSettings
from impasto_daemon.engine.objective.whole import StyleObjective, content_features, style_grams
from impasto_daemon.engine.pixels import split_pixels
from impasto_daemon.engine.vgg import CONTENT_LAYER, STYLE_LAYERS

SETTINGS = StyleSettings(size=48, iterations=12, multiscale=False, optimizer="adam",
                         style_weight=10.0,
                         learning_rate=0.03)


def whole_loss(engine, content: np.ndarray, style: np.ndarray, result: np.ndarray) -> float:
    """The Gatys loss of one finished layer, measured the same way for every result."""
    net = engine.network("vgg19", "avg")
    c = split_pixels(content).rgb
    objective = StyleObjective(net, CONTENT_LAYER, content_features(net, c, CONTENT_LAYER),
                               style_grams(net, split_pixels(style).rgb, STYLE_LAYERS),
                               1.0, SETTINGS.style_weight, 0.0)
    with torch.no_grad():
        return float(objective(split_pixels(result).rgb).total)


def test_same_size_layers_share_a_batch_with_the_quality_of_one_at_a_time(engine, rng):
    contents = [smooth_image(rng, 40, 48, 4) for _ in range(3)]
    style = smooth_image(rng, 48, 48)
    together = engine.stylize_many(contents, [style], SETTINGS)
    alone = engine.stylize_many(contents, [style], SETTINGS, batch=False)
    assert [st.batch for _, st in together] == [3, 3, 3]
    assert [st.batch for _, st in alone] == [1, 1, 1]
    for content, (a, _), (b, _) in zip(contents, together, alone):
        assert np.array_equal(a[..., 3], content[..., 3])
        # Adam scales each pixel's step by its own gradient history, so batching changes little
        # beyond rounding (and Adam's epsilon); the losses of the two results agree closely.
        la, lb = whole_loss(engine, content, style, a), whole_loss(engine, content, style, b)
        assert abs(la - lb) <= 0.05 * lb
        assert np.abs(a.astype(int) - b.astype(int)).mean() <= 1.0  # grey levels


def test_lbfgs_batch_reaches_comparable_loss(engine, rng):
    contents = [smooth_image(rng, 32, 32) for _ in range(2)]
    style = smooth_image(rng, 32, 32)
    # the weight fixed, as whole_loss measures: with a strength the governor would choose one
    # weight for the batch (the layers' mean photo_kept) and one for each layer alone
    settings = StyleSettings(size=32, iterations=15, multiscale=False,
                             style_weight=SETTINGS.style_weight)
    together = engine.stylize_many(contents, [style], settings)
    alone = engine.stylize_many(contents, [style], settings, batch=False)
    start = [whole_loss(engine, c, style, np.dstack([c, np.full(c.shape[:2], 255, np.uint8)]))
             for c in contents]
    for i, c in enumerate(contents):
        la = whole_loss(engine, c, style, together[i][0])
        lb = whole_loss(engine, c, style, alone[i][0])
        assert la < 0.5 * start[i] and la <= 1.5 * lb


def test_batches_group_by_size_and_respect_memory(engine, rng):
    a, b = smooth_image(rng, 40, 48), smooth_image(rng, 30, 30)
    big = 64 * 2**30
    members = lambda plan: [list(b.members) for b in plan.batches]  # noqa: E731
    assert members(engine.plan([a.shape[:2], b.shape[:2], a.shape[:2], a.shape[:2]], SETTINGS,
                               big)) == [[0, 2, 3], [1]]
    from impasto_daemon.engine import memory_model
    from impasto_daemon.engine.vgg import seen_pixels

    autocast = engine.plan([a.shape[:2]], SETTINGS, big).autocast
    one_layer = memory_model.budget_for(seen_pixels(40, 48), "vgg19", "adam", autocast,
                                        engine.device)
    one_layer += 3 * memory_model.host_bytes(40, 48, 1)  # Adam keeps no history: 1
    assert members(engine.plan([a.shape[:2]] * 3, SETTINGS, one_layer)) == [[0], [1], [2]]


def test_progress_names_the_first_layer_of_each_batch(engine, rng):
    contents = [smooth_image(rng, 24, 24), smooth_image(rng, 30, 20), smooth_image(rng, 24, 24)]
    seen = set()
    engine.stylize_many(contents, [smooth_image(rng, 24, 24)],
                        StyleSettings(size=32, iterations=2, multiscale=False),
                        RunControls(progress=lambda p: seen.add((p.layer, p.batch, p.layers))))
    assert seen == {(0, 2, 3), (1, 1, 3)}
