"""How much of the photo a picture still holds, judged without any network: its coarse
layout and its strongest outlines. The strength governor (governor.py, driven by
execution/run.py) reads it while a picture is painted to move the style weight, and the quality
harness (benchmarks/quality_metrics.py) reports it on finished pictures, so both mean the same
by "the photo survives".

Pictures are uint8-range RGB arrays (H x W x 3; RGBA is accepted and its alpha dropped; a grey
H x W array is promoted to RGB); numpy only.

- ``layout_kept``: structural similarity of the two grey pictures shrunk to LAYOUT_CELLS on
  the long side: the photo's large light and dark areas still where they were;
- ``strong_edges_kept``: the share of the photo's strongest edges still standing out, less
  what any texture reaches where the photo had none;
- ``photo_kept``: their geometric mean, so that losing either the layout or the outlines
  fails it. ~1 for a light glaze, ~0 for a takeover (docs/QUALITY.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EDGE_SIGMA = 1.5  # blur before the Sobel edges of edge_map
LAYOUT_CELLS = 32  # long side of the coarse grey picture layout_kept compares
SSIM_SIGMA = 1.5  # Gaussian window of the structural similarity, in coarse cells
STRONG_SHARE = 0.1  # the photo's strongest edges: this share of its pixels
WEAK_SHARE = 0.5  # pixels whose photo edge is below this quantile give the chance level
EDGE_KEPT = 0.5  # an edge is kept where the result's reaches this share of the strong ones
EDGE_FLOOR = 1.0  # 0-255 levels a pixel: a photo whose strong edges are weaker has none


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """float64 H x W x 3 in 0-255 from uint8 RGB, RGBA (alpha dropped) or grey."""
    a = np.asarray(pixels)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected an H x W x 3 picture, got shape {a.shape}")
    return a[..., :3].astype(np.float64)


def ycbcr(rgb: np.ndarray) -> np.ndarray:
    """BT.601 full-range Y, Cb, Cr (Cb and Cr centred on 0), from float RGB in 0-255."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    return np.stack([y, cb, cr], axis=2)


def _resample_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Linear interpolation weights (n_out x n_in), widened by the factor when shrinking so
    that downsampling averages (antialiased) instead of picking pixels."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale - 0.5
    taps = np.arange(n_in)
    w = np.clip(1 - np.abs(taps[None, :] - centres[:, None]) / support, 0, None)
    return w / w.sum(axis=1, keepdims=True)


