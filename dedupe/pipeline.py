"""The stages wired together: :func:`clean` for pipelines, :class:`Cleaner` for control.

Batch mode reads the input twice. Pass 1 normalises, segments, strips and
fingerprints every document (in worker processes when ``jobs > 1``) and keeps
only numbers; :func:`~dedupe.resolve.resolve` then decides corpus-wide what is
a duplicate or boilerplate; pass 2 re-reads the input, repeats the cheap
per-document stages and assembles the output. Nothing holds the corpus text in
memory, and results come back in input order whatever the number of workers.

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
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from ftfy.fixes import fix_surrogates

from .assemble import DocResult, Plan, assemble
from .config import CleanConfig
from .errors import AccountingError, InputError
from .features import Fingerprinted, fingerprint_documents
from .fingerprint import Fingerprinter
from .index import Index, extend_with_earlier, new_rows
from .layout import segment
from .prepare import Prepared, prepare_many, read_spilled, spill
from .progress import ProgressCallback, ProgressEvent
from .readers import IterableSource, Record, Source, bad_record
from .record import Stats
from .resolve import Resolution, cluster_labels, resolve
from .schema import DocumentTable, ParagraphTable, concat
from .scratch import make_scratch_dir
from .store import SignatureStore
from .strip import (
    load_catalogue,
)
from .templates import TemplateBuilder, TemplateTable, line_hashes, site_of
from .workers import WorkerPool, worker_count

log = logging.getLogger(__name__)

#: Documents per unit of work handed to a worker process.
BATCH_DOCS = 256




#: A unit of work: (the line counts, as a folder or a table; file to spill the
#: prepared documents to for pass 2; the documents as (index, text, site)).
Job = tuple["str | TemplateTable | None", str | None, list[tuple[int, str, str | None]]]


class _Worker:
    """Per-process state: the compiled catalogue, the fingerprinter, the line counts."""

    def __init__(self, config: CleanConfig) -> None:
        self.config = config
        self.catalogue = load_catalogue()
        d = config.dedup
        self.fingerprinter = Fingerprinter(
            num_perm=d.num_perm, seed=d.seed, ngram=d.ngram, min_length=d.min_minhash_length,
            threshold=d.threshold, bands=d.bands, shingle=d.shingle, max_length=d.max_minhash_chars,
        )
        self.templates: TemplateTable | None = None
        self._templates_dir: str | None = None

    def _use_templates(self, source: str | TemplateTable | None) -> None:
        """Line counts for the context pass: a folder to memory-map, or the table itself
        (the Dask engine sends it through a cluster whose workers may not see the folder)."""
        if isinstance(source, TemplateTable):
            self.templates = source
        elif source is not None and source != self._templates_dir:
            self.templates = TemplateTable.load(Path(source))
            self._templates_dir = source

    def count_batch(self, job: Job) -> list[tuple[str | None, np.ndarray]]:
        return [(site, line_hashes(segment(text))) for _, text, site in job[2]]

    def prepare_batch(self, job: Job, seconds: dict[str, float] | None = None) -> list[Prepared]:
        self._use_templates(job[0])
        return prepare_many([(text, site) for _, text, site in job[2]], self.config, self.catalogue, seconds,
                            self.templates)

    def fingerprint_batch(self, job: Job) -> Fingerprinted:
        seconds: dict[str, float] = {}
        batch = job[2]
        prepared = self.prepare_batch(job, seconds)
        if job[1] is not None:  # pass 2 reads these back instead of repairing and stripping again
            spill(job[1], [text for _, text, _ in batch], prepared)
        prepared_at = time.perf_counter()
        families = self.catalogue.families if self.config.dedup.related_evidence else {}
        done = fingerprint_documents([(index, p) for (index, _, _), p in zip(batch, prepared)], self.fingerprinter,
                                     self.config.dedup, families)
        done.seconds = {**seconds, "fingerprint": time.perf_counter() - prepared_at}
        return done


_PROCESS_WORKER: _Worker | None = None


def _init_process(config: CleanConfig) -> None:
    global _PROCESS_WORKER
    _PROCESS_WORKER = _Worker(config)


def _worker() -> _Worker:
    if _PROCESS_WORKER is None:  # pragma: no cover - set by the pool initializer
        raise RuntimeError("worker not initialised")
    return _PROCESS_WORKER


def _process_count(job: Job) -> list[tuple[str | None, np.ndarray]]:
    return _worker().count_batch(job)


def _process_fingerprint(job: Job) -> Fingerprinted:
    return _worker().fingerprint_batch(job)


def _process_prepare(job: Job) -> list[Prepared]:
    return _worker().prepare_batch(job)


def _map(pool: Any, remote: Callable[[Job], Any], local: Callable[[Job], Any], jobs: Iterable[Job]) -> Iterator[Any]:
    """``remote`` over ``jobs`` in the pool's workers (``local`` here, when it has none or
    decides the input is too small for them), results in order."""
    return pool.imap(remote, jobs, local) if pool is not None else map(local, jobs)


def _size(chunk: list[Record]) -> tuple[int, int]:
    """Documents and characters of text in a batch, for progress."""
    return len(chunk), sum(len(r.text) for r in chunk if r.error is None and r.text)


def _add(done: list[int], size: tuple[int, int]) -> tuple[int, int]:
    done[0] += size[0]
    done[1] += size[1]
    return size


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _timestamp(value: Any) -> float:
    """Seconds since the epoch of a date field (``inf``: no readable date, ranks last).

    Numbers are taken as timestamps, strings as ISO 8601; dates and datetimes
    are what Parquet date and timestamp columns read as. Naive times are UTC.

    >>> from datetime import date
    >>> _timestamp("2024-01-02T00:00:00Z") == _timestamp(date(2024, 1, 2)) == 1704153600.0
    True
    >>> _timestamp("yesterday"), _timestamp(10 ** 400), _timestamp(True)
    (inf, inf, inf)
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # a JSON integer of hundreds of digits
            return math.inf
        return number if math.isfinite(number) else math.inf
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return math.inf
    else:
        return math.inf
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):  # beyond what the platform's clock functions take
        return math.inf


