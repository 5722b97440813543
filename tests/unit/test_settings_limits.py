"""Settings that used to be accepted and then quietly gave a wrong picture (issue 10, item 12)."""

from __future__ import annotations

import pytest

from impasto_daemon.settings import StyleSettings


def test_huge_blend_weights_keep_both_styles():
    # 1e308 + 1e308 overflowed to inf and normalised both weights to 0: the style vanished.
    assert StyleSettings(style_blend=(1e308, 1e308)).blend_for(2) == (0.5, 0.5)
    assert StyleSettings(style_blend=(3.0, 1.0)).blend_for(2) == (0.75, 0.25)


def test_an_adam_rate_that_only_saturates_pixels_is_refused():
    with pytest.raises(ValueError, match="learning_rate must be > 0 and at most 1"):
        StyleSettings(optimizer="adam", learning_rate=1e308)
    assert StyleSettings(optimizer="adam", learning_rate=1.0).learning_rate == 1.0
