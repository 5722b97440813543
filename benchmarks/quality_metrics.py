"""Defect and match figures for a stylised picture, judged without the network that made it.

Every figure is a function ``f(result, content, style) -> float`` of uint8 RGB arrays (H x W x 3;
RGBA is accepted and its alpha dropped; a grey H x W array is promoted to RGB). ``result`` and
``content`` have the same size; ``style`` may have any size and is resampled to the result's size
where a figure compares pixels with it. numpy only (no torch), so unit tests and the harness can
import it and the loss being optimised can never be the judge. photo_kept and its pixel helpers
live in the engine (``impasto_daemon.engine.strength.photo_kept``), whose strength governor
reads the same figure while painting; the judge's other figures stay the engine's unknowns.

Defects (lower is better; each is ~1 or ~0 for a clean picture, as said per figure):

- ``speckle``       colour noise at the pixel scale, as a multiple of the style's own;
- ``border_frame``  how much the outer rows and columns stand out, relative to the content's;
- ``clipped``       share of pixels at 0 or 255 beyond what the content and style have;
- ``blotches``      share of large grey areas that neither the style nor the photo had there.

Match (the judge): ``style_distance`` (colour histogram + Gram of a fixed oriented filter bank,
0 = the style's statistics exactly), ``style_gain`` (how much of the way from the content's
statistics to the style's the result went) and ``content_edges`` (edge-map correlation with
the content).

Photo kept (higher is better; ~1 for a light glaze, ~0 for a takeover): ``layout_kept`` (the
structural similarity of the coarse grey picture), ``strong_edges_kept`` (the share of the
photo's strongest edges still there, less the share of edges anywhere else) and
``photo_kept`` (their geometric mean, so that losing either the layout or the photo's
outlines fails it). Edge correlation alone is fooled by a style whose own edges fall where
the photo's were; these are not.

All of them together: ``measure(result, content, style) -> dict``.
"""

from __future__ import annotations

import math

import numpy as np

from impasto_daemon.engine.strength import photo_kept as kept_figures
from impasto_daemon.engine.strength.photo_kept import (  # the pixel helpers, defined once
    as_rgb,
    edge_map,
    gaussian_blur,  # noqa: F401  (the tests blur with the judge's own blur)
    resample,
    ycbcr,
)
from impasto_daemon.engine.strength.photo_kept import gaussian_kernels as _gaussian_kernels
from impasto_daemon.engine.strength.photo_kept import separable as _separable

SPECKLE_FLOOR = 1.0  # 0-255 levels: chroma residual RMS below this counts as "no speckle"
EDGE_LINES = 4  # the steps between the outermost lines (pixels from the edge) ...
INNER_FROM = 4  # ... against the median step from here to the middle
MIN_SIDE = 24  # border figures need at least this many pixels a side
LINE_FLOOR = 0.5  # 0-255 levels: a line-to-line step below this counts as none
BLOTCH_SCALE = 1 / 32  # blur radius as a share of the long side: only large areas count
BLOTCH_DISTANCE = 48.0  # RGB distance (0-255) beyond which a colour is not in the style
BLOTCH_CHROMA = 16.0  # chroma magnitude (Cb, Cr in 0-255 levels) below which a colour is grey
HIST_BINS = 8  # per channel, for the joint RGB histogram
FILTER_SIGMAS = (1.0, 2.0, 4.0)  # Gaussian-derivative scales of the texture filter bank

# -- pixel helpers ---------------------------------------------------------------------------


