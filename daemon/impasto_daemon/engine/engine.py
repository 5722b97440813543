"""StyleEngine: warm networks on one device, and the coarse-to-fine stylisation of a layer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..weights import WeightsInfo, load_vgg_features
from .color import preserve_colors
from .images import fit_long_side, preview, resize, split_pixels, to_rgba
from .objective import StyleObjective, content_features, style_grams
from .optimize import Ticker, optimise
from .results import OutOfMemory, Progress, StyleCancelled, StyleStats
from .scales import iterations_per_scale, plan_scales, process_size
from .settings import StyleSettings
from .target_cache import TargetCache, pixels_key
from .vgg import CONTENT_LAYER, STYLE_LAYERS, VGGFeatures

ProgressCallback = Callable[[Progress], None]


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` means the first CUDA GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but PyTorch sees no CUDA GPU")
    return device


class StyleEngine:
    """Holds the networks warm; ``stylize`` is safe to call from one worker thread at a time."""

    def __init__(
        self,
        device: str = "auto",
        weights: str = "torchvision",
        models: Sequence[str] = ("vgg19",),
        seed: int = 0,
        target_cache: TargetCache | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.on_cuda = self.device.type == "cuda"
        if self.on_cuda:
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.weights_info: dict[str, WeightsInfo] = {}
        self._state: dict[str, dict[str, torch.Tensor]] = {}
        for model in models:
            state, info = load_vgg_features(model, weights, seed)
            self._state[model] = state
            self.weights_info[model] = info
        self._nets: dict[tuple[str, str], VGGFeatures] = {}
        self.targets = target_cache if target_cache is not None else TargetCache()

    @property
    def models(self) -> list[str]:
        return list(self._state)

    def network(self, model: str, pooling: str) -> VGGFeatures:
        """The frozen feature extractor, built once per (model, pooling) and kept on the device."""
        key = (model, pooling)
        if key not in self._nets:
            if model not in self._state:
                raise ValueError(
                    f"model {model} is not loaded by this engine (loaded: {', '.join(self._state)})"
                )
            net = VGGFeatures(model, self._state[model], (CONTENT_LAYER, *STYLE_LAYERS), pooling)
            net = net.to(self.device)
            if self.on_cuda:
                net = net.to(memory_format=torch.channels_last)
            self._nets[key] = net
        return self._nets[key]

    def stylize(
        self,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        settings: StyleSettings,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        progress_interval: float = 0.0,
        preview_interval: float | None = None,
    ) -> tuple[np.ndarray, StyleStats]:
        """Repaint ``content`` in the blended style of ``styles``; returns RGBA at its own size."""
        try:
            return self._stylize(
                content, styles, settings, progress, cancel, progress_interval, preview_interval
            )
        except torch.cuda.OutOfMemoryError as exc:
            raise self._out_of_memory(settings) from exc
        except RuntimeError as exc:
            if "out of memory" in str(exc) or "can't allocate memory" in str(exc):
                raise self._out_of_memory(settings) from exc
            raise

    def _out_of_memory(self, settings: StyleSettings) -> OutOfMemory:
        if self.on_cuda:
            torch.cuda.empty_cache()
        size = settings.size or "full"
        return OutOfMemory(
            f"out of memory on {self.device} at size {size}: choose a smaller size "
            "(e.g. half the long side) or close other programs using the GPU"
        )

    def _stylize(
        self,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        settings: StyleSettings,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        progress_interval: float,
        preview_interval: float | None,
    ) -> tuple[np.ndarray, StyleStats]:
        started = time.monotonic()
        if self.on_cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
        blend = settings.blend_for(len(styles))
        net = self.network(settings.model, settings.pooling)
        source = split_pixels(content)
        style_rgbs = [(split_pixels(s).rgb, pixels_key(s)) for s in styles]
        height, width = source.rgb.shape[-2:]
        sizes = plan_scales(*process_size(height, width, settings.size), settings.multiscale)
        per_scale = iterations_per_scale(settings.iterations, len(sizes))
        total = sum(per_scale)
        generator = torch.Generator().manual_seed(settings.seed)
        torch.manual_seed(settings.seed)
        hits_before = self.targets.hits
        ticker, preview_ticker = Ticker(progress_interval), Ticker(preview_interval or 0.0)
        done_before = 0
        image: torch.Tensor | None = None
        last_total: torch.Tensor | None = None

        def report(stage: str, scale: int, done: int, parts=None, final=False, img=None) -> None:
            if progress is None or not ticker.due(final):
                return
            values = (0.0, 0.0, 0.0, 0.0)
            if parts is not None:
                values = tuple(
                    float(t.detach()) for t in (parts.total, parts.content, parts.style, parts.tv)
                )
            thumb = None
            if img is not None and preview_interval is not None and preview_ticker.due(final):
                thumb = preview(img.detach().float().cpu())
            progress(
                Progress(
                    stage=stage, scale=scale, scales=len(sizes), iteration=done, total=total,
                    loss=values[0], content_loss=values[1], style_loss=values[2],
                    tv_loss=values[3], elapsed=time.monotonic() - started, preview=thumb,
                    size=sizes[scale - 1],
                )
            )

        for index, ((h, w), iterations) in enumerate(zip(sizes, per_scale), start=1):
            if cancel is not None and cancel.is_set():
                raise StyleCancelled("cancelled")
            report("targets", index, done_before, final=True)
            content_s = self._to_device(resize(source.rgb, h, w))
            objective = StyleObjective(
                net,
                CONTENT_LAYER,
                content_features(net, content_s, CONTENT_LAYER, self.on_cuda),
                self._blended_grams(net, style_rgbs, blend, settings, (h, w)),
                settings.content_weight,
                settings.style_weight,
                settings.tv_weight,
            )
            if image is None:
                image = self._initial_image(settings, content_s, style_rgbs[0][0], generator)
            else:
                image = self._to_device(resize(image, h, w))

            def on_step(done: int, parts, current, scale=index, before=done_before,
                        iters=iterations) -> None:
                nonlocal last_total
                last_total = parts.total.detach()
                report("optimising", scale, before + done, parts, done == iters, current)

            image, evaluations = optimise(
                image, objective, iterations, settings.optimizer, settings.learning_rate,
                autocast=self.on_cuda, on_step=on_step, cancel=cancel,
            )
            done_before += evaluations

        assert image is not None
        report("finishing", len(sizes), done_before, final=True)
        result = resize(image.detach().float().cpu().contiguous(), height, width)
        if settings.preserve_colors:
            result = preserve_colors(result, source.rgb)
        rgba = to_rgba(result, source.alpha)
        stats = StyleStats(
            seconds=time.monotonic() - started,
            iterations=done_before,
            device=str(self.device),
            seed=settings.seed,
            model=settings.model,
            weights=self.weights_info[settings.model].label,
            sizes=list(sizes),
            target_cache_hits=self.targets.hits - hits_before,
            peak_memory_bytes=self._peak_memory(),
            final_loss=float(last_total) if last_total is not None else 0.0,
        )
        return rgba, stats

    def _to_device(self, image: torch.Tensor) -> torch.Tensor:
        # The image stays in the standard layout (L-BFGS flattens its gradient); the network
        # switches to channels_last itself.
        return image.to(self.device).contiguous()

    def _initial_image(
        self,
        settings: StyleSettings,
        content: torch.Tensor,
        first_style: torch.Tensor,
        generator: torch.Generator,
    ) -> torch.Tensor:
        if settings.init == "content":
            return content.clone()
        if settings.init == "noise":
            return self._to_device(torch.rand(content.shape, generator=generator))
        h, w = content.shape[-2:]
        return self._to_device(resize(first_style, h, w))

    def _blended_grams(
        self,
        net: VGGFeatures,
        styles: Sequence[tuple[torch.Tensor, str]],
        blend: Sequence[float],
        settings: StyleSettings,
        size: tuple[int, int],
    ) -> dict[str, torch.Tensor]:
        """Weighted sum of each style image's Grams, at the style scale for this content size."""
        blended: dict[str, torch.Tensor] = {}
        for (rgb, key), weight in zip(styles, blend):
            sh, sw = rgb.shape[-2:]
            long_side = max(16, round(settings.style_scale * max(size)))
            th, tw = fit_long_side(sh, sw, long_side)
            th, tw = max(th, 16), max(tw, 16)
            cache_key = (key, settings.model, settings.pooling, STYLE_LAYERS, th, tw)
            grams = self.targets.get(cache_key)
            if grams is None:
                grams = style_grams(
                    net, self._to_device(resize(rgb, th, tw)), STYLE_LAYERS, self.on_cuda
                )
                self.targets.put(cache_key, grams)
            for layer, gram in grams.items():
                blended[layer] = blended.get(layer, 0) + weight * gram
        return blended

    def _peak_memory(self) -> int:
        if self.on_cuda:
            return int(torch.cuda.max_memory_allocated(self.device))
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
