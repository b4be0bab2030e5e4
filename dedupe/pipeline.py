"""The stages wired together: :func:`clean` for pipelines, :class:`Cleaner` for control.

Batch mode reads the input twice. Pass 1 normalises, segments, strips and
fingerprints every document (:func:`~dedupe.stages.fingerprint_batch`, run by
an executor: here, in worker processes or on a cluster) and keeps only
numbers; :func:`~dedupe.resolve.resolve` then decides corpus-wide what is a
duplicate or boilerplate; pass 2 re-reads the input, repeats the cheap
per-document stages (or reads back what pass 1 spilled) and assembles the
output (:func:`~dedupe.assemble.assemble_batch`). Nothing holds the corpus text in
memory, and results come back in input order whatever runs the stages.

>>> docs = [
...     {"id": "a", "text": "Storms hit the northern coast on Monday, cutting power to many homes.\\nShare this:"},
...     {"id": "b", "text": "Storms hit the northern coast on Monday, cutting power to many homes."},
...     {"id": "c", "text": "A different story about the local elections, held under heavy rain."},
... ]
>>> [(d["id"], d["text"]) for d in clean(docs)]  # doctest: +NORMALIZE_WHITESPACE
[('a', 'Storms hit the northern coast on Monday, cutting power to many homes.'),
 ('c', 'A different story about the local elections, held under heavy rain.')]
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .assemble import DocResult, Plan, assemble_batch
from .config import CleanConfig, ReadConfig
from .errors import AccountingError, ConfigError, InputError
from .executors import Executor, close_within, open_executor
from .executors.workers import worker_count
from .features import Fingerprinted
from .index import Index, extend_with_earlier, new_rows
from .prepare import Prepared, read_spilled
from .progress import ProgressCallback, ProgressEvent
from .readers import FileSource, IterableSource, Record, Source, as_source, timestamp, usable_records
from .record import Stats
from .resolve import Resolution, resolve
from .schema import DocumentTable, ParagraphTable, concat
from .scratch import make_scratch_dir
from .sharded import PartSink, ShardedPasses
from .stages import (
    BATCH_DOCS,
    Batch,
    count_lines,
    fingerprint_batch,
    fingerprinter_for,
    in_batches,
    prepare_batch,
)
from .store import SignatureStore
from .templates import TemplateBuilder, TemplateTable, site_of

log = logging.getLogger(__name__)

R = TypeVar("R")

class Cleaner(ShardedPasses):
    """Runs the whole pipeline over a source and yields a :class:`DocResult` per document.

    ``jobs`` worker processes (0: every core) do the per-document stages,
    capped at the cores available; an input too small to repay starting them
    runs in this process (:mod:`dedupe.executors.workers`). No caller needs an
    ``if __name__ == "__main__":`` guard: workers never re-run the caller's script.

    With ``engine="dask"`` on files, or with ``parts`` (where part files go,
    a :class:`~dedupe.outputs.RunOutputs` with ``parts_format``), the tasks
    read their own shards of about ``shard_bytes`` of input (None: chosen from the
    input's size, :func:`~dedupe.shards.default_shard_bytes`) and the driver
    holds numbers only (:mod:`dedupe.sharded`); with ``parts`` the tasks
    write the documents and removals as part files, one per shard, and
    :meth:`run` yields nothing.

    >>> from dedupe.readers import IterableSource
    >>> results = list(Cleaner().run(IterableSource(["Hello there, this is a document.", ""])))
    >>> [(r.kept, [x.reason for x in r.removals]) for r in results]
    [(True, []), (False, ['empty'])]
    """

    def __init__(
        self,
        config: CleanConfig = CleanConfig(),
        *,
        jobs: int = 1,
        progress: ProgressCallback | None = None,
        index: Index | None = None,
        engine: str = "local",
        scheduler: str | None = None,
        parts: PartSink | None = None,
        shard_bytes: int | None = None,
    ) -> None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
            raise ConfigError(f"jobs must be 0 (every core) or a positive number of processes, not {jobs!r}")
        if engine not in ("local", "dask"):
            raise ConfigError(f"engine must be 'local' or 'dask', not {engine!r}")
        self.config = config
        self.index = index
        self.engine = engine
        self.scheduler = scheduler
        self.parts = parts
        if shard_bytes is not None and shard_bytes < 1:
            raise ValueError("shard_bytes must be positive")
        self.shard_bytes = shard_bytes
        # more processes than cores only cost memory (see dedupe.executors.workers)
        self.jobs = worker_count(jobs)
        self.progress = progress
        self.stats = Stats()
        # (documents, characters) of the input, once a pass has read all of it
        self._totals: tuple[int, int] | None = None
        self.resolution: Resolution | None = None
        self._sites: list[str | None] = []  # by input number, as the first pass read them
        self._site_names: dict[str, str] = {}

    def run(self, source: Source | Iterable[dict[str, Any] | str]) -> Iterator[DocResult]:
        """Clean every document of ``source``; results come in input order.

        A ``str`` alone is refused (:class:`~dedupe.errors.InputError`): it
        would be read as one document per character; pass ``[text]``.
        """
        reading = as_source(source, self.config.read)
        self.stats = Stats()
        self._totals = None
        self._sites, self._site_names = [], {}
        started = time.perf_counter()
        executor: Executor | None = None
        scratch = make_scratch_dir("run")  # also sweeps away the scratch of runs that were killed
        try:
            executor = open_executor(self.engine, self.config, self.jobs, self.scheduler, scratch.name)
            if self.parts is not None and not isinstance(reading, FileSource):
                raise ValueError("part files are written from file inputs only")
            # standard input is spooled to this machine's disk: a scheduler's workers may not see it
            remote_stdin = reading.spooled and self.scheduler is not None if isinstance(reading, FileSource) else True
            if isinstance(reading, FileSource) and (self.parts is not None or (self.engine == "dask"
                                                                                and not remote_stdin)):
                # the tasks read the input themselves: the driver holds numbers only
                yield from self._run_sharded(reading, executor, self.parts, self.shard_bytes, scratch.name)
            else:
                strip = self.config.strip
                if strip.enabled and strip.context and strip.templates:
                    executor.share(self._count_lines(reading, executor))
                plan = (self._fingerprint_and_resolve(reading, executor, scratch.name) if self.config.dedup.enabled
                        else None)
                yield from self._assemble(reading, executor, plan)
            executor.close()
            executor = None
        finally:
            if executor is not None:  # stopped early: an error, SIGTERM, Ctrl-C, or the consumer went away
                close_within(executor)
            scratch.cleanup()
        self.stats.seconds["total"] = time.perf_counter() - started
        problems = self.stats.check()
        if problems:
            raise AccountingError("; ".join(problems))

    # -- the passes ------------------------------------------------------------------

    def _count_lines(self, source: Source, executor: Executor) -> TemplateTable:
        """Pass 0: how often each line recurs, per site and corpus-wide (``--context``)."""
        started = time.perf_counter()
        builder = TemplateBuilder()
        for _, counted in self._in_batches("count lines", source, self._check_bad,
                                           functools.partial(executor.map, count_lines)):
            for site, hashes in counted:
                builder.add(site, hashes)
        table = builder.finish()
        self.stats.seconds["count lines"] = time.perf_counter() - started
        return table

    def _fingerprint_and_resolve(self, source: Source, executor: Executor, scratch: str) -> Plan:
        """Pass 1, then the resolver over its numbers (and an index's)."""
        started = time.perf_counter()
        documents = DocumentFacts(self.config.read)
        store = SignatureStore(fingerprinter_for(self.config.dedup).rows, self.config.dedup.memory_limit, scratch)
        # pass 1 spills prepared documents for pass 2 only where the workers see this disk
        spill = scratch if executor.shares_disk else None

        def admit(record: Record) -> None:
            self._check_bad(record)
            documents.add(record, self._site(record))
            if record.error is None:
                self.stats.bytes_in += len(record.text)

        batches: list[Fingerprinted] = []
        for _, batch in self._in_batches("fingerprint", source, admit,
                                         functools.partial(executor.map, fingerprint_batch), spill):
            store.append(batch.signatures)
            batch.signatures = _NO_SIGNATURES
            batches.append(batch)
            for name, seconds in batch.seconds.items():
                self.stats.seconds[name] += seconds
        if spill is not None:
            executor.close()  # pass 2 reads the spilled batches: the workers' memory serves resolve better
        self.stats.seconds["pass1"] = time.perf_counter() - started
        started = time.perf_counter()
        plan = self._resolve(documents, batches, store, executor, spill)
        self.stats.seconds["resolve"] = time.perf_counter() - started
        return plan

    def _resolve(self, documents: DocumentFacts, batches: list[Fingerprinted], store: SignatureStore,
                 executor: Executor, spill: str | None) -> Plan:
        self._resolve_step("building tables", f"{len(documents.ids):,} documents")
        if store.spilled:
            self.stats.signatures_spilled = store.size
            log.info("fingerprints passed dedup.memory_limit: %d signatures spilled to disk", store.size)
        paragraphs = concat([batch.paragraphs for batch in batches])
        chars = np.zeros(len(documents.ids), dtype=np.int64)
        for batch in batches:
            chars[batch.documents] = batch.chars
        batches.clear()  # the table holds their numbers now; a second copy would double them
        docs = documents.table(chars, self.config.dedup.keep)
        doc_ids, n_input = documents.ids, len(documents.ids)
        earlier = None
        if self.index is None:
            table = ParagraphTable.of(paragraphs, store)
        else:
            self._resolve_step("reading the index")
            earlier = self.index.load(store)  # signatures go straight into the (spilling) store
            table, docs = extend_with_earlier(paragraphs, docs, earlier, store, documents.sites)
            doc_ids = doc_ids + earlier.doc_ids
            self.stats.index_rows = earlier.rows.size
        resolution = resolve(table, docs, self.config.dedup,
                             cluster=functools.partial(executor.cluster, progress=self._resolve_step),
                             progress=self._resolve_step)
        if self.index is not None:
            self._resolve_step("writing the index batch")
            # written now, while the signatures are at hand; joins the index at commit()
            self.index.stage(new_rows(table, resolution, store, doc_ids, list(documents.sites), docs.site,
                                      n_input, earlier))
        store.close()
        self.resolution = resolution
        self.stats.clusters.update(resolution.cluster_stats)
        row_start = np.searchsorted(table.doc, np.arange(n_input + 1))
        return Plan(doc_ids, table, resolution, row_start, n_input, spill)

    def _assemble(self, source: Source, executor: Executor, plan: Plan | None) -> Iterator[DocResult]:
        """Pass 2: every document prepared again (or read back) and assembled."""
        started = time.perf_counter()

        def admit(record: Record) -> None:
            if plan is None:
                self._check_bad(record)
            elif record.index >= plan.n_input or plan.doc_ids[record.index] != record.doc_id:
                raise InputError(record.location, "input changed between the two passes")

        prepare: Callable[[Iterable[Batch]], Iterator[list[Prepared]]] = (
            functools.partial(_read_spilled, plan.spill) if plan is not None and plan.spill is not None
            else functools.partial(executor.map, prepare_batch))
        seen = 0
        for chunk, prepared in self._in_batches("assemble" if plan is not None else "strip", source, admit,
                                                prepare):
            yield from assemble_batch(chunk, prepared, plan, self.stats, self.config.read)
            seen += len(chunk)
        if plan is not None and seen != plan.n_input:
            raise InputError("input", f"input changed between the two passes ({plan.n_input} then {seen} records)")
        self.stats.seconds["pass2"] = time.perf_counter() - started

    def _in_batches(
        self, stage: str, source: Source, admit: Callable[[Record], None],
        run: Callable[[Iterable[Batch]], Iterator[R]], spill: str | None = None,
    ) -> Iterator[tuple[list[Record], R]]:
        """Every pass's scaffold: the source read in batches, each record shown to ``admit``, the
        batches given to ``run``; yields each batch's records with its result, in input order.
        With ``spill`` (a folder), each batch is told its file there."""
        chunks: deque[list[Record]] = deque()

        def batches() -> Iterator[Batch]:
            records = usable_records(source, self.config.normalize.repair, self.config.read.text_field)
            for number, chunk in enumerate(in_batches(records, BATCH_DOCS)):
                for record in chunk:
                    admit(record)
                chunks.append(chunk)
                yield Batch([(r.index, r.text, self._site(r)) for r in chunk if r.error is None],
                            _spill_path(spill, number) if spill is not None else None)

        documents = chars = 0
        self._tick(stage)
        for result in run(batches()):
            chunk = chunks.popleft()
            yield chunk, result
            text = sum(len(r.text) for r in chunk if r.error is None and r.text)
            documents, chars = documents + len(chunk), chars + text
            self._tick(stage, len(chunk), text)
        self._totals = self._totals or (documents, chars)

    # -- helpers -----------------------------------------------------------------------

    def _check_bad(self, record: Record) -> None:
        if record.error is not None and not self.config.read.skip_bad:
            raise InputError(record.location,
                             f"{record.error} (with read.skip_bad such records are skipped and recorded)")

    def _site(self, record: Record) -> str | None:
        # every pass asks for every record's site: parsed from its URL once per run
        if record.index < len(self._sites):
            return self._sites[record.index]
        site = site_of((record.fields or {}).get(self.config.read.url_field))
        if site is not None:
            site = self._site_names.setdefault(site, site)  # one string per site, whatever the documents
        if record.index == len(self._sites):
            self._sites.append(site)
        return site

    def _tick(self, stage: str, documents: int = 0, chars: int = 0, step: str = "", detail: str = "") -> None:
        if self.progress is not None:
            total_documents, total_chars = self._totals or (None, None)
            self.progress(ProgressEvent(stage, documents, chars, total_documents, total_chars, step, detail))

    def _resolve_step(self, step: str, detail: str = "") -> None:
        self._tick("resolve", step=step, detail=detail)


class DocumentFacts:
    """What pass 1 notes of every document for the resolver: its id, its site, its date."""

    def __init__(self, config: ReadConfig) -> None:
        self.config = config
        self.ids: list[str] = []
        self.sites: dict[str, int] = {}  # site -> number, in order of first appearance
        self.site_of: list[int] = []  # per document, -1 without a url
        self.dates: list[float] = []

    def add(self, record: Record, site: str | None) -> None:
        self.add_read(record.doc_id, site, timestamp((record.fields or {}).get(self.config.date_field)))

    def add_read(self, doc_id: str, site: str | None, date: float) -> None:
        """A document as a task that read it reports it: id, site, date."""
        self.ids.append(doc_id)
        self.site_of.append(-1 if site is None else self.sites.setdefault(site, len(self.sites)))
        self.dates.append(date)

    def table(self, chars: np.ndarray, keep: str) -> DocumentTable:
        """The documents' table (``chars``: what each keeps after stripping), warning of what weakens it."""
        site = np.array(self.site_of, dtype=np.int64)
        docs = DocumentTable(
            chars=chars, site=site, date=np.array(self.dates, dtype=np.float64),
            site_docs=np.bincount(site[site >= 0], minlength=len(self.sites)).astype(np.int64),
            earlier=np.zeros(len(self.ids), dtype=bool),
        )
        duplicate_ids = len(self.ids) - len(set(self.ids))
        if duplicate_ids:
            log.warning("%d document id(s) occur more than once; removal records name documents by id, "
                        "so give every document a unique read.id_field to tell them apart", duplicate_ids)
        if keep == "earliest":
            unknown = int(np.isinf(docs.date).sum())
            if unknown:
                log.warning("%d document(s) have no readable %r field; they rank last for keep=earliest",
                            unknown, self.config.date_field)
        return docs


def _read_spilled(folder: str, batches: Iterable[Batch]) -> Iterator[list[Prepared]]:
    """Pass 2 from what pass 1 spilled to ``folder``, batch by batch."""
    for number, batch in enumerate(batches):
        yield read_spilled(_spill_path(folder, number), [text for _, text, _ in batch.documents])




def _spill_path(folder: str, number: int) -> str:
    return os.path.join(folder, f"prepared-{number:09d}.pkl")


_NO_SIGNATURES = np.empty((0, 0), np.uint32)


def clean(
    docs: Iterable[dict[str, Any] | str],
    config: CleanConfig = CleanConfig(),
    *,
    jobs: int = 1,
    index: str | Path | None = None,
) -> Iterator[dict[str, Any]]:
    """Clean documents for a data pipeline: yields the kept documents, cleaned.

    ``docs`` are dicts (the text in ``config.read.text_field``, other fields
    preserved) or plain strings. With ``index`` (a folder), the documents are
    cleaned against every batch cleaned before with that index, and join it
    once the last document has been yielded. Use :class:`Cleaner` to see the
    removals too.

    A ``str`` (or ``bytes``) alone is refused with an
    :class:`~dedupe.errors.InputError` rather than cleaned as one document
    per character: pass ``[text]`` for one document.

    >>> [d["text"] for d in clean([{"text": "Same words here, twice over."}] * 2)]
    ['Same words here, twice over.']
    >>> next(clean("A lone string."))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dedupe.errors.InputError: input: clean() takes documents (dicts or strings); got one str, which would...
    """
    source = IterableSource(docs, config.read)
    opened = Index.open(index, config) if index is not None else None
    try:
        for result in Cleaner(config, jobs=jobs, index=opened).run(source):
            if result.output is not None:
                yield result.output
        if opened is not None:
            opened.commit()
    finally:
        if opened is not None:
            opened.close()
        source.close()