def box_blur(img: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, reflected borders."""
    k = np.full(2 * radius + 1, 1.0 / (2 * radius + 1))
    return _separable(img, k, k)


def _style_at(style: np.ndarray, like: np.ndarray) -> np.ndarray:
    """The style as float RGB at the size of ``like``."""
    return resample(as_rgb(style), *like.shape[:2])


# -- defects ---------------------------------------------------------------------------------


def chroma_residual_rms(pixels: np.ndarray) -> float:
    """RMS (0-255 levels) of Cb and Cr minus their 3x3 box mean: colour that changes from one
    pixel to the next. Rainbow single-pixel speckle raises it; smooth colour and luminance-only
    texture do not."""
    chroma = ycbcr(as_rgb(pixels))[..., 1:]
    residual = chroma - box_blur(chroma, 1)
    return float(np.sqrt(np.mean(residual**2)))


def speckle(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> float:
    """Pixel-scale colour noise of the result as a multiple of the style's (at the result's
    size): ``chroma_residual_rms(result) / max(chroma_residual_rms(style), SPECKLE_FLOOR)``.
    Above 1 the result is noisier in colour than the style it copies; the floor keeps a grey
    style from turning any colour at all into a huge ratio."""
    res = as_rgb(result)
    sty = _style_at(style, res)
    return chroma_residual_rms(res) / max(chroma_residual_rms(sty), SPECKLE_FLOOR)


def _line_means(rgb: np.ndarray, side: int, depth: int) -> np.ndarray:
    """Mean colour (3,) of the row or column ``depth`` pixels in from one side (0 top,
    1 bottom, 2 left, 3 right): averaged over the whole edge, texture cancels out."""
    if side == 0:
        return rgb[depth].mean(axis=0)
    if side == 1:
        return rgb[rgb.shape[0] - 1 - depth].mean(axis=0)
    if side == 2:
        return rgb[:, depth].mean(axis=0)
    return rgb[:, rgb.shape[1] - 1 - depth].mean(axis=0)


def _line_steps(rgb: np.ndarray, side: int) -> np.ndarray:
    """|mean colour of line k - mean colour of line k+1| (mean over channels) for k from the
    edge to the middle of the picture, on one side."""
    depth = (rgb.shape[0] if side < 2 else rgb.shape[1]) // 2
    lines = np.array([_line_means(rgb, side, d) for d in range(depth)])
    return np.abs(np.diff(lines, axis=0)).mean(axis=1)


def edge_ring_ratio(pixels: np.ndarray) -> float:
    """How much the outer lines stand out from their neighbours. Per side, each line's mean
    colour along the edge (texture averages out); the steps between neighbouring lines within
    4 px of the edge, against the median step between lines from 4 px in to the middle (at
    least LINE_FLOOR levels); the mean over the four sides. About 1 for a picture without a
    frame, whether flat, graded or textured; a one-pixel light or dark line, a fringe of colour
    or a band a few pixels wide along the edges give more."""
    rgb = as_rgb(pixels)
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise ValueError(f"border figures need at least {MIN_SIDE} px a side")
    ratios = []
    for side in range(4):
        steps = _line_steps(rgb, side)
        edge = steps[:EDGE_LINES].mean()
        ratios.append(edge / max(float(np.median(steps[INNER_FROM:])), LINE_FLOOR))
    return float(np.mean(ratios))


def border_frame(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> float:
    """``edge_ring_ratio(result) / max(edge_ring_ratio(content), 1)``: ~1 or less when the
    result's edges stand out no more than the photo's own did (a vignette, a dark margin);
    well above 1 a frame or fringe has appeared."""
    return edge_ring_ratio(result) / max(edge_ring_ratio(content), 1.0)


def clipped_share(pixels: np.ndarray) -> float:
    """Share of pixels with any channel at 0 or 255."""
    rgb = as_rgb(pixels)
    return float(np.mean(np.any((rgb <= 0) | (rgb >= 255), axis=2)))


def clipped(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> float:
    """Share of the result's pixels clipped (any channel at 0 or 255) beyond the larger share
    the content or the style already has; 0 when it clips no more than its inputs."""
    res = as_rgb(result)
    allowed = max(clipped_share(content), clipped_share(_style_at(style, res)))
    return max(0.0, clipped_share(res) - allowed)


def _low_pass_small(rgb: np.ndarray, scale: float, cells: int = 64) -> np.ndarray:
    """Blurred (box radius ``scale`` x long side) then shrunk to about ``cells`` on the long
    side: the colours of large areas only."""
    radius = max(1, round(scale * max(rgb.shape[:2])))
    blurred = box_blur(rgb, radius)
    factor = min(1.0, cells / max(rgb.shape[:2]))
    h, w = max(1, round(rgb.shape[0] * factor)), max(1, round(rgb.shape[1] * factor))
    return resample(blurred, h, w)


def blotches(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> float:
    """Share of the result's area that turned into a washed-out grey nobody asked for. On the
    large-scale colours (box blur of BLOTCH_SCALE x the long side, then about 64 cells on the
    long side) a cell counts when it is greyish (chroma below BLOTCH_CHROMA), further than
    BLOTCH_DISTANCE (RGB, 0-255) from every large-scale colour of the style, and as far from
    the content's own colour in that place: grey patches on a dark star-field style, say.
    A result that keeps the photo's colours, or takes the style's, scores ~0."""
    res = as_rgb(result)
    res_lp = _low_pass_small(res, BLOTCH_SCALE)
    cont_lp = _low_pass_small(as_rgb(content), BLOTCH_SCALE)
    sty_lp = _low_pass_small(as_rgb(style), BLOTCH_SCALE).reshape(-1, 3)
    flat = res_lp.reshape(-1, 3)
    d2 = (flat**2).sum(1)[:, None] - 2 * flat @ sty_lp.T + (sty_lp**2).sum(1)[None, :]
    off_style = np.sqrt(np.clip(d2.min(axis=1), 0, None)) > BLOTCH_DISTANCE
    off_content = np.linalg.norm(flat - cont_lp.reshape(-1, 3), axis=1) > BLOTCH_DISTANCE
    chroma = np.hypot(*np.moveaxis(ycbcr(flat[None])[0, :, 1:], -1, 0))
    return float(np.mean(off_style & off_content & (chroma < BLOTCH_CHROMA)))


# -- the judge -------------------------------------------------------------------------------


def colour_histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Hellinger distance (0 same, 1 disjoint) of the joint RGB histograms, HIST_BINS a channel."""

    def hist(pixels: np.ndarray) -> np.ndarray:
        idx = (as_rgb(pixels) * (HIST_BINS / 256)).astype(int).clip(0, HIST_BINS - 1)
        flat = (idx[..., 0] * HIST_BINS + idx[..., 1]) * HIST_BINS + idx[..., 2]
        h = np.bincount(flat.ravel(), minlength=HIST_BINS**3).astype(np.float64)
        return h / h.sum()

    bc = np.sum(np.sqrt(hist(a) * hist(b)))
    return float(np.sqrt(max(0.0, 1 - bc)))


