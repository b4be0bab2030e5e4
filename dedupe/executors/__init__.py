"""Where the batch stages run: here, in worker processes, or on a Dask cluster.

An :class:`Executor` maps a stage (:mod:`dedupe.stages`) over batches and
yields the results in input order, shares the context pass's line counts with
whatever runs the stage, and runs the resolver's clustering step (on a
cluster, its grouping and components run there too). The pipeline talks to
every executor through this interface alone; :func:`open_executor` picks one:

- :class:`~dedupe.executors.inline.InlineExecutor`: this process (``jobs=1``);
- :class:`~dedupe.executors.processes.ProcessExecutor`: worker processes of
  this machine, started only for an input worth it (:mod:`dedupe.executors.workers`);
- :class:`~dedupe.executors.dask_engine.DaskExecutor`: a Dask cluster (``engine="dask"``).

>>> from dedupe import CleanConfig
>>> from dedupe.stages import Batch, count_lines
>>> executor = open_executor("local", CleanConfig(), jobs=1, scheduler=None, scratch=".")
>>> [len(hashes) for site, hashes in next(executor.map(count_lines, [Batch([(0, "One.\\nTwo.", None)])]))]
[2]
>>> executor.close()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, TypeVar

import numpy as np

from ..config import CleanConfig, DedupConfig
from ..resolve import StepCallback
from ..schema import ParagraphTable
from ..stages import Stage
from ..templates import TemplateTable

log = logging.getLogger(__name__)

R = TypeVar("R")

#: Seconds an interrupted run waits for its executor to stop.
STOP_TIMEOUT = 10.0


class Executor(Protocol):
    """Runs the batch stages somewhere; see the module docstring."""

    #: Whether the stages see this machine's disk: pass 1 may then spill what
    #: it prepared for pass 2 to the run's scratch folder.
    shares_disk: bool

    def map(self, stage: Stage[R], batches: Iterable[Any]) -> Iterator[R]:
        """``stage`` over ``batches`` (:class:`~dedupe.stages.Batch`\\ es, or shards' jobs), results in input order."""
        ...

    def share(self, counts: TemplateTable) -> None:
        """The line counts every later stage reads (``StageContext.templates``)."""
        ...

    def cluster(self, table: ParagraphTable, config: DedupConfig, progress: StepCallback) -> tuple[np.ndarray, int]:
        """The resolver's clustering step (:func:`dedupe.resolve.cluster_labels` or its equal)."""
        ...

    def close(self) -> None:
        """No more work: stop whatever runs the stages (again: nothing happens)."""
        ...


def open_executor(engine: str, config: CleanConfig, jobs: int, scheduler: str | None, scratch: str) -> Executor:
    """The executor for ``engine`` (``local`` or ``dask``) with ``jobs`` workers (already capped).

    ``scratch`` is the run's scratch folder, for what an executor shares through the disk.
    """
    if engine == "dask":
        from .dask_engine import DaskExecutor

        return DaskExecutor(config, scheduler, jobs if jobs > 1 else 0, scratch)
    if jobs > 1:
        from .processes import ProcessExecutor

        return ProcessExecutor(config, jobs, scratch)
    from .inline import InlineExecutor

    return InlineExecutor(config)


def close_within(executor: Executor) -> None:
    """Close an executor whose remaining results nobody will read, waiting at most :data:`STOP_TIMEOUT`.

    Stopping workers could wait forever on a lock or a result a stopped
    worker held, and a cluster may not answer; so closing runs in a daemon
    thread, and a run that is ending anyway does not wait for it longer than
    :data:`STOP_TIMEOUT`.
    """
    stopper = threading.Thread(target=executor.close, daemon=True, name="dedupe-executor-stop")
    stopper.start()
    stopper.join(STOP_TIMEOUT)
    if stopper.is_alive():
        log.warning("workers did not stop within %.0f s; leaving them behind", STOP_TIMEOUT)
