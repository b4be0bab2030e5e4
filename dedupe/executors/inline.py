"""The inline executor: every stage in this process, one batch after another.

>>> from dedupe import CleanConfig
>>> InlineExecutor(CleanConfig()).shares_disk
True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

from ..config import CleanConfig, DedupConfig
from ..resolve import StepCallback, cluster_labels
from ..schema import ParagraphTable
from ..stages import Stage, StageContext
from ..templates import TemplateTable

R = TypeVar("R")


class InlineExecutor:
    """Runs the stages here (``jobs=1``)."""

    shares_disk = True

    def __init__(self, config: CleanConfig) -> None:
        self.context = StageContext(config)

    def map(self, stage: Stage[R], batches: Iterable[Any]) -> Iterator[R]:
        return (stage(self.context, batch) for batch in batches)

    def share(self, counts: TemplateTable) -> None:
        self.context.templates = counts

    def cluster(self, table: ParagraphTable, config: DedupConfig, progress: StepCallback) -> tuple[np.ndarray, int]:
        return cluster_labels(table, config, progress=progress)

    def close(self) -> None:
        """Nothing runs elsewhere."""