def filter_bank(pixels: np.ndarray) -> np.ndarray:
    """Fixed features per pixel (N x 27), none of them learnt: at each sigma in FILTER_SIGMAS,
    the rectified responses of luminance to first- (edges) and second-derivative (bars)
    Gaussian filters at 0, 45, 90 and 135 degrees (steered from the x/y derivatives), plus the
    blurred Y, Cb, Cr at the coarsest sigma. Values in 0-1 units of 255 levels."""
    yuv = ycbcr(as_rgb(pixels)) / 255.0
    lum = yuv[..., 0]
    feats = []
    for sigma in FILTER_SIGMAS:
        g, d1, d2 = _gaussian_kernels(sigma)
        gx, gy = _separable(lum, g, d1), _separable(lum, d1, g)
        gxx, gyy, gxy = _separable(lum, g, d2), _separable(lum, d2, g), _separable(lum, d1, d1)
        for theta in np.deg2rad([0, 45, 90, 135]):
            c, s = math.cos(theta), math.sin(theta)
            feats.append(np.abs(c * gx + s * gy) * sigma)
            feats.append(np.abs(c * c * gxx + 2 * c * s * gxy + s * s * gyy) * sigma**2)
    g, _, _ = _gaussian_kernels(FILTER_SIGMAS[-1])
    for ch in range(3):
        feats.append(_separable(yuv[..., ch], g, g))
    return np.stack(feats, axis=-1).reshape(-1, len(feats))


