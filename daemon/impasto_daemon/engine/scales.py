"""Which sizes to optimise at: coarse to fine, so large images converge fast."""

from __future__ import annotations

from .images import fit_long_side

MIN_SIDE = 16  # relu5_1 sits behind four 2x poolings: smaller images have no features left
COARSEST = 128  # coarse-to-fine starts no smaller than this long side


def process_size(height: int, width: int, size: int | None) -> tuple[int, int]:
    """The finest (h, w) to optimise at: the long side ``size`` (never upscaling a layer beyond
    its own size), but with the short side at least MIN_SIDE so tiny layers still work."""
    long_side = max(height, width) if size is None else min(size, max(height, width))
    h, w = fit_long_side(height, width, long_side)
    if min(h, w) < MIN_SIDE:
        factor = MIN_SIDE / min(h, w)
        h, w = max(MIN_SIDE, round(h * factor)), max(MIN_SIDE, round(w * factor))
    return h, w


def plan_scales(height: int, width: int, multiscale: bool) -> list[tuple[int, int]]:
    """Halve the long side until it would drop below COARSEST; coarsest first."""
    sizes = [(height, width)]
    if multiscale:
        while max(sizes[-1]) // 2 >= COARSEST and min(sizes[-1]) // 2 >= MIN_SIDE:
            h, w = sizes[-1]
            sizes.append((round(h / 2), round(w / 2)))
    return sizes[::-1]


def iterations_per_scale(iterations: int, scales: int) -> list[int]:
    """The finest scale gets ``iterations``; each coarser one half as many (1/4 the pixels)."""
    if scales == 1:
        return [iterations]
    coarse = max(1, iterations // 2) if iterations > 0 else 0
    return [coarse] * (scales - 1) + [iterations]
