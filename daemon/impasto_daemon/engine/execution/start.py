"""Where each scale's optimisation starts: the coarsest from the content (its colours moved
toward the style's), noise or the style; each finer one from the coarser result enlarged, with
the photo's finer detail added back in the content's share of the weights."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...settings import StyleSettings
from ..pixels import resize
from .color import channel_moments, toward_colours


def style_share(settings: StyleSettings) -> float:
    """The style's share of the weights, style / (content + style): how far the start's colours
    move toward the style's (``initial_image``)."""
    total = settings.content_weight + settings.style_weight
    return settings.style_weight / total if total > 0 else 0.0


def detail_share(settings: StyleSettings) -> float:
    """How much of the content's finer detail a finer scale starts with: the content's share
    of the weights, 1 - ``style_share``, so a light style keeps nearly all of the photo's
    detail and a strong one lets the style's own texture replace it (the strength control then
    spans a glaze to a takeover; all of the detail made the default a glaze). 0 when not
    started from the content."""
    if settings.init != "content":
        return 0.0
    return 1.0 - style_share(settings)


def initial_image(content: torch.Tensor, styles: Sequence[torch.Tensor],
                  blend: Sequence[float], settings: StyleSettings) -> torch.Tensor:
    """The coarsest scale's start. From the content, its colours are first moved toward the
    style's (each channel's mean and spread, ``styles`` blended by ``blend``) in the style's
    share of the weights: from the photo's own colours, L-BFGS settled where a light photo met
    a dark style half way, in grey blotches. The content loss still holds the photo's shapes,
    and a glaze starts from nearly the photo."""
    if settings.init == "content":
        colours = sum(w * channel_moments(rgb) for rgb, w in zip(styles, blend))
        return toward_colours(content, colours, style_share(settings))
    if settings.init == "noise":
        generator = torch.Generator().manual_seed(settings.seed)
        return torch.rand(content.shape, generator=generator)
    return resize(styles[0], *content.shape[-2:]).expand_as(content).clone()


def refined_start(image: torch.Tensor, coarser: torch.Tensor, content: torch.Tensor,
                  settings: StyleSettings) -> torch.Tensor:
    """The start of a finer scale: the coarser result enlarged, plus the content's detail
    that the coarser scale was too small to hold, in the share the weights ask for (see
    ``detail_share``). Enlarging alone starts every finer scale blurred, and the finest
    one spends its steps, or fails, to bring the photo's edges back."""
    h, w = content.shape[-2:]
    start = resize(image, h, w)
    share = detail_share(settings)
    if share > 0:
        start = (start + share * (content - resize(coarser, h, w))).clamp(0, 1)
    return start
