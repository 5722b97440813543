"""StyleEngine: warm networks on one device; each ``stylize`` call runs its plan
(execution/run.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..settings import StyleSettings
from ..weights import WeightsInfo, load_vgg_features
from .execution.controls import ProgressCallback, RunControls
from .execution.peak_memory import HostPeak
from .execution.reporter import Reporter
from .execution.run import StyleRun, Workbench
from .planning.memory_model import default_budget
from .planning.numerics import channels_last_weights
from .planning.plan import MAX_BATCH, JobPlan, plan_job
from .results import OutOfMemory, StyleStats
from .target_cache import TargetCache
from .vgg import CONTENT_LAYER, STYLE_LAYERS, VGGFeatures


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` means the first CUDA GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but PyTorch sees no CUDA GPU")
    return device


NO_CONTROLS = RunControls()


class StyleEngine:
    """Holds the networks warm; ``stylize`` is safe to call from one worker thread at a time."""

    def __init__(
        self,
        device: str = "auto",
        weights: str = "torchvision",
        models: Sequence[str] = ("vgg19",),
        seed: int = 0,
        target_cache: TargetCache | None = None,
        memory_budget: int | None = None,
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
        self._nets: dict[tuple[str, str, bool], VGGFeatures] = {}
        self.targets = target_cache if target_cache is not None else TargetCache()
        self.memory_budget = memory_budget  # bytes; None = decided per job from free memory
        self._host_peak = HostPeak()

    @property
    def models(self) -> list[str]:
        return list(self._state)

    def features_state(self, model: str) -> dict[str, torch.Tensor]:
        """The loaded convolution weights (torchvision ``features`` keys), e.g. for a baseline."""
        return self._state[model]

    def network(self, model: str, pooling: str) -> VGGFeatures:
        """The frozen feature extractor, built once per (model, pooling, weight layout) and kept
        on the device. The layout follows the arithmetic each job reads afresh
        (planning/numerics.py), so a process that changes it gets a network laid out for it."""
        channels_last = channels_last_weights(self.device)
        key = (model, pooling, channels_last)
        if key not in self._nets:
            if model not in self._state:
                raise ValueError(
                    f"model {model} is not loaded by this engine (loaded: {', '.join(self._state)})"
                )
            net = VGGFeatures(model, self._state[model], (CONTENT_LAYER, *STYLE_LAYERS), pooling)
            net = net.to(self.device)
            if channels_last:
                net = net.to(memory_format=torch.channels_last)
            self._nets[key] = net
        return self._nets[key]

    def stylize(
        self,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        settings: StyleSettings,
        controls: RunControls | ProgressCallback = NO_CONTROLS,
        memory_budget: int | None = None,
    ) -> tuple[np.ndarray, StyleStats]:
        """Repaint ``content`` in the blended style of ``styles``; returns RGBA at its own size.

        ``memory_budget`` (bytes) overrides the engine's; layers whose optimisation would not
        fit are tiled (see execution/run.py).
        """
        return self.stylize_many([content], styles, settings, controls, memory_budget)[0]

    def stylize_many(
        self,
        contents: Sequence[np.ndarray],
        styles: Sequence[np.ndarray],
        settings: StyleSettings,
        controls: RunControls | ProgressCallback = NO_CONTROLS,
        memory_budget: int | None = None,
        batch: bool = True,
    ) -> list[tuple[np.ndarray, StyleStats]]:
        """Several layers in one style: those of the same processing size are optimised
        together as one batch where memory allows (one pass of VGG for all of them).

        Each progress event names the first layer of the batch being worked on, and its
        ``fraction``/``eta`` cover the whole request. A bare callback for ``controls`` stands
        for ``RunControls(progress=callback)``.
        """
        if not isinstance(controls, RunControls):
            controls = RunControls(progress=controls)
        budget = memory_budget or self.memory_budget or default_budget(self.device)
        results: list[tuple[np.ndarray, StyleStats] | None] = [None] * len(contents)
        try:
            plan = self.plan([c.shape[:2] for c in contents], settings, budget, batch,
                             [s.shape[:2] for s in styles])
            bench = self.workbench(settings, plan.autocast)
            reporter = Reporter(plan, len(contents), settings.tolerance, controls)
            for index, b in enumerate(plan.batches):
                self._reset_peak_memory()
                reporter.begin_batch(index)
                run = StyleRun(bench, [contents[i] for i in b.members], styles, settings, b,
                               reporter, budget)
                for i, result in zip(b.members, run.run()):
                    results[i] = result
        except torch.cuda.OutOfMemoryError as exc:
            raise self._out_of_memory(settings) from exc
        except RuntimeError as exc:
            if "out of memory" in str(exc) or "can't allocate memory" in str(exc):
                raise self._out_of_memory(settings) from exc
            raise
        return results  # type: ignore[return-value]

    def _out_of_memory(self, settings: StyleSettings) -> OutOfMemory:
        if self.on_cuda:
            torch.cuda.empty_cache()
        size = settings.size or "full"
        return OutOfMemory(
            f"out of memory on {self.device} at size {size}: choose a smaller size "
            "(e.g. half the long side), set a lower memory budget so Impasto tiles the layer, "
            "or close other programs using the GPU"
        )

    def plan(
        self, shapes: Sequence[tuple[int, int]], settings: StyleSettings, budget: int,
        batch: bool = True, style_shapes: Sequence[tuple[int, int]] = (),
    ) -> JobPlan:
        """The job's plan on this engine's device (``batch=False``: one layer per batch)."""
        return plan_job(shapes, settings, budget, self.device, style_shapes,
                        MAX_BATCH if batch else 1)

    def workbench(self, settings: StyleSettings, autocast: bool) -> Workbench:
        """What a run needs of this engine, for one job's model and pooling."""
        return Workbench(self.network(settings.model, settings.pooling), self.device, autocast,
                         self.targets, self.weights_info[settings.model].label,
                         self.peak_memory)

    def _reset_peak_memory(self) -> None:
        if self.on_cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self._host_peak.reset()

    def peak_memory(self) -> int:
        """Peak bytes the current job allocated: on the GPU torch's counter, on the CPU the
        growth of the process's resident memory (what the memory budget limits)."""
        if self.on_cuda:
            return int(torch.cuda.max_memory_allocated(self.device))
        return self._host_peak.peak()

