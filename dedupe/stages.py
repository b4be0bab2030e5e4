"""The batch stages an executor runs, and the per-process state they share.

Every pass cuts the input into :class:`Batch`\\ es of documents and hands an
executor (:mod:`dedupe.executors`) one of the stages below to map over them:
:func:`count_lines` (the context pass's line counts), :func:`fingerprint_batch`
(pass 1: normalise, segment, strip, fingerprint) and :func:`prepare_batch`
(pass 2: normalise, segment, strip again). A stage is a module-level function
of ``(StageContext, Batch)``, so it reaches a worker process or a cluster by
name, and knows nothing of where it runs.

>>> context = StageContext(CleanConfig())
>>> [p.verdicts for p in prepare_batch(context, Batch([(0, "A line.\\nShare this:", None)]))]
[[None, 'share']]
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .config import CleanConfig, DedupConfig
from .features import Fingerprinted, fingerprint_documents
from .fingerprint import Fingerprinter
from .layout import segment
from .prepare import Prepared, prepare_many, spill
from .strip import load_catalogue
from .templates import TemplateTable, line_hashes_many

R = TypeVar("R")

#: Documents per unit of work handed to an executor.
BATCH_DOCS = 256

_T = TypeVar("_T")


def in_batches(items: Iterable[_T], size: int = BATCH_DOCS) -> Iterator[list[_T]]:
    """``items`` in lists of ``size`` (the last one shorter), read as they are needed.

    >>> list(in_batches(range(5), 2))
    [[0, 1], [2, 3], [4]]
    """
    batch: list[_T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(slots=True)
class Batch:
    """A unit of work: documents as (input number, text, site), and where pass 1 spills them for pass 2."""

    documents: list[tuple[int, str, str | None]]
    spill: str | None = None

    @property
    def chars(self) -> int:
        """Characters of text the batch holds."""
        return sum(len(text) for _, text, _ in self.documents)


class StageContext:
    """What the stages need in every process: the compiled catalogue, the fingerprinter, the line counts."""

    def __init__(self, config: CleanConfig) -> None:
        self.config = config
        self.catalogue = load_catalogue()
        self.fingerprinter = fingerprinter_for(config.dedup)
        self.templates: TemplateTable | None = None
        self._templates_dir: str | None = None

    def use_counts(self, shared: str | TemplateTable | None) -> None:
        """The line counts an executor shared: a folder to memory-map (read once), or the table itself."""
        if isinstance(shared, TemplateTable):
            self.templates = shared
        elif shared is not None and shared != self._templates_dir:
            self.templates = TemplateTable.load(Path(shared))
            self._templates_dir = shared


def fingerprinter_for(config: DedupConfig) -> Fingerprinter:
    """The fingerprinter the settings ask for."""
    return Fingerprinter(num_perm=config.num_perm, seed=config.seed, ngram=config.ngram,
                         min_length=config.min_minhash_length, threshold=config.threshold, bands=config.bands,
                         shingle=config.shingle, max_length=config.max_minhash_chars, scheme=config.scheme)


#: A stage: a module-level function of the process's context and a job (a
#: :class:`Batch`, or a shard's job: :mod:`dedupe.sharded`) that tells the
#: input it holds in ``chars``.
Stage = Callable[[StageContext, Any], R]


def count_lines(context: StageContext, batch: Batch) -> list[tuple[str | None, np.ndarray]]:
    """The context pass: each document's site and the hashes of its lines, as read.

    The hashes are :func:`~dedupe.templates.line_hashes` of each document's
    paragraphs, each distinct line of the batch keyed once
    (:func:`~dedupe.templates.line_hashes_many`).

    >>> [(site, len(hashes)) for site, hashes in count_lines(StageContext(CleanConfig()),
    ...                                                     Batch([(0, "Home\\nA story.", "a.com")]))]
    [('a.com', 2)]
    """
    hashes = line_hashes_many([segment(text) for _, text, _ in batch.documents])
    return [(site, lines) for (_, _, site), lines in zip(batch.documents, hashes)]


def prepare_batch(context: StageContext, batch: Batch, seconds: dict[str, float] | None = None) -> list[Prepared]:
    """Normalise, segment and strip the batch's documents (:func:`~dedupe.prepare.prepare_many`)."""
    return prepare_many([(text, site) for _, text, site in batch.documents], context.config, context.catalogue,
                        seconds, context.templates)


def fingerprint_batch(context: StageContext, batch: Batch) -> Fingerprinted:
    """Pass 1: prepare the batch, spill it for pass 2 when asked, and fingerprint what the stripper kept."""
    seconds: dict[str, float] = {}
    prepared = prepare_batch(context, batch, seconds)
    if batch.spill is not None:  # pass 2 reads these back instead of repairing and stripping again
        spill(batch.spill, [text for _, text, _ in batch.documents], prepared)
    started = time.perf_counter()
    config = context.config.dedup
    families = context.catalogue.families if config.related_evidence else {}
    done = fingerprint_documents([(index, p) for (index, _, _), p in zip(batch.documents, prepared)],
                                 context.fingerprinter, config, families)
    done.seconds = {**seconds, "fingerprint": time.perf_counter() - started}
    return done


@functools.lru_cache(maxsize=1)
def start_process(config: CleanConfig) -> StageContext:
    """This process's context for ``config``, made once (a worker process makes it as it starts)."""
    return StageContext(config)


def run_in_process(stage: Stage[R], config: CleanConfig, shared: Any, batch: Batch) -> R:
    """``stage`` over ``batch`` with this process's context (made once per configuration).

    What a worker process or a cluster's worker runs for every task;
    ``shared`` is what the executor shared of the line counts.
    """
    context = start_process(config)
    context.use_counts(shared)
    return stage(context, batch)
