"""The process executor: the stages in worker processes of this machine (``--jobs N``).

The workers (:class:`~dedupe.executors.workers.WorkerPool`) start only for an
input worth it, at most one per core; a smaller input runs here. The line
counts are written once to the run's scratch folder and memory-mapped by every
worker. The resolver's clustering step runs here, grouping ``jobs`` bands at a
time on threads while the workers wait.

>>> from dedupe import CleanConfig
>>> ProcessExecutor(CleanConfig(), 2, ".").shares_disk
True
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..config import CleanConfig, DedupConfig
from ..fingerprint import warm_kernels
from ..resolve import StepCallback, cluster_labels
from ..schema import ParagraphTable
from ..stages import Stage, StageContext, run_in_process, start_process
from ..templates import TemplateTable
from .workers import WorkerPool

R = TypeVar("R")


class ProcessExecutor:
    """Runs the stages in up to ``workers`` processes (already capped at the cores)."""

    shares_disk = True

    def __init__(self, config: CleanConfig, workers: int, scratch: str) -> None:
        self.config = config
        self.workers = workers
        self.scratch = scratch
        self.pool = WorkerPool(workers, start_process, (config,), before_start=warm_kernels)
        self.context = StageContext(config)  # for an input too small for workers
        self._shared: str | None = None

    def map(self, stage: Stage[R], batches: Iterable[Any]) -> Iterator[R]:
        return self.pool.imap(functools.partial(run_in_process, stage, self.config, self._shared), batches,
                              functools.partial(stage, self.context))

    def share(self, counts: TemplateTable) -> None:
        counts.save(Path(self.scratch))  # every worker memory-maps one copy
        self._shared = self.scratch
        self.context.templates = counts

    def cluster(self, table: ParagraphTable, config: DedupConfig, progress: StepCallback) -> tuple[np.ndarray, int]:
        # the workers are idle now: the bands take their cores, a thread each
        return cluster_labels(table, config, threads=self.workers, progress=progress)

    def close(self) -> None:
        self.pool.terminate()
