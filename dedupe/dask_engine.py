"""The Dask engine: the per-document stages of both passes run on a Dask cluster.

``dedupe clean … --engine dask [--scheduler ADDRESS]`` (extra ``dask``). The
driver reads the input and cuts it into the same batches of documents as the
local engine; each batch is one task — pass 1 (repair, strip, shingle,
MinHash) and pass 2 (repair and strip again, for assembly) run on the
workers as a map over batches, with the same functions the local worker
processes run. The resolver runs on the driver over numbers only (about 60
bytes per paragraph, signatures spilling to disk past ``--memory-limit``),
and results are consumed in input order, so output, removal record and
stats counts are byte-identical to the local engine's.

>>> DaskPool.__name__
'DaskPool'
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .config import CleanConfig
from .errors import ConfigError, MissingExtraError

log = logging.getLogger(__name__)


def _task(name: str, config: CleanConfig, job: Any) -> Any:
    """Runs one batch on a Dask worker, with that process's cached stage objects."""
    from . import pipeline

    worker = pipeline._PROCESS_WORKER
    if worker is None or worker.config != config:
        pipeline._init_process(config)
    return getattr(pipeline, name)(job)


class DaskPool:
    """The part of ``multiprocessing.Pool`` the cleaner uses, on a Dask cluster.

    ``imap`` submits batches as tasks, at most a few per worker ahead, and
    yields their results in submission order; a task's exception is raised in
    the driver when its turn comes.
    """

    def __init__(self, config: CleanConfig, scheduler: str | None = None, workers: int = 0) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise MissingExtraError("--engine dask", "dask", "distributed") from exc
        self._cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="30s")
            else:
                # processes, one thread each: the stages hold the GIL
                self._cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                             processes=True, dashboard_address=None)
                self.client = Client(self._cluster)
        except OSError as exc:
            self.terminate()
            raise ConfigError(f"cannot reach the Dask scheduler {scheduler or '(local)'}: {exc}") from exc
        self._config_future = self.client.scatter(config, broadcast=True)
        threads = sum(self.client.nthreads().values()) or 1
        self.ahead = 2 * threads + 1
        log.info("dask engine: %d worker thread(s) at %s", threads, self.client.scheduler.address)

    def imap(self, func: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]:
        """Results of ``func`` over ``jobs``, in order (``func`` is a pipeline ``_process_*``)."""
        pending: deque[Any] = deque()
        for job in jobs:
            pending.append(self.client.submit(_task, func.__name__, self._config_future, job, pure=False))
            if len(pending) >= self.ahead:
                yield self._take(pending)
        while pending:
            yield self._take(pending)

    @staticmethod
    def _take(pending: deque[Any]) -> Any:
        future = pending.popleft()
        try:
            return future.result()
        finally:
            future.release()

    def terminate(self) -> None:
        client, cluster = getattr(self, "client", None), self._cluster
        self.client = None  # type: ignore[assignment]
        self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def join(self) -> None:
        """Nothing to wait for: :meth:`terminate` closed the cluster."""