def texture_gram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||G_a - G_b|| / (||G_a|| + ||G_b||) (Frobenius, 0 same, 1 at most) of the Gram matrices
    F^T F / N of ``filter_bank`` features: the Gatys statistic, on filters nobody optimises."""
    ga, gb = (f.T @ f / len(f) for f in (filter_bank(a), filter_bank(b)))
    return float(np.linalg.norm(ga - gb) / max(np.linalg.norm(ga) + np.linalg.norm(gb), 1e-12))


def style_distance_of(pixels: np.ndarray, style: np.ndarray) -> float:
    """Mean of ``colour_histogram_distance`` and ``texture_gram_distance`` to the style (at the
    picture's size): 0 = the style's colours and texture statistics exactly."""
    rgb = as_rgb(pixels)
    sty = _style_at(style, rgb)
    return 0.5 * (colour_histogram_distance(rgb, sty) + texture_gram_distance(rgb, sty))


def style_distance(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> float:
    """``style_distance_of(result, style)``; lower means more of the style was taken."""
    return style_distance_of(result, style)


def style_gain(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> float:
    """1 - style_distance(result) / style_distance(content): 0 = still the photo's statistics,
    1 = the style's; negative when the result moved away from the style."""
    before = style_distance_of(content, style)
    return 1 - style_distance_of(result, style) / max(before, 1e-12)


def content_edges(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> float:
    """Pearson correlation of the result's and the content's ``edge_map``: 1 = the photo's
    outlines all kept in place, ~0 = none of them."""
    a, b = edge_map(result).ravel(), edge_map(content).ravel()
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / max(np.sqrt((a @ a) * (b @ b)), 1e-12))


def layout_kept(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> float:
    """The photo's large light and dark areas still where they were (strength/photo_kept.py)."""
    return kept_figures.layout_kept(result, content)


def strong_edges_kept(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> float:
    """The photo's strongest edges still standing out (strength/photo_kept.py)."""
    return kept_figures.strong_edges_kept(result, content)


def photo_kept(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> float:
    """Both of the above together, ~0 when either is gone (strength/photo_kept.py)."""
    return kept_figures.photo_kept(result, content)


DEFECTS = {"speckle": speckle, "border_frame": border_frame, "clipped": clipped,
           "blotches": blotches}
MATCH = {"style_distance": style_distance, "style_gain": style_gain,
         "content_edges": content_edges, "layout_kept": layout_kept,
         "strong_edges_kept": strong_edges_kept, "photo_kept": photo_kept}
#: the figures where higher is better (all others: lower is better)
HIGHER_IS_BETTER = frozenset({"style_gain", "content_edges", "layout_kept",
                              "strong_edges_kept", "photo_kept"})


def measure(result: np.ndarray, content: np.ndarray, style: np.ndarray) -> dict[str, float]:
    """Every defect and match figure, by name (the style distances computed once)."""
    if np.asarray(result).shape[:2] != np.asarray(content).shape[:2]:
        raise ValueError(f"result {np.asarray(result).shape[:2]} and content "
                         f"{np.asarray(content).shape[:2]} differ in size")
    figures = {name: f(result, content, style) for name, f in DEFECTS.items()}
    after, before = style_distance_of(result, style), style_distance_of(content, style)
    figures["style_distance"] = after
    figures["style_gain"] = 1 - after / max(before, 1e-12)
    figures["content_edges"] = content_edges(result, content, style)
    figures["layout_kept"] = layout_kept(result, content, style)
    figures["strong_edges_kept"] = strong_edges_kept(result, content, style)
    figures["photo_kept"] = kept_figures.kept(figures["layout_kept"], figures["strong_edges_kept"])
    return figures