def resample(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Float picture (H x W or H x W x C) resampled to height x width, separably."""
    if img.shape[:2] == (height, width):
        return img
    wy = _resample_matrix(height, img.shape[0])
    wx = _resample_matrix(width, img.shape[1])
    out = np.tensordot(wy, img, axes=(1, 0))
    return np.moveaxis(np.tensordot(wx, out, axes=(1, 1)), 0, 1)


def _convolve_axis(img: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """Same-size 1-D correlation along ``axis`` with reflected borders."""
    r = len(kernel) // 2
    pad = [(0, 0)] * img.ndim
    pad[axis] = (r, r)
    padded = np.pad(img, pad, mode="reflect" if img.shape[axis] > r else "edge")
    n = img.shape[axis]
    out = np.zeros_like(img, dtype=np.float64)
    for i, k in enumerate(kernel):
        out += k * np.take(padded, np.arange(i, i + n), axis=axis)
    return out


def separable(img: np.ndarray, ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
    return _convolve_axis(_convolve_axis(img, ky, 0), kx, 1)


def gaussian_kernels(sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian, its first and its second derivative, sampled over +-3 sigma."""
    r = max(1, math.ceil(3 * sigma))
    x = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    g /= g.sum()
    d1 = -x / sigma**2 * g
    d2 = (x**2 / sigma**4 - 1 / sigma**2) * g
    return g, d1, d2


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    g, _, _ = gaussian_kernels(sigma)
    return separable(img, g, g)


def edge_map(pixels: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of the luminance after a Gaussian blur of EDGE_SIGMA px."""
    lum = gaussian_blur(ycbcr(as_rgb(pixels))[..., 0], EDGE_SIGMA)
    smooth, diff = np.array([1.0, 2.0, 1.0]) / 4, np.array([-1.0, 0.0, 1.0]) / 2
    return np.hypot(separable(lum, smooth, diff), separable(lum, diff, smooth))


def coarse_grey(pixels: np.ndarray, cells: int = LAYOUT_CELLS) -> np.ndarray:
    """Luminance shrunk (antialiased) to ``cells`` on the long side: the picture's layout."""
    lum = ycbcr(as_rgb(pixels))[..., 0]
    factor = min(1.0, cells / max(lum.shape))
    return resample(lum, max(1, round(lum.shape[0] * factor)), max(1, round(lum.shape[1] * factor)))


def ssim(a: np.ndarray, b: np.ndarray, sigma: float = SSIM_SIGMA) -> float:
    """Mean structural similarity (Wang et al. 2004) of two grey pictures in 0-255, Gaussian
    window of ``sigma`` pixels: 1 = the same, ~0 = unrelated."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = gaussian_blur(a, sigma), gaussian_blur(b, sigma)
    var_a = gaussian_blur(a * a, sigma) - mu_a**2
    var_b = gaussian_blur(b * b, sigma) - mu_b**2
    cov = gaussian_blur(a * b, sigma) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)
             / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)))
    return float(index.mean())


def layout_kept(result: np.ndarray, content: np.ndarray) -> float:
    """``ssim`` of the result's and the photo's ``coarse_grey``: the photo's large light and
    dark areas still where they were. Falls when the style's own layout (a disc, an empty
    black field) replaces the photo's; a light glaze keeps it near 1."""
    return ssim(coarse_grey(result), coarse_grey(content))


def strong_edges_kept(result: np.ndarray, content: np.ndarray) -> float:
    """How much the photo's strongest edges still stand out in the result (``edges_kept``)."""
    return edges_kept(edge_map(result), edge_map(content))


def edges_kept(out: np.ndarray, photo: np.ndarray) -> float:
    """On the photo's top STRONG_SHARE of edges (``photo``, an ``edge_map``), the share of
    pixels where the result's edge (``out``) reaches EDGE_KEPT of that edge threshold, less the
    same share on the pixels where the photo had hardly an edge (below its WEAK_SHARE
    quantile), which is what a texture reaches anywhere. 1 = every strong edge kept on a calm
    picture, ~0 = no more there than elsewhere (the style took over, or a blurred photo's
    edges are too weak). 1 for a photo without edges."""
    threshold = float(np.quantile(photo, 1 - STRONG_SHARE))
    if threshold < EDGE_FLOOR:
        return 1.0
    bar = EDGE_KEPT * threshold
    weak = photo < np.quantile(photo, WEAK_SHARE)
    chance = float(np.mean(out[weak] >= bar)) if weak.any() else 0.0
    return float(np.mean(out[photo >= threshold] >= bar)) - chance


def photo_kept(result: np.ndarray, content: np.ndarray) -> float:
    """sqrt(layout_kept x strong_edges_kept), each floored at 0: near 0 when either the
    photo's layout or its outlines are gone, whatever the other says."""
    return Photo.of(content).kept_by(result)


def kept(layout: float, edges: float) -> float:
    """The geometric mean of the two, each floored at 0."""
    return math.sqrt(max(layout, 0.0) * max(edges, 0.0))


@dataclass(frozen=True)
class Photo:
    """What ``photo_kept`` reads of the photo, read once: the governor scores many pictures
    against one photo."""

    layout: np.ndarray  # coarse_grey
    edges: np.ndarray  # edge_map

    @classmethod
    def of(cls, pixels: np.ndarray) -> Photo:
        return cls(coarse_grey(pixels), edge_map(pixels))

    def kept_by(self, result: np.ndarray) -> float:
        """``photo_kept`` of ``result`` against this photo."""
        return kept(ssim(coarse_grey(result), self.layout), edges_kept(edge_map(result),
                                                                       self.edges))
