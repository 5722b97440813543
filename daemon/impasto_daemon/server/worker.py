"""One worker thread per device: runs queued jobs on the warm engine, one layer after another.

It never touches a socket and never changes a job's state itself: it takes jobs from the
JobTable and says everything through the Outbox as small messages (JobStarted, JobProgress,
JobFinished, JobFailed, JobCancelled); every way a job can fail becomes a stable error code
there, so the daemon keeps serving.
"""

from __future__ import annotations

import gc
import logging
import threading
from typing import Any

import numpy as np

from impasto_wire import protocol as P

from ..engine import (
    BudgetTooSmall,
    OutOfMemory,
    ProgressEvent,
    RunControls,
    StyleCancelled,
    StyleDiverged,
    StyleStats,
)
from ..engine.pixels import PREVIEW_SIZE
from .job_table import JobTable
from .jobs import Job
from .outbox import JobCancelled, JobFailed, JobFinished, JobProgress, JobStarted, Outbox
from .style_decode import DecodedStyles

log = logging.getLogger("impasto.daemon.worker")

PROGRESS_INTERVAL = 0.2  # seconds between progress reports from the engine
PREVIEW_INTERVAL = 1.0


class Worker(threading.Thread):
    """Takes jobs from ``table`` and reports what happens to them to ``outbox``."""

    def __init__(self, engine: Any, table: JobTable, outbox: Outbox, styles: DecodedStyles,
                 max_pixels: int, name: str = "impasto-worker") -> None:
        super().__init__(name=name, daemon=True)
        self.engine, self.table, self.outbox = engine, table, outbox
        self.styles, self.max_pixels = styles, max_pixels
        self.current: Job | None = None

    def run(self) -> None:
        while True:
            job = self.table.next_job(timeout=0.5)
            if job is None:
                if self.table.closed:
                    return
                continue
            self.current = job
            try:
                self._run(job)
            finally:
                job.release_inputs()
                self.current = None

    def _run(self, job: Job) -> None:
        self.outbox.put(JobStarted(job))
        failure: tuple[str, str] | None = None
        try:
            if job.cancel.is_set():
                raise StyleCancelled("cancelled before it started")
            styles = [self._style_pixels(s) for s in job.styles]
            # Layers of the same size are optimised together as one batch where memory allows.
            done = self.engine.stylize_many(job.contents, styles, job.settings, RunControls(
                progress=self._reporter(job),
                cancel=job.cancel,
                progress_interval=PROGRESS_INTERVAL,
                preview_interval=PREVIEW_INTERVAL if job.preview else None,
                preview_size=job.preview or PREVIEW_SIZE,
            ))
            results: list[np.ndarray] = [rgba for rgba, _ in done]
            stats: list[StyleStats] = [st for _, st in done]
            self.outbox.put(JobFinished(job, results, stats))
            return
        except StyleCancelled:
            self.outbox.put(JobCancelled(job))
            return
        except OutOfMemory as exc:
            failure = (P.OOM, str(exc))
        except StyleDiverged as exc:
            failure = (P.DIVERGED, str(exc))
        except P.ProtocolError as exc:  # an encoded style that fails to decode
            failure = (exc.code, exc.message)
        except ValueError as exc:  # the engine refusing inputs or settings
            failure = (P.BAD_REQUEST, str(exc))
        except MemoryError:
            failure = (P.OOM, "out of host memory: choose a smaller size or fewer layers")
        except BudgetTooSmall as exc:
            failure = (P.OOM, str(exc))
        except Exception as exc:
            log.exception("job %s failed", job.id)
            failure = (P.INTERNAL, f"{type(exc).__name__}: {exc}")
        # Outside the except blocks the traceback (and the tensors its frames hold) is gone,
        # so the memory can really be given back before the next job.
        job.release_inputs()
        _free_memory()
        self.outbox.put(JobFailed(job, *failure))

    def _style_pixels(self, style: Any) -> np.ndarray:
        if style.pixels is not None:
            return style.pixels
        return self.styles.get(style.encoded, style.encoding, self.max_pixels)

    def _reporter(self, job: Job):
        def report(event: ProgressEvent) -> None:
            self.outbox.put(JobProgress(job, event))

        return report


def _free_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # pragma: no cover - freeing memory must never fail a job report
        pass
