"""Each quality figure first proves it can fail: a picture with the defect scores worse than
the same picture without it (tiny arrays, numpy only)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
import quality_metrics as qm  # noqa: E402


def _photo(h: int = 64, w: int = 80, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients with a few soft shapes: a stand-in for a photograph."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    rgb = np.stack([0.5 + 0.4 * np.sin(3 * x + 2 * y + k) for k in range(3)], axis=2)
    for _ in range(4):
        cy, cx, r = rng.random(3) * [1, 1, 0.2] + [0, 0, 0.1]
        rgb += 0.2 * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / r**2)[..., None] * rng.random(3)
    return (np.clip(rgb, 0, 1) * 230 + 10).astype(np.uint8)


def _texture(h: int = 64, w: int = 64, seed: int = 1) -> np.ndarray:
    """Diagonal blue/yellow stripes with grain: a stand-in for a painted style."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    stripes = (np.sin((x + y) / 2.5) > 0)[..., None]
    rgb = np.where(stripes, [40, 60, 150], [220, 190, 70]).astype(np.float64)
    rgb += rng.normal(0, 4, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _add(img: np.ndarray, delta: np.ndarray) -> np.ndarray:
    return np.clip(img.astype(np.float64) + delta, 0, 255).astype(np.uint8)


def test_speckle_rises_with_rainbow_pixel_noise():
    content, style = _photo(), _texture()
    clean = _photo(seed=3)
    rng = np.random.default_rng(5)
    noisy = _add(clean, rng.normal(0, 25, clean.shape))  # independent per channel: chroma noise
    grey_noise = _add(clean, rng.normal(0, 25, clean.shape[:2])[..., None])  # luminance only
    s_clean = qm.speckle(clean, content, style)
    s_noisy = qm.speckle(noisy, content, style)
    assert s_noisy > 3 * s_clean, (s_clean, s_noisy)
    assert s_noisy > 1.0  # noisier in colour than the style itself
    assert qm.speckle(grey_noise, content, style) < 0.5 * s_noisy  # luminance grain is not it


def test_border_frame_rises_with_a_drawn_frame_and_a_fringe():
    content = _photo()
    clean = _photo(seed=3)
    framed = clean.copy()
    framed[:2], framed[-2:], framed[:, :2], framed[:, -2:] = 20, 20, 20, 20
    fringed = clean.copy()
    fringed[3:5, 3:-3] = [0, 255, 255]  # a cyan line a few pixels inside the top border
    fringed[-5:-3, 3:-3] = [0, 255, 255]
    base = qm.border_frame(clean, content, _texture())
    assert base < 1.5
    assert qm.border_frame(framed, content, _texture()) > 2 * base
    assert qm.border_frame(fringed, content, _texture()) > 1.5 * base


def test_border_frame_sees_a_one_pixel_line_on_a_busy_texture():
    # a stylised result is busy everywhere; a light outermost line must still stand out
    textured = _texture(64, 80)
    lined = _add(textured, 0)
    lined[0], lined[:, 0] = _add(textured[0], 40), _add(textured[:, 0], 40)
    content = _photo()
    clean = qm.border_frame(textured, content, textured)
    assert clean < 1.5
    assert qm.border_frame(lined, content, textured) > 1.5 * clean


def test_border_frame_needs_room_for_its_rings():
    with pytest.raises(ValueError, match="at least 24 px"):
        qm.edge_ring_ratio(np.zeros((20, 64, 3), np.uint8))


def test_clipped_counts_only_clipping_beyond_the_inputs():
    content, style = _photo(), _texture()
    clean = _photo(seed=3)
    assert qm.clipped(clean, content, style) == 0.0
    burnt = clean.copy()
    burnt[10:30, 10:40] = [255, 255, 200]  # 600 of 5120 pixels blown out in red and green
    assert qm.clipped(burnt, content, style) == pytest.approx(600 / clean[..., 0].size)
    # a style that is itself clipped there excuses the same share
    clipped_style = _texture().copy()
    clipped_style[:20] = 255
    assert qm.clipped(burnt, content, clipped_style) == 0.0


def test_blotches_find_grey_areas_neither_the_style_nor_the_photo_had():
    rng = np.random.default_rng(2)
    night = rng.normal(0, 6, (64, 64, 3)) + [10, 12, 30]
    night[rng.random((64, 64)) > 0.99] = 255  # stars
    night = np.clip(night, 0, 255).astype(np.uint8)
    content = _photo()
    dark_result = _add(np.zeros_like(content), rng.normal(0, 6, content.shape) + [12, 14, 32])
    blotched = dark_result.copy()
    blotched[8:40, 16:60] = 128  # a washed-out grey patch over a third of the picture
    assert qm.blotches(dark_result, content, night) < 0.02  # took the style's colours
    assert qm.blotches(content, content, night) < 0.02  # kept the photo's colours
    assert qm.blotches(blotched, content, night) > 0.2
    # the same grey is no blotch where the photo itself was that grey
    grey_photo = np.full_like(content, 120)
    assert qm.blotches(blotched, grey_photo, night) < 0.05  # only its blurred rim


def test_style_distance_and_gain_prefer_the_style_over_the_photo():
    content, style = _photo(), _texture(64, 80)
    half = (0.5 * content.astype(np.float64) + 0.5 * style).astype(np.uint8)
    d_photo = qm.style_distance(content, content, style)
    d_half = qm.style_distance(half, content, style)
    d_style = qm.style_distance(style, content, style)
    assert d_style < 1e-9 < d_half < d_photo
    assert qm.style_gain(content, content, style) == pytest.approx(0.0)
    assert 0 < qm.style_gain(half, content, style) < qm.style_gain(style, content, style) == 1.0


def test_texture_gram_sees_orientation_not_only_colour():
    h = w = 64
    y, x = np.mgrid[0:h, 0:w]
    vertical = np.repeat((np.sin(x / 2) > 0)[..., None] * 255, 3, 2).astype(np.uint8)
    horizontal = np.repeat((np.sin(y / 2) > 0)[..., None] * 255, 3, 2).astype(np.uint8)
    assert qm.colour_histogram_distance(vertical, horizontal) < 0.05  # same colours
    assert qm.texture_gram_distance(vertical, horizontal) > 0.2


def test_content_edges_fall_when_the_outlines_move():
    content = _photo()
    shifted = np.roll(content, 12, axis=1)
    rng = np.random.default_rng(4)
    grainy = _add(content, rng.normal(0, 8, content.shape))
    kept = qm.content_edges(grainy, content, _texture())
    assert qm.content_edges(content, content, _texture()) == pytest.approx(1.0)
    assert kept > 0.8
    assert qm.content_edges(shifted, content, _texture()) < kept - 0.3


def test_measure_rejects_a_result_of_another_size():
    with pytest.raises(ValueError, match="differ in size"):
        qm.measure(_photo(64, 80), _photo(64, 64), _texture())


def test_resample_averages_when_shrinking():
    checker = (np.indices((64, 64)).sum(0) % 2 * 255).astype(np.float64)
    small = qm.resample(checker, 16, 16)
    assert np.allclose(small, 127.5, atol=1.0)  # an antialiased shrink, not every 4th pixel


# -- photo kept: a takeover fails it, a glaze does not ---------------------------------------


def _cat(side: int = 64) -> np.ndarray:
    """The cat photo (tests/data/chelsea.png), centre square, ``side`` px."""
    from PIL import Image

    cat = Image.open(Path(__file__).parents[1] / "data" / "chelsea.png").convert("RGB")
    s = min(cat.size)
    left = (cat.width - s) // 2
    return np.asarray(cat.crop((left, 0, left + s, s)).resize((side, side), Image.LANCZOS))


def _painted_style(name: str, side: int = 64) -> np.ndarray:
    sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
    import quality_styles

    return qm.resample(qm.as_rgb(quality_styles.STYLES[name]()), side, side).astype(np.uint8)


def _glaze(photo: np.ndarray, style: np.ndarray, share: float) -> np.ndarray:
    return ((1 - share) * photo + share * qm.as_rgb(style)).astype(np.uint8)


def _style_colours_over_blurred(photo: np.ndarray, style: np.ndarray, sigma: float) -> np.ndarray:
    """The photo blurred, then every pixel replaced by the style's pixel of the same luminance
    rank: the style's colours exactly, the photo's layout only as a blur (a takeover that
    keeps a ghost of the photo)."""
    blurred = qm.gaussian_blur(qm.as_rgb(photo), sigma)
    order = np.argsort(qm.ycbcr(blurred)[..., 0].ravel(), kind="stable")
    colours = qm.as_rgb(style).reshape(-1, 3)
    by_luminance = colours[np.argsort(qm.ycbcr(colours[None])[0, :, 0], kind="stable")]
    out = np.empty_like(colours)
    out[order] = by_luminance
    return out.reshape(photo.shape).astype(np.uint8)


@pytest.mark.parametrize("style_name", ["glowing_disc", "dark_void", "star_field", "mosaic"])
def test_photo_kept_falls_when_the_style_takes_over(style_name):
    photo, style = _cat(), _painted_style(style_name)
    glaze = qm.measure(_glaze(photo, style, 0.2), photo, style)
    takeover = qm.measure(style, photo, style)
    ghost = qm.measure(_style_colours_over_blurred(photo, style, 3.0), photo, style)
    assert qm.measure(photo, photo, style)["photo_kept"] == pytest.approx(1.0)
    assert glaze["photo_kept"] > 0.7, glaze
    assert takeover["photo_kept"] < 0.15, takeover
    # a blurred ghost of the photo in the style's colours keeps at most about half of it (the
    # mosaic's many tones keep most of the blurred layout: 0.49 against the glaze's 0.92)
    assert ghost["photo_kept"] < 0.6 * glaze["photo_kept"], (ghost, glaze)
    for name in ("layout_kept", "strong_edges_kept"):  # each part falls on its own too
        assert takeover[name] < 0.2 and glaze[name] > 0.8, (name, takeover, glaze)


def test_photo_kept_falls_for_the_disc_over_a_blurred_photo():
    """The issue's espresso cup: a red disc with vessel lines, the photo only a shadow in it."""
    photo, style = _cat(), _painted_style("glowing_disc")
    ghost = _style_colours_over_blurred(photo, style, 3.0)
    assert qm.photo_kept(ghost, photo, style) < 0.3


def test_photo_kept_is_not_fooled_by_a_busy_texture():
    # a texture's edges are everywhere, so they also fall on the photo's: that is no keeping
    photo, style = _cat(), _texture()
    assert qm.content_edges(style, photo, style) < 0.1
    assert qm.strong_edges_kept(style, photo, style) < 0.1
    assert qm.photo_kept(style, photo, style) < 0.15
    assert qm.photo_kept(_glaze(photo, style, 0.2), photo, style) > 0.6


def test_layout_kept_is_the_structural_similarity_of_the_coarse_picture():
    photo = _cat()
    assert qm.layout_kept(photo, photo, photo) == pytest.approx(1.0)
    flipped = photo[::-1]
    assert qm.layout_kept(flipped, photo, photo) < 0.5
    rng = np.random.default_rng(6)
    grainy = _add(photo, rng.normal(0, 20, photo.shape))  # fine grain: the layout is kept
    assert qm.layout_kept(grainy, photo, photo) > 0.9


def test_a_photo_without_edges_has_none_to_lose():
    flat = np.full((64, 64, 3), 128, np.uint8)
    assert qm.strong_edges_kept(_texture(), flat, _texture()) == 1.0