class Cleaner:
    """Runs the whole pipeline over a source and yields a :class:`DocResult` per document.

    ``jobs`` worker processes (0: every core) do the per-document stages,
    capped at the cores available; an input too small to repay starting them
    runs in this process (:mod:`dedupe.workers`). No caller needs an
    ``if __name__ == "__main__":`` guard: workers never re-run the caller's script.

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
    ) -> None:
        if jobs < 0:
            raise ValueError("jobs must be 0 (every core) or positive")
        if engine not in ("local", "dask"):
            raise ValueError("engine must be 'local' or 'dask'")
        self.config = config
        self.index = index
        self.engine = engine
        self.scheduler = scheduler
        # more processes than cores only cost memory (see dedupe.workers)
        self.jobs = worker_count(jobs)
        self.progress = progress
        self.stats = Stats()
        # (documents, characters) of the input, once a pass has read all of it
        self._totals: tuple[int, int] | None = None
        self.resolution: Resolution | None = None

    def _tick(self, stage: str, documents: int = 0, chars: int = 0, step: str = "", detail: str = "") -> None:
        if self.progress is not None:
            total_documents, total_chars = self._totals or (None, None)
            self.progress(ProgressEvent(stage, documents, chars, total_documents, total_chars, step, detail))

    def _resolve_step(self, step: str, detail: str = "") -> None:
        self._tick("resolve", step=step, detail=detail)

    def run(self, source: Source | Iterable[dict[str, Any] | str]) -> Iterator[DocResult]:
        """Clean every document of ``source``; results come in input order."""
        if not hasattr(source, "records"):
            source = IterableSource(source, self.config.read)  # type: ignore[arg-type]
        self.stats = Stats()
        self._totals = None
        started = time.perf_counter()
        pool: Any = None
        scratch = make_scratch_dir("run")  # also sweeps away the scratch of runs that were killed
        try:
            if self.engine == "dask":
                from .dask_engine import DaskPool

                pool = DaskPool(self.config, self.scheduler, self.jobs if self.jobs > 1 else 0)
            elif self.jobs > 1:
                pool = WorkerPool(self.jobs, _init_process, (self.config,))
            worker = _Worker(self.config)
            templates_dir = None
            strip_cfg = self.config.strip
            if strip_cfg.enabled and strip_cfg.context and strip_cfg.templates:
                worker.templates = self._count_lines(source, worker, pool)  # type: ignore[arg-type]
                if pool is not None:
                    # workers memory-map one copy of the counts
                    worker.templates.save(Path(scratch.name))
                    templates_dir = scratch.name
                    if hasattr(pool, "remember_templates"):  # a cluster's workers get this copy
                        pool.remember_templates(templates_dir, worker.templates)
            plan = None
            if self.config.dedup.enabled:
                plan = self._pass1(source, worker, pool, templates_dir, scratch.name)  # type: ignore[arg-type]
            yield from self._pass2(source, worker, pool, plan, templates_dir)  # type: ignore[arg-type]
            if pool is not None:
                pool.terminate()
                pool.join()
                pool = None
        finally:
            if pool is not None:  # stopped early: an error, SIGTERM, Ctrl-C, or the consumer went away
                _stop_now(pool)
            scratch.cleanup()
        self.stats.seconds["total"] = time.perf_counter() - started
        problems = self.stats.check()
        if problems:
            raise AccountingError("; ".join(problems))

    def _records(self, source: Source) -> Iterator[Record]:
        """The source's records, with lone surrogates in a text repaired or refused.

        A lone surrogate (a ``\\ud800`` escape in JSON, often an emoji cut in
        half) cannot be written as UTF-8. Repair replaces it with U+FFFD, as
        ftfy does; with repair off the text cannot be kept as read, so the
        record is bad input.
        """
        repair_text = self.config.normalize.repair
        for rec in source.records():
            if rec.error is None and rec.text_surrogates:
                if repair_text:
                    rec.text, rec.text_surrogates = fix_surrogates(rec.text), False
                else:
                    rec = bad_record(rec, "invalid-unicode",
                                     f"the {self.config.read.text_field!r} field holds a lone surrogate "
                                     "(\\ud800-\\udfff), which is not a character and cannot be written "
                                     "as UTF-8; clean without --no-repair to replace it with U+FFFD")
            yield rec

    def _site(self, record: Record) -> str | None:
        return site_of((record.fields or {}).get(self.config.read.url_field))

    # -- pass 0: line counts for site templates ---------------------------------

    def _count_lines(self, source: Source, worker: _Worker, pool: Any) -> TemplateTable:
        started = time.perf_counter()
        builder = TemplateBuilder()
        sizes: deque[tuple[int, int]] = deque()

        def jobs() -> Iterator[Job]:
            for chunk in _batches(self._records(source), BATCH_DOCS):
                for rec in chunk:
                    self._check_bad(rec)
                sizes.append(_size(chunk))
                yield None, None, [(r.index, r.text, self._site(r)) for r in chunk if r.error is None]

        done = [0, 0]
        self._tick("count lines")
        with _Guard(jobs()) as guarded:
            for batch in _map(pool, _process_count, worker.count_batch, guarded):
                for site, hashes in batch:
                    builder.add(site, hashes)
                self._tick("count lines", *_add(done, sizes.popleft()))
        self._totals = self._totals or (done[0], done[1])
        table = builder.finish()
        self.stats.seconds["count lines"] = time.perf_counter() - started
        return table

    # -- pass 1 ---------------------------------------------------------------

    def _check_bad(self, record: Record) -> None:
        if record.error is not None and not self.config.read.skip_bad:
            raise InputError(
                record.location, f"{record.error} (use --skip-bad to skip such records)"
            )

    def _pass1(
        self, source: Source, worker: _Worker, pool: Any, templates_dir: str | None, scratch: str
    ) -> Plan:
        started = time.perf_counter()
        cfg = self.config.read
        doc_ids: list[str] = []
        sites: dict[str, int] = {}
        site_of_doc: list[int] = []
        dates: list[float] = []
        batches: list[Fingerprinted] = []
        store = SignatureStore(worker.fingerprinter.rows, self.config.dedup.memory_limit, scratch)
        # pass 1 spills prepared documents for pass 2 only here: Dask workers
        # may not share this machine's disk, so with them pass 2 prepares again
        spill = scratch if self.engine == "local" else None
        sizes: deque[tuple[int, int]] = deque()

        def jobs() -> Iterator[Job]:
            for number, chunk in enumerate(_batches(self._records(source), BATCH_DOCS)):
                work = []
                for rec in chunk:
                    self._check_bad(rec)
                    doc_ids.append(rec.doc_id)
                    site = self._site(rec)
                    site_of_doc.append(-1 if site is None else sites.setdefault(site, len(sites)))
                    dates.append(_timestamp((rec.fields or {}).get(cfg.date_field)))
                    if rec.error is None:
                        work.append((rec.index, rec.text, site))
                        self.stats.bytes_in += len(rec.text)
                sizes.append(_size(chunk))
                yield templates_dir, (_spill_path(spill, number) if spill else None), work

        done = [0, 0]
        self._tick("fingerprint")
        with _Guard(jobs()) as guarded:
            for batch in _map(pool, _process_fingerprint, worker.fingerprint_batch, guarded):
                store.append(batch.signatures)
                batch.signatures = _NO_SIGNATURES
                batches.append(batch)
                self._tick("fingerprint", *_add(done, sizes.popleft()))
                for name, seconds in batch.seconds.items():
                    self.stats.seconds[name] += seconds
        self._totals = self._totals or (done[0], done[1])
        if spill is not None and isinstance(pool, WorkerPool):
            # pass 2 reads the spilled batches: the workers' memory serves resolve better
            pool.terminate()
        self.stats.seconds["pass1"] = time.perf_counter() - started

        resolve_started = time.perf_counter()
        self._resolve_step("building tables", f"{len(doc_ids):,} documents")
        if store.spilled:
            self.stats.signatures_spilled = store.size
            log.info("fingerprints passed --memory-limit: %d signatures spilled to disk", store.size)
        paragraphs = concat([batch.paragraphs for batch in batches])
        chars = np.zeros(len(doc_ids), dtype=np.int64)
        for batch in batches:
            chars[batch.documents] = batch.chars
        batches.clear()  # the table holds their numbers now; a second copy would double them
        site_arr = np.array(site_of_doc, dtype=np.int64)
        docs = DocumentTable(
            chars=chars,
            site=site_arr,
            date=np.array(dates, dtype=np.float64),
            site_docs=np.bincount(site_arr[site_arr >= 0], minlength=len(sites)).astype(np.int64),
            earlier=np.zeros(len(doc_ids), dtype=bool),
        )
        duplicate_ids = len(doc_ids) - len(set(doc_ids))
        if duplicate_ids:
            log.warning("%d document id(s) occur more than once; removal records name documents by id, "
                        "so give every document a unique --id-field to tell them apart", duplicate_ids)
        if self.config.dedup.keep == "earliest":
            unknown = int(np.isinf(docs.date).sum())
            if unknown:
                log.warning("%d document(s) have no readable %r field; they rank last for keep=earliest",
                            unknown, cfg.date_field)
        n_input = len(doc_ids)
        earlier = None
        if self.index is not None:
            self._resolve_step("reading the index")
            earlier = self.index.load(store)  # signatures go straight into the (spilling) store
            table, docs = extend_with_earlier(paragraphs, docs, earlier, store, sites)
            doc_ids = doc_ids + earlier.doc_ids
            self.stats.index_rows = earlier.rows.size
        else:
            table = ParagraphTable(**paragraphs.columns(), signatures=store)
        # the Dask engine groups candidates and (past the memory budget) finds components on its
        # cluster; locally, --jobs threads share the bands (the worker processes are idle now)
        cluster = getattr(pool, "cluster", None) or functools.partial(
            cluster_labels, threads=self.jobs, progress=self._resolve_step)
        resolution = resolve(table, docs, self.config.dedup, cluster=cluster, progress=self._resolve_step)
        if self.index is not None:
            self._resolve_step("writing the index batch")
            # written now, while the signatures are at hand; joins the index at commit()
            self.index.stage(new_rows(table, resolution, store, doc_ids, list(sites), docs.site,
                                      n_input, earlier))
        store.close()
        self.resolution = resolution
        self.stats.clusters.update(resolution.cluster_stats)
        self.stats.seconds["resolve"] = time.perf_counter() - resolve_started
        row_start = np.searchsorted(table.doc, np.arange(n_input + 1))
        return Plan(doc_ids, table, resolution, row_start, n_input, spill)

    # -- pass 2 ---------------------------------------------------------------

    def _pass2(
        self, source: Source, worker: _Worker, pool: Any, plan: Plan | None, templates_dir: str | None
    ) -> Iterator[DocResult]:
        started = time.perf_counter()
        stage = "assemble" if plan is not None else "strip"
        pending: deque[list[Record]] = deque()

        def jobs() -> Iterator[Job]:
            for chunk in _batches(self._records(source), BATCH_DOCS):
                for rec in chunk:
                    if plan is None:
                        self._check_bad(rec)
                    elif rec.index >= plan.n_input or plan.doc_ids[rec.index] != rec.doc_id:
                        raise InputError(rec.location, "input changed between the two passes")
                pending.append(chunk)
                yield templates_dir, None, [(r.index, r.text, self._site(r)) for r in chunk if r.error is None]

        spill_dir = plan.spill if plan is not None else None

        def spilled(folder: str) -> Iterator[list[Prepared]]:
            for number, job in enumerate(jobs()):
                yield read_spilled(_spill_path(folder, number), [text for _, text, _ in job[2]])

        seen = 0
        self._tick(stage)
        with _Guard(jobs()) as guarded:
            if spill_dir is not None:
                results: Iterable[list[Prepared]] = spilled(spill_dir)
            else:
                results = _map(pool, _process_prepare, worker.prepare_batch, guarded)
            for prepared_batch in results:
                chunk = pending.popleft()
                prepared_iter = iter(prepared_batch)
                for rec in chunk:
                    result = assemble(rec, None if rec.error else next(prepared_iter), plan, self.stats, self.config.read)
                    seen += 1
                    yield result
                self._tick(stage, *_size(chunk))
        if plan is not None and seen != plan.n_input:
            raise InputError("input", f"input changed between the two passes ({plan.n_input} then {seen} records)")
        self.stats.seconds["pass2"] = time.perf_counter() - started



#: Seconds an interrupted run waits for its pool to stop.
STOP_TIMEOUT = 10.0


def _stop_now(pool: Any) -> None:
    """Stop a pool whose remaining results nobody will read.

    ``multiprocessing.Pool.terminate()`` (which the local engine used) could
    wait forever on a lock or a result a stopped worker held, and a cluster
    may not answer; so stopping runs in a daemon thread, and a run that is
    ending anyway does not wait for it longer than :data:`STOP_TIMEOUT`.
    """
    stopper = threading.Thread(target=pool.terminate, daemon=True, name="dedupe-pool-stop")
    stopper.start()
    stopper.join(STOP_TIMEOUT)
    if stopper.is_alive():
        log.warning("worker pool did not stop within %.0f s; leaving it behind", STOP_TIMEOUT)


class _Guard:
    """Feeds a job generator to ``Pool.imap`` without letting it raise there.

    An exception raised by the iterable inside ``Pool.imap`` kills the pool's
    task feeder and leaves ``imap`` waiting forever. The guard stops the jobs
    at the first exception instead, lets the submitted ones finish, and
    re-raises it when the ``with`` block ends.
    """

    def __init__(self, jobs: Iterator[Job]) -> None:
        self._jobs = jobs
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[Job]:
        try:
            yield from self._jobs
        except Exception as exc:  # re-raised by __exit__, in the caller's thread
            self.error = exc

    def __enter__(self) -> _Guard:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if self.error is not None and kind is None:
            raise self.error


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

    >>> [d["text"] for d in clean([{"text": "Same words here, twice over."}] * 2)]
    ['Same words here, twice over.']
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
