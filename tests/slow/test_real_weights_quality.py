"""Stylisation with real ImageNet weights (VGG16 imported from ONNX by our own importer).

Set IMPASTO_UPDATE_DOCS=1 to refresh the README's side-by-side picture in docs/images/.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from real_weights import real_vgg16_weights  # noqa: F401  (pytest fixture)

from impasto_daemon.engine import StyleEngine, StyleSettings

DATA = Path(__file__).parents[1] / "data"
DOCS = Path(__file__).parents[2] / "docs" / "images"


@pytest.mark.slow
def test_real_vgg16_stylises_a_photograph(real_vgg16_weights, tmp_path):  # noqa: F811
    engine = StyleEngine(device="cpu", weights=str(real_vgg16_weights), models=("vgg16",))
    assert not engine.weights_info["vgg16"].is_random
    content = np.asarray(Image.open(DATA / "chelsea.png").convert("RGB"))
    style = np.asarray(Image.open(DATA / "swirl_strokes.png").convert("RGB"))
    events = []
    settings = StyleSettings(model="vgg16", size=256, iterations=120)
    out, stats = engine.stylize(content, [style], settings, events.append)

    steps = [e for e in events if e.stage == "optimising"]
    first, last = steps[0].style_loss, steps[-1].style_loss
    assert last <= 0.1 * first, f"style loss only fell from {first:.3g} to {last:.3g}"
    rgb = out[..., :3].astype(np.float32)
    assert out.shape[:2] == content.shape[:2]
    assert np.abs(rgb - content).mean() > 10  # repainted, not returned
    style_small = np.asarray(Image.fromarray(style).resize(content.shape[1::-1]), np.float32)
    assert np.abs(rgb - style_small).mean() > 10  # not a copy of the style either
    assert rgb.std() > 20  # not a flat or black picture

    h = content.shape[0]
    style_panel = Image.fromarray(style).resize((h, h))
    panels = [Image.fromarray(content), style_panel, Image.fromarray(out[..., :3])]
    side = Image.new("RGB", (sum(p.width for p in panels) + 16, h), "white")
    x = 0
    for p in panels:
        side.paste(p, (x, 0))
        x += p.width + 8
    side.save(tmp_path / "side_by_side.png")
    if os.environ.get("IMPASTO_UPDATE_DOCS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        side.save(DOCS / "chelsea_swirl_vgg16.png")
    print(f"style loss {first:.3g} -> {last:.3g} in {stats.seconds:.1f}s ({stats.weights})")
